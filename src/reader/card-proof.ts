// The card's proof of presence (src/cards/card-auth.ts), asked for with a GENERATE AC-like command
// after the SSSE application is selected, as an EMV terminal asks for an ARQC:
//   C-APDU  80 AE 80 00 Lc <transaction data> 00
//           transaction data = for terminalId, tapId, at, amount: one length byte ‖ ASCII bytes
//           (amount: decimal, empty when the tariff prices the tap)
//   R-APDU  80 0B CID(80) ATC(2, BE) AC(8) 90 00       (EMV response format 1)
// The card raises its ATC and computes AC over these fields and its own ATC, number and issuer.
// A card without the function answers 6D00/6E00/6A81: the tap then goes without proof.
import { CardChannel, type ApduTransport, type ChannelOptions } from './card-channel.js'
import { ReaderError } from './errors.js'

export const GENERATE_AC_CLA = 0x80
export const GENERATE_AC_INS = 0xAE
/** P1: the cryptogram type asked for (ARQC: go online). */
export const GENERATE_AC_P1_ARQC = 0x80
const RESPONSE_FORMAT_1 = 0x80
const RESPONSE_BYTES = 13
const FIELD_BYTES_MAX = 64
/** Status words of a card that has no GENERATE AC: not an error, just no proof. */
const NOT_SUPPORTED = new Set<string>(['CARD_INS_NOT_SUPPORTED', 'CARD_CLA_NOT_SUPPORTED'])
const SW_FUNCTION_NOT_SUPPORTED = 0x6A81

export interface ProofRequest { terminalId: string, tapId: string, at: string, amount?: number | null }
export interface CardProof { atc: number, cryptogram: string }

export function encodeProofRequest (r: ProofRequest): Buffer {
  const amount = r.amount === undefined || r.amount === null ? '' : String(r.amount)
  const parts = [r.terminalId, r.tapId, r.at, amount].map(value => {
    const bytes = Buffer.from(value, 'latin1')
    if (bytes.length > FIELD_BYTES_MAX || !/^[\x20-\x7e]*$/.test(value)) throw new ReaderError('READER_BAD_DATA', `proof field ${JSON.stringify(value.slice(0, 16))} is not 0..${FIELD_BYTES_MAX} printable ASCII`)
    return Buffer.concat([Buffer.from([bytes.length]), bytes])
  })
  return Buffer.concat(parts)
}

/** The card side: the four fields back from the command data; null when they do not add up. */
export function decodeProofRequest (data: Buffer): ProofRequest | null {
  const fields: string[] = []
  let at = 0
  for (let i = 0; i < 4; i++) {
    const len = data[at]
    if (len === undefined || at + 1 + len > data.length) return null
    fields.push(data.toString('latin1', at + 1, at + 1 + len))
    at += 1 + len
  }
  if (at !== data.length) return null
  const [terminalId, tapId, when, amount] = fields as [string, string, string, string]
  if (amount !== '' && !/^[0-9]{1,10}$/.test(amount)) return null
  return { terminalId, tapId, at: when, amount: amount === '' ? null : Number(amount) }
}

export function generateAcCommand (r: ProofRequest): Buffer {
  const data = encodeProofRequest(r)
  return Buffer.concat([Buffer.from([GENERATE_AC_CLA, GENERATE_AC_INS, GENERATE_AC_P1_ARQC, 0x00, data.length]), data, Buffer.from([0x00])])
}

export function encodeProofResponse (proof: CardProof): Buffer {
  const out = Buffer.alloc(RESPONSE_BYTES)
  out[0] = RESPONSE_FORMAT_1
  out[1] = RESPONSE_BYTES - 2
  out[2] = GENERATE_AC_P1_ARQC
  out.writeUInt16BE(proof.atc, 3)
  Buffer.from(proof.cryptogram, 'hex').copy(out, 5)
  return out
}

export function decodeProofResponse (data: Buffer): CardProof {
  if (data.length !== RESPONSE_BYTES || data[0] !== RESPONSE_FORMAT_1 || data[1] !== RESPONSE_BYTES - 2) {
    throw new ReaderError('CARD_DATA_INVALID', `GENERATE AC answer of ${data.length} bytes is not format 1 (80 0B CID ATC AC)`)
  }
  return { atc: data.readUInt16BE(3), cryptogram: data.toString('hex', 5, 13) }
}

/**
 * Asks the card in the field (SSSE selected) for its ATC and cryptogram over this tap.
 * Resolves null when the card has no such function; throws a ReaderError when the card goes away.
 */
export async function readCardProof (reader: ApduTransport, r: ProofRequest, opts: ChannelOptions = {}): Promise<CardProof | null> {
  const ch = new CardChannel(reader, opts)
  try {
    return decodeProofResponse(await ch.transmit(generateAcCommand(r), 'generate AC'))
  } catch (err) {
    if (err instanceof ReaderError && (NOT_SUPPORTED.has(err.code) || err.sw === SW_FUNCTION_NOT_SUPPORTED)) return null
    throw err
  }
}
