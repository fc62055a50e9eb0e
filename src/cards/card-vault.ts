// Card numbers and holder data at rest (issue #13 item 7). The ledger never stores a card number
// or a holder's birth date or concession categories in clear:
//
//   - wherever a card number is a key (cards, taps, credits, card_state, denylist, the card
//     accounts' codes card:<token>:bank|medical), the ledger stores its token:
//       token = lowercase hex of the first 16 bytes of HMAC-SHA256(tokenKey, cardNo)
//     128 bits: with 36^9 ≈ 10^14 card numbers, no two cards share a token in practice, and
//     without the key a token cannot be searched back to its number (the number space is small
//     enough to search WITH the key, which is why the key never lives in the ledger);
//   - the clear number, birth date and categories are sealed together on the card row:
//       ykc1.<keyId>.<iv, base64url>.<ciphertext ‖ tag, base64url>   (AES-256-GCM)
//     with the token as additional authenticated data, so a sealed value copied onto another
//     card's row does not open. Admin reads and the rules (age concessions) open it.
//
// Both keys derive (HKDF-SHA256, one label each) from CARD_DATA_KEY, or a key file beside the
// ledger (src/ops/card-token-key.ts). keyId names the key without revealing it, so a process given
// another key refuses to start (schema.ts) instead of finding no card.
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto'
import { CARD_TOKEN_MEMO_ENTRIES_MAX } from '../constants.js'

export const CARD_TOKEN_HEX_CHARS = 32
const PREFIX = 'ykc1'
const IV_BYTES = 12
const TAG_BYTES = 16
const KEY_MATERIAL_BYTES_MIN = 32

/** What the card row seals: everything that names the card or its holder. */
export interface SealedCardData {
  cardNo: string
  birthDate: string | null
  categories: string[]
}

export class CardVaultError extends Error {
  readonly code = 'CARD_DATA_SEALED_OTHERWISE'
}

export class CardVault {
  readonly keyId: string
  private readonly tokenKey: Buffer
  private readonly sealKey: Buffer
  /** Recent tokens by number: a tap asks for its card's token more than once (lookup, its rows).
   *  Bounded; cleared when full. Measured (bench/lib/micro.ts): an HMAC 3.0–3.3 µs, a hit 0.07 µs. */
  private readonly memo = new Map<string, string>()
  /** Opened card data by token and sealed value, for an engine with no card cache of its own
   *  (PostgreSQL opens every card of every batch): opening measured 12–13 µs, mostly the cipher's
   *  setup. A sealed value is written once per card and never changed, so an entry never goes
   *  stale; keyed with the token, a value moved to another row misses and is opened (and refused). */
  private readonly opened = new Map<string, SealedCardData>()
  private readonly openedEntriesMax: number

  /** `material`: at least 32 bytes (the CARD_DATA_KEY value or the key file's text).
   *  `openedEntriesMax`: opened card data remembered (0: none, the SQLite writer caches cards). */
  constructor (material: Buffer, o: { openedEntriesMax?: number } = {}) {
    this.openedEntriesMax = o.openedEntriesMax ?? 0
    if (material.length < KEY_MATERIAL_BYTES_MIN) throw new CardVaultError(`the card data key must be at least ${KEY_MATERIAL_BYTES_MIN} bytes`)
    // HKDF with a label per use: the material may be typed by an operator, each key must be uniform
    // and the token key must not be the sealing key.
    this.tokenKey = Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), 'yikatong card token v1', 32))
    this.sealKey = Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), 'yikatong card seal v1', 32))
    this.keyId = createHash('sha256').update(this.tokenKey).update(this.sealKey).digest('hex').slice(0, 8)
  }

  token (cardNo: string): string {
    const known = this.memo.get(cardNo)
    if (known !== undefined) return known
    const token = createHmac('sha256', this.tokenKey).update(cardNo, 'utf8').digest('hex').slice(0, CARD_TOKEN_HEX_CHARS)
    if (this.memo.size >= CARD_TOKEN_MEMO_ENTRIES_MAX) this.memo.clear()
    this.memo.set(cardNo, token)
    return token
  }

  /** A new card row's key and sealed data: what every engine and the migration write. */
  sealCard (data: SealedCardData): { token: string, sealed: string } {
    const token = this.token(data.cardNo)
    return { token, sealed: this.seal(token, data) }
  }

  seal (token: string, data: SealedCardData): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.sealKey, iv)
    cipher.setAAD(Buffer.from(token, 'utf8'))
    const plain = JSON.stringify({ cardNo: data.cardNo, birthDate: data.birthDate, categories: data.categories })
    const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()])
    return [PREFIX, this.keyId, iv.toString('base64url'), sealed.toString('base64url')].join('.')
  }

  /** Opens a card row's sealed value; throws CardVaultError (never returns a guess) when it was
   *  sealed with another key, altered, or copied from another card's row. */
  open (token: string, stored: string): SealedCardData {
    const memoKey = `${token}\u0000${stored}`
    const known = this.opened.get(memoKey)
    if (known !== undefined) return { ...known, categories: [...known.categories] }
    const data = this.openUncached(token, stored)
    if (this.openedEntriesMax > 0) {
      if (this.opened.size >= this.openedEntriesMax) this.opened.clear()
      this.opened.set(memoKey, { ...data, categories: [...data.categories] })
    }
    return data
  }

  private openUncached (token: string, stored: string): SealedCardData {
    const [prefix, keyId, ivText, sealedText] = stored.split('.')
    if (prefix !== PREFIX) throw new CardVaultError(`card ${token}: its sealed data is not a ${PREFIX} value`)
    if (keyId !== this.keyId) throw new CardVaultError(`card ${token}: sealed with key id ${keyId ?? '?'}, this process has key id ${this.keyId} (CARD_DATA_KEY or the key file differs)`)
    const sealed = Buffer.from(sealedText ?? '', 'base64url')
    const iv = Buffer.from(ivText ?? '', 'base64url')
    if (iv.length !== IV_BYTES || sealed.length <= TAG_BYTES) throw new CardVaultError(`card ${token}: its sealed data is malformed`)
    let data: SealedCardData
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.sealKey, iv)
      decipher.setAAD(Buffer.from(token, 'utf8'))
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
      data = JSON.parse(Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()]).toString('utf8')) as SealedCardData
    } catch {
      throw new CardVaultError(`card ${token}: its sealed data does not open (altered, or copied from another card)`)
    }
    // The token binds the row to the number: a sealed value that opens must name this card.
    if (this.token(data.cardNo) !== token) throw new CardVaultError(`card ${token}: its sealed data names another card`)
    return data
  }
}
