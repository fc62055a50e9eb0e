// Card-present proof for physical cards (api-v1 v1.1 "Card authentication"): the card's application
// transaction counter (ATC) and an application cryptogram (AC) it computes over the tap with its own
// key. Pure: no I/O, no clock. The card side (virtual card) and the service side share this module.
//
// The algorithm follows EMV's common session key scheme (EMV Book 2, A1.3/A1.4, AES variant), the
// way PBOC/EMV issuers personalise cards and a PSAM or issuer host verifies them:
//   1. Issuer master key IMK: 16 random bytes (AES-128) per issuer, with a key id. It never leaves
//      the issuer's key file (an HSM in production); the repository holds none.
//   2. Card key (diversified at personalisation, by card number):
//        MK = AES-128-ECB(IMK, cardNo (9 ASCII) ‖ issuer (3 BCD bytes) ‖ "YKT1")
//      A card holds only MK: one extracted card key does not give the issuer's key or other cards'.
//   3. Session key per transaction, from the counter:
//        SK = AES-128-ECB(MK, ATC (2 bytes BE) ‖ F0 ‖ 00 × 13)
//   4. Cryptogram over what matters in this tap:
//        AC = AES-CMAC(SK, M)[0..8) as 16 lowercase hex (RFC 4493)
//        M  = "YKT-AC1" ‖ for each of terminalId, tapId, at, amount, atc, cardNo, issuer:
//               one length byte ‖ the field's ASCII bytes
//      amount is its decimal string, or empty when the tariff prices the tap (no amount sent);
//      at is the exact `at` string of the request. The terminal sends terminalId, tapId, at and
//      amount to the card (GENERATE AC, see src/reader/card-proof.ts); the card adds the rest.
// Verification recomputes AC and compares in constant time, then requires ATC > the last ATC the
// service accepted for the card (a replayed or cloned card's counter does not rise).
import { createCipheriv, timingSafeEqual } from 'node:crypto'

export const ATC_MAX = 0xffff
export const CRYPTOGRAM_BYTES = 8
export const CARD_KEY_BYTES = 16
const CRYPTOGRAM_HEX = /^[0-9a-f]{16}$/
const CARD_NO = /^[A-Z0-9]{9}$/
const ISSUER = /^[0-9]{6}$/
const FIELD_BYTES_MAX = 255
const MESSAGE_TAG = Buffer.from('YKT-AC1', 'ascii')
const DIVERSIFICATION_TAG = Buffer.from('YKT1', 'ascii')
const ZERO_BLOCK = Buffer.alloc(16)

/** One issuer's card-authentication master key. */
export interface CardAuthIssuerKey { keyId: string, masterKey: Buffer }
/** Master keys by issuer area code. */
export type CardAuthKeys = Map<string, CardAuthIssuerKey>

/** The fields of the tap the cryptogram covers, besides the card's own (atc, cardNo, issuer). */
export interface TapProofFields {
  terminalId: string
  tapId: string
  /** The request's `at`, exactly as sent. */
  at: string
  /** The request's `amount`, absent (undefined/null) when the tariff prices the tap. */
  amount?: number | null
}

export type CardAuthFailure =
  | 'PROOF_MISSING' // the terminal requires proof and the card carried none
  | 'PROOF_MALFORMED' // atc without cryptogram (or the reverse), atc out of range, cryptogram not 16 hex
  | 'ISSUER_KEY_UNKNOWN' // no master key configured for the card's issuer
  | 'CRYPTOGRAM_MISMATCH' // not computed by this card over these tap fields
  | 'ATC_NOT_RISING' // atc ≤ the last one accepted for this card: replayed or cloned

export type CardProofResult =
  | { ok: true, /** The ATC to store as the card's last one; null when no proof was sent (and none required). */ atc: number | null }
  | { ok: false, reason: 'CARD_AUTH_FAILED', why: CardAuthFailure }

function aes128Ecb (key: Buffer, block: Buffer): Buffer {
  const cipher = createCipheriv('aes-128-ecb', key, null)
  cipher.setAutoPadding(false)
  return Buffer.concat([cipher.update(block), cipher.final()])
}

function shiftLeft1 (block: Buffer): Buffer {
  const out = Buffer.alloc(16)
  for (let i = 0; i < 16; i++) out[i] = ((block[i]! << 1) & 0xff) | (i < 15 ? block[i + 1]! >> 7 : 0)
  if ((block[0]! & 0x80) !== 0) out[15]! ^= 0x87
  return out
}

/** AES-CMAC (RFC 4493) with a 16-byte key: the full 16-byte tag. */
export function aesCmac (key: Buffer, message: Buffer): Buffer {
  if (key.length !== 16) throw new RangeError('AES-CMAC key must be 16 bytes')
  const k1 = shiftLeft1(aes128Ecb(key, ZERO_BLOCK))
  const k2 = shiftLeft1(k1)
  const blocks = Math.max(1, Math.ceil(message.length / 16))
  const complete = message.length > 0 && message.length % 16 === 0
  const padded = Buffer.alloc(blocks * 16)
  message.copy(padded)
  if (!complete) padded[message.length] = 0x80
  const subkey = complete ? k1 : k2
  for (let i = 0; i < 16; i++) padded[(blocks - 1) * 16 + i]! ^= subkey[i]!
  // CMAC is the last block of AES-CBC with a zero IV over the prepared message.
  const cbc = createCipheriv('aes-128-cbc', key, ZERO_BLOCK)
  cbc.setAutoPadding(false)
  const out = cbc.update(padded)
  return out.subarray(out.length - 16)
}

