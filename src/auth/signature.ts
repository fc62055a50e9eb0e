// Terminal request signing, per api-v1 "Terminal authentication":
//   X-Signature = hex(HMAC-SHA256(secret, METHOD \n PATH \n X-Timestamp \n hex(SHA-256(body))))
// One module for both sides (service verifies, terminals and tools sign) so they cannot drift.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

export const SIGNATURE_WINDOW_MS = 300_000

const EMPTY_BODY_SHA256 = createHash('sha256').update('').digest('hex')

export function bodySha256Hex (body: Buffer | string | undefined): string {
  if (body === undefined || body.length === 0) return EMPTY_BODY_SHA256
  return createHash('sha256').update(body).digest('hex')
}

export function signingString (method: string, path: string, timestamp: string, bodyHashHex: string): string {
  return `${method.toUpperCase()}\n${path}\n${timestamp}\n${bodyHashHex}`
}

/** The raw HMAC bytes: what the service compares against, without a hex round trip per request. */
export function signatureDigest (secret: string, method: string, path: string, timestamp: string, bodyHashHex: string): Buffer {
  return createHmac('sha256', secret).update(signingString(method, path, timestamp, bodyHashHex)).digest()
}

export function sign (secret: string, method: string, path: string, timestamp: string, bodyHashHex: string): string {
  return signatureDigest(secret, method, path, timestamp, bodyHashHex).toString('hex')
}

/** Headers a terminal sends with a request. `body` must be the exact bytes sent. */
export function signedHeaders (opts: {
  terminalId: string
  secret: string
  method: string
  path: string
  body?: Buffer | string
  nowMs?: number
}): Record<string, string> {
  const timestamp = String(opts.nowMs ?? Date.now())
  return {
    'x-terminal-id': opts.terminalId,
    'x-timestamp': timestamp,
    'x-signature': sign(opts.secret, opts.method, opts.path, timestamp, bodySha256Hex(opts.body))
  }
}

const SIGNATURE_HEX = /^[0-9a-f]{64}$/

/** Constant-time check of a presented lowercase-hex signature against the expected digest (or its hex). */
export function signatureMatches (expected: Buffer | string, presented: string): boolean {
  if (!SIGNATURE_HEX.test(presented)) return false
  const expectedBytes = typeof expected === 'string' ? Buffer.from(expected, 'hex') : expected
  return timingSafeEqual(expectedBytes, Buffer.from(presented, 'hex'))
}
