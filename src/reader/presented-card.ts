// What the holder presented, as the tap's `card` (api-v1): a physical card read over APDUs, or an
// electronic card's QR payload from the built-in scanner (opaque: only checked for size and UTF-8).
import { readCardProof, type CardProof, type ProofRequest } from './card-proof.js'
import { ReaderError } from './errors.js'
import { readPhysicalCard, type ReadOptions } from './physical-card.js'
import { QR_PAYLOAD_BYTES_MAX } from './protocol.js'
import type { Presence, ReaderCommands } from './reader-commands.js'

export type TapCard =
  | { type: 'physical', cardNo: string, issuer: string, atc?: number, cryptogram?: string }
  | { type: 'qr', qr: string }

export interface PresentedCard {
  card: TapCard
  /** For the display only (the service decides on expiry). */
  expiresOn?: string
  /**
   * A physical card still in the field: asks it for its ATC and cryptogram over the tap
   * (src/reader/card-proof.ts); null when the card has no such function.
   */
  proofFor?: (request: ProofRequest) => Promise<CardProof | null>
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

export function qrCard (payload: Buffer, bytesMax = QR_PAYLOAD_BYTES_MAX): TapCard {
  if (payload.length === 0 || payload.length > bytesMax) {
    throw new ReaderError('QR_INVALID_PAYLOAD', `QR payload of ${payload.length} bytes, allowed 1..${bytesMax}`)
  }
  let qr: string
  try {
    qr = utf8.decode(payload)
  } catch (err) {
    throw new ReaderError('QR_INVALID_PAYLOAD', 'QR payload is not UTF-8', { cause: err })
  }
  return { type: 'qr', qr }
}

/**
 * Reads the card the last POLL reported. A card in the field wins over a waiting QR code (the QR
 * stays queued in the reader). Returns null when the QR was already taken.
 */
export async function readPresented (reader: ReaderCommands, presence: Presence, opts: ReadOptions = {}): Promise<PresentedCard | null> {
  if (presence.card) {
    const data = await readPhysicalCard(reader, opts)
    return {
      card: { type: 'physical', cardNo: data.cardNo, issuer: data.issuer },
      expiresOn: data.expiresOn,
      proofFor: async request => await readCardProof(reader, request, opts)
    }
  }
  if (presence.qr) {
    const payload = await reader.readQr()
    return payload === null ? null : { card: qrCard(payload) }
  }
  return null
}