/** The card's own key, diversified from its issuer's master key by card number (step 2). */
export function deriveCardKey (issuerMasterKey: Buffer, cardNo: string, issuer: string): Buffer {
  if (issuerMasterKey.length !== CARD_KEY_BYTES) throw new RangeError('issuer master key must be 16 bytes')
  if (!CARD_NO.test(cardNo) || !ISSUER.test(issuer)) throw new RangeError('bad card number or issuer')
  const block = Buffer.concat([Buffer.from(cardNo, 'ascii'), Buffer.from(issuer, 'hex'), DIVERSIFICATION_TAG])
  return aes128Ecb(issuerMasterKey, block)
}

function sessionKey (cardKey: Buffer, atc: number): Buffer {
  const block = Buffer.alloc(16)
  block.writeUInt16BE(atc, 0)
  block[2] = 0xf0
  return aes128Ecb(cardKey, block)
}

function field (value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8')
  if (bytes.length > FIELD_BYTES_MAX) throw new RangeError(`cryptogram field over ${FIELD_BYTES_MAX} bytes`)
  return Buffer.concat([Buffer.from([bytes.length]), bytes])
}

/** The message M the cryptogram covers (step 4). */
export function cryptogramMessage (fields: TapProofFields, atc: number, cardNo: string, issuer: string): Buffer {
  const amount = fields.amount === undefined || fields.amount === null ? '' : String(fields.amount)
  return Buffer.concat([MESSAGE_TAG, field(fields.terminalId), field(fields.tapId), field(fields.at), field(amount), field(String(atc)), field(cardNo), field(issuer)])
}

function isAtc (atc: unknown): atc is number {
  return typeof atc === 'number' && Number.isInteger(atc) && atc >= 0 && atc <= ATC_MAX
}

/** What the card computes (and the service recomputes): 16 lowercase hex. */
export function computeCryptogram (o: { cardKey: Buffer, atc: number, cardNo: string, issuer: string, fields: TapProofFields }): string {
  if (!isAtc(o.atc)) throw new RangeError(`atc must be 0..${ATC_MAX}`)
  const mac = aesCmac(sessionKey(o.cardKey, o.atc), cryptogramMessage(o.fields, o.atc, o.cardNo, o.issuer))
  return mac.subarray(0, CRYPTOGRAM_BYTES).toString('hex')
}

export interface VerifyCardProofInput {
  card: { cardNo: string, issuer: string }
  atc?: unknown
  cryptogram?: unknown
  tapFields: TapProofFields
  issuerKeys: CardAuthKeys
  /** The last ATC accepted for this card; null (or undefined) when none was ever seen. */
  lastAtc?: number | null
  /** The terminal is registered with cardAuthentication "required". */
  required?: boolean
}

const fail = (why: CardAuthFailure): CardProofResult => ({ ok: false, reason: 'CARD_AUTH_FAILED', why })

/** Never throws: every bad input is a CARD_AUTH_FAILED with the reason why. */
export function verifyCardProof (input: VerifyCardProofInput): CardProofResult {
  const { card, atc, cryptogram } = input
  if (atc === undefined && cryptogram === undefined) return input.required === true ? fail('PROOF_MISSING') : { ok: true, atc: null }
  if (!isAtc(atc) || typeof cryptogram !== 'string' || !CRYPTOGRAM_HEX.test(cryptogram)) return fail('PROOF_MALFORMED')
  if (!CARD_NO.test(card.cardNo) || !ISSUER.test(card.issuer)) return fail('PROOF_MALFORMED')
  const key = input.issuerKeys.get(card.issuer)
  if (key === undefined) return fail('ISSUER_KEY_UNKNOWN')
  let expected: Buffer
  try {
    const cardKey = deriveCardKey(key.masterKey, card.cardNo, card.issuer)
    expected = Buffer.from(computeCryptogram({ cardKey, atc, cardNo: card.cardNo, issuer: card.issuer, fields: input.tapFields }), 'hex')
  } catch {
    return fail('PROOF_MALFORMED') // a tap field over 255 bytes: the schema makes this unreachable
  }
  if (!timingSafeEqual(expected, Buffer.from(cryptogram, 'hex'))) return fail('CRYPTOGRAM_MISMATCH')
  // Checked after the cryptogram, so a guessed proof learns nothing about the card's counter.
  const lastAtc = input.lastAtc ?? null
  if (lastAtc !== null && atc <= lastAtc) return fail('ATC_NOT_RISING')
  return { ok: true, atc }
}
