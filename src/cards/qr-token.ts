// The electronic social security card's QR payload, for the demo/test issuer.
//
// Real e-card payloads are not public; this project defines a compact signed token:
//   YKT1.<base64url(payload)>.<base64url(Ed25519 signature over "YKT1." + payload bytes)>
// payload (27 bytes) = cardNo (9 ASCII) | issuer (6 ASCII digits) | expiresAt (u32 BE, Unix s) | nonce (8 B)
// ≈ 127 characters: fits a version-7 QR code. Verification costs one Ed25519 verify on the tap path.
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto'

const PREFIX = 'YKT1.'
const PREFIX_BYTES = Buffer.from(PREFIX, 'ascii')
const PAYLOAD_BYTES = 27
const SIGNATURE_BYTES = 64
export const QR_PAYLOAD_CHARS_MAX = 512
/** api-v1: a QR lives at most 300 s (POST /v1/admin/cards/:cardNo/qr ttlSeconds 1..300). */
export const QR_LIFETIME_MS_MAX = 300_000
/**
 * Slack between the issuer's clock and ours when judging the lifetime: a QR expiring more than
 * QR_LIFETIME_MS_MAX + this after our clock was minted with a longer lifetime than allowed (or
 * for 2106) and is refused as QR_INVALID, whoever signed it.
 */
export const QR_ISSUER_CLOCK_SKEW_MS_MAX = 30_000
const CARD_NO = /^[A-Z0-9]{9}$/
const ISSUER = /^[0-9]{6}$/

export interface QrClaims { cardNo: string, issuer: string, expiresAtMs: number, nonce: string }

export type QrVerification =
  | { ok: true, claims: QrClaims }
  | { ok: false, reason: 'QR_INVALID' | 'QR_EXPIRED' }

export interface QrKeyRing {
  /** Verifying keys by issuer area code (several during a key rotation). */
  publicKeys: Map<string, KeyObject[]>
  /** Signing keys by issuer: only for the demo/test issuer that the admin API mints for. */
  privateKeys: Map<string, KeyObject>
}

export function emptyKeyRing (): QrKeyRing {
  return { publicKeys: new Map(), privateKeys: new Map() }
}

/** A ring from PEM keys (tests and tools; the service loads its keys with src/cards/issuer-keys.ts). */
export function keyRingFromPem (keys: Array<{ issuers: string[], publicKeyPem: string, privateKeyPem?: string }>): QrKeyRing {
  const publicKeys = new Map<string, KeyObject[]>()
  const privateKeys = new Map<string, KeyObject>()
  for (const key of keys) {
    const publicKey = createPublicKey(key.publicKeyPem)
    const privateKey = key.privateKeyPem === undefined ? undefined : createPrivateKey(key.privateKeyPem)
    for (const issuer of key.issuers) {
      publicKeys.set(issuer, [...(publicKeys.get(issuer) ?? []), publicKey])
      if (privateKey !== undefined) privateKeys.set(issuer, privateKey)
    }
  }
  return { publicKeys, privateKeys }
}

export function mintQr (ring: QrKeyRing, cardNo: string, issuer: string, expiresAtMs: number): string {
  const privateKey = ring.privateKeys.get(issuer)
  if (privateKey === undefined) throw new Error(`no QR signing key for issuer ${issuer}`)
  if (!CARD_NO.test(cardNo) || !ISSUER.test(issuer)) throw new Error('bad card number or issuer')
  const payload = Buffer.alloc(PAYLOAD_BYTES)
  payload.write(cardNo, 0, 'ascii')
  payload.write(issuer, 9, 'ascii')
  payload.writeUInt32BE(Math.floor(expiresAtMs / 1000), 15)
  randomBytes(8).copy(payload, 19)
  const signature = sign(null, Buffer.concat([PREFIX_BYTES, payload]), privateKey)
  return `${PREFIX}${payload.toString('base64url')}.${signature.toString('base64url')}`
}

/** Checks form and signature, then expiry against the server's clock `nowMs`. Never throws. */
export function verifyQr (ring: QrKeyRing, qr: string, nowMs: number): QrVerification {
  const claims = parseSigned(ring, qr)
  if (claims === undefined) return { ok: false, reason: 'QR_INVALID' }
  if (claims.expiresAtMs <= nowMs) return { ok: false, reason: 'QR_EXPIRED' }
  if (claims.expiresAtMs - nowMs > QR_LIFETIME_MS_MAX + QR_ISSUER_CLOCK_SKEW_MS_MAX) return { ok: false, reason: 'QR_INVALID' }
  return { ok: true, claims }
}

function parseSigned (ring: QrKeyRing, qr: string): QrClaims | undefined {
  if (qr.length > QR_PAYLOAD_CHARS_MAX || !qr.startsWith(PREFIX)) return undefined
  const parts = qr.slice(PREFIX.length).split('.')
  if (parts.length !== 2) return undefined
  const payload = Buffer.from(parts[0] ?? '', 'base64url')
  const signature = Buffer.from(parts[1] ?? '', 'base64url')
  if (payload.length !== PAYLOAD_BYTES || signature.length !== SIGNATURE_BYTES) return undefined
  const cardNo = payload.toString('ascii', 0, 9)
  const issuer = payload.toString('ascii', 9, 15)
  if (!CARD_NO.test(cardNo) || !ISSUER.test(issuer)) return undefined
  const keys = ring.publicKeys.get(issuer) ?? []
  const signed = Buffer.concat([PREFIX_BYTES, payload])
  if (!keys.some(key => verify(null, signed, key, signature))) return undefined
  return {
    cardNo,
    issuer,
    expiresAtMs: payload.readUInt32BE(15) * 1000,
    nonce: payload.toString('base64url', 19, 27)
  }
}
