// A social security card's APDU behaviour, enough for a reader without PSAM: SELECT of the SSSE
// application and its EFs, READ RECORD on EF05, GET RESPONSE (T=0 style) and the usual status words.
import { computeCryptogram, ATC_MAX } from '../../src/cards/card-auth.js'
import { EF05_ID, SSSE_DF_NAME } from '../../src/reader/apdu.js'
import { decodeProofRequest, encodeProofResponse, GENERATE_AC_CLA, GENERATE_AC_INS } from '../../src/reader/card-proof.js'
import type { CardImage } from './card-image.js'

const EF06_ID = Buffer.from('EF06', 'hex')
const MF_ID = Buffer.from('3F00', 'hex')

export interface VirtualCardOptions {
  /**
   * Records longer than this come back as 61xx and need GET RESPONSE, as on a T=0 card.
   * Infinity answers everything directly.
   */
  getResponseAboveBytes?: number
  /**
   * The card's own key (diversified from its issuer's master key at personalisation) and its
   * application transaction counter: with them the card answers GENERATE AC. Without, it answers
   * 6E00 like a card that has no such function.
   */
  auth?: CardAuthState
}

export interface CardAuthState {
  cardKey: Buffer
  /** The last ATC used; the next GENERATE AC uses atc + 1. */
  atc: number
  /** Called with each new ATC, so the counter can outlive the process (a real card keeps it in EEPROM). */
  onAtc?: (atc: number) => void
}

interface Command { cla: number, ins: number, p1: number, p2: number, data: Buffer, le: number | undefined }

function sw (word: number, data: Uint8Array = Buffer.alloc(0)): Buffer {
  return Buffer.concat([data, Buffer.from([word >> 8, word & 0xff])])
}

/** Splits a short C-APDU into its fields; null when the lengths do not add up. */
export function parseCommand (apdu: Buffer): Command | null {
  if (apdu.length < 4) return null
  const [cla, ins, p1, p2] = apdu as unknown as [number, number, number, number]
  if (apdu.length === 4) return { cla, ins, p1, p2, data: Buffer.alloc(0), le: undefined }
  if (apdu.length === 5) return { cla, ins, p1, p2, data: Buffer.alloc(0), le: apdu[4] as number }
  const lc = apdu[4] as number
  if (lc === 0 || (apdu.length !== 5 + lc && apdu.length !== 6 + lc)) return null
  const le = apdu.length === 6 + lc ? apdu[5 + lc] as number : undefined
  return { cla, ins, p1, p2, data: apdu.subarray(5, 5 + lc), le }
}

export class VirtualCard {
  private df: 'MF' | 'SSSE' = 'MF'
  private ef: 'NONE' | 'EF05' = 'NONE'
  private pending: Buffer = Buffer.alloc(0)
  private readonly getResponseAboveBytes: number
  private readonly auth: CardAuthState | undefined

  constructor (readonly image: CardImage, opts: VirtualCardOptions = {}) {
    this.getResponseAboveBytes = opts.getResponseAboveBytes ?? 16
    this.auth = opts.auth
  }

  get atc (): number | undefined { return this.auth?.atc }

  get cardNo (): string { return this.image.facts.cardNo }

  /** Cold reset: back to the master file, nothing pending. */
  reset (): Buffer {
    this.df = 'MF'
    this.ef = 'NONE'
    this.pending = Buffer.alloc(0)
    return this.image.atr
  }

  transmit (apdu: Buffer): Buffer {
    const c = parseCommand(apdu)
    if (c === null) return sw(0x6700)
    if (c.cla === GENERATE_AC_CLA && this.auth !== undefined) {
      this.pending = Buffer.alloc(0)
      return c.ins === GENERATE_AC_INS ? this.generateAc(c, this.auth) : sw(0x6D00)
    }
    if (c.cla !== 0x00) return sw(0x6E00)
    if (c.ins !== 0xC0) this.pending = Buffer.alloc(0)
    switch (c.ins) {
      case 0xA4: return this.select(c)
      case 0xB2: return this.readRecord(c)
      case 0xC0: return this.getResponse(c)
      default: return sw(0x6D00)
    }
  }

  private select (c: Command): Buffer {
    if (c.p1 === 0x04) {
      if (!c.data.equals(SSSE_DF_NAME)) return sw(0x6A82)
      this.df = 'SSSE'
      this.ef = 'NONE'
      return sw(0x9000)
    }
    if (c.p1 === 0x00 && c.data.equals(MF_ID)) {
      this.df = 'MF'
      this.ef = 'NONE'
      return sw(0x9000)
    }
    if (c.p1 !== 0x02 || this.df !== 'SSSE') return sw(0x6A82)
    if (c.data.equals(EF05_ID)) {
      this.ef = 'EF05'
      return sw(0x9000)
    }
    // Holder data needs a PSAM and mutual authentication on version 3 cards.
    if (c.data.equals(EF06_ID)) return sw(0x6982)
    return sw(0x6A82)
  }

  private readRecord (c: Command): Buffer {
    if (this.ef !== 'EF05') return sw(0x6985)
    if (c.p2 !== 0x04) return sw(0x6A86)
    const record = this.image.records.get(c.p1)
    if (record === undefined) return sw(0x6A83)
    if (c.le === undefined) return sw(0x6700)
    if (c.le !== 0 && c.le !== record.length) return sw(0x6C00 | record.length)
    if (record.length > this.getResponseAboveBytes) {
      this.pending = record
      return sw(0x6100 | record.length)
    }
    return sw(0x9000, record)
  }

  private generateAc (c: Command, auth: CardAuthState): Buffer {
    if (this.df !== 'SSSE') return sw(0x6985)
    if (c.p1 !== 0x80 || c.p2 !== 0x00) return sw(0x6A86)
    const request = decodeProofRequest(c.data)
    if (request === null) return sw(0x6700)
    // A card whose counter has run out is blocked for good (EMV: the ATC never wraps).
    if (auth.atc >= ATC_MAX) return sw(0x6985)
    auth.atc += 1
    auth.onAtc?.(auth.atc)
    const { cardNo, issuer } = this.image.facts
    const cryptogram = computeCryptogram({ cardKey: auth.cardKey, atc: auth.atc, cardNo, issuer, fields: request })
    return sw(0x9000, encodeProofResponse({ atc: auth.atc, cryptogram }))
  }

  private getResponse (c: Command): Buffer {
    if (this.pending.length === 0) return sw(0x6985)
    const want = c.le === undefined || c.le === 0 ? 256 : c.le
    const out = this.pending.subarray(0, want)
    this.pending = this.pending.subarray(out.length)
    const left = this.pending.length
    return left > 0 ? sw(0x6100 | Math.min(left, 0xff), out) : sw(0x9000, out)
  }
}
