// Terminal secrets at rest (issue #13 item 7). A terminal's HMAC secret must be known in clear to
// check its signatures, so it cannot be hashed like a password: it is sealed with AES-256-GCM under
// a key kept outside the ledger (TERMINAL_SECRETS_KEY, or a key file beside the ledger, never in
// it). A copied ledger file, or a PostgreSQL dump, holds only sealed values: they authenticate
// nothing without the key.
//
// The sealed value carries the secret and, during a rotation, the previous one with the moment it
// stops being accepted, so a rotation is one write of one column on both engines:
//   ykt1.<keyId>.<iv, base64url>.<ciphertext ‖ tag, base64url>   (plaintext: JSON TerminalSecrets)
// keyId is the first 8 hex digits of SHA-256 of the key: a process given another key says so by
// name instead of failing every signature. The terminal id is the additional authenticated data:
// a sealed value copied onto another terminal's row does not open.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto'

const PREFIX = 'ykt1'
const IV_BYTES = 12
const TAG_BYTES = 16

export interface TerminalSecrets {
  secret: string
  /** The secret before the last rotation, accepted until previousUntilMs. */
  previous?: string
  previousUntilMs?: number
}

export class SecretBoxError extends Error {
  readonly code = 'TERMINAL_SECRET_SEALED_OTHERWISE'
}

export class SecretBox {
  readonly keyId: string
  private readonly key: Buffer

  /** `material`: at least 32 bytes of key material (the env value or the key file's text). */
  constructor (material: Buffer) {
    if (material.length < 32) throw new SecretBoxError('the terminal secrets key must be at least 32 bytes')
    // HKDF with a label: the material may be typed by an operator, the AES key must be uniform.
    this.key = Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), 'yikatong terminal secrets v1', 32))
    this.keyId = createHash('sha256').update(this.key).digest('hex').slice(0, 8)
  }

  static isSealed (stored: string): boolean { return stored.startsWith(`${PREFIX}.`) }

  seal (terminalId: string, secrets: TerminalSecrets): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.key, iv)
    cipher.setAAD(Buffer.from(terminalId, 'utf8'))
    const sealed = Buffer.concat([cipher.update(JSON.stringify(secrets), 'utf8'), cipher.final(), cipher.getAuthTag()])
    return [PREFIX, this.keyId, iv.toString('base64url'), sealed.toString('base64url')].join('.')
  }

  /** The secrets of a stored value: sealed, or (a ledger from before sealing) the secret in clear. */
  open (terminalId: string, stored: string): TerminalSecrets {
    if (!SecretBox.isSealed(stored)) return { secret: stored }
    const [, keyId, ivText, sealedText] = stored.split('.')
    if (keyId !== this.keyId) {
      throw new SecretBoxError(`terminal ${terminalId}'s secret is sealed with key id ${keyId ?? '?'}, this process has key id ${this.keyId} (TERMINAL_SECRETS_KEY or the key file differs between processes)`)
    }
    const sealed = Buffer.from(sealedText ?? '', 'base64url')
    const iv = Buffer.from(ivText ?? '', 'base64url')
    if (iv.length !== IV_BYTES || sealed.length <= TAG_BYTES) throw new SecretBoxError(`terminal ${terminalId}'s sealed secret is malformed`)
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv)
      decipher.setAAD(Buffer.from(terminalId, 'utf8'))
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
      const plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)), decipher.final()])
      return JSON.parse(plain.toString('utf8')) as TerminalSecrets
    } catch {
      throw new SecretBoxError(`terminal ${terminalId}'s sealed secret does not open (altered, or copied from another terminal)`)
    }
  }
}
