// Terminal authentication (api-v1): X-Terminal-Id, X-Timestamp (±300 s), X-Signature (HMAC-SHA256
// over METHOD, PATH as sent, timestamp and the SHA-256 of the raw body), compared in constant time.
// Unknown terminal, bad signature or stale timestamp → 401; a disabled terminal → 403; over rate → 429.
// Two steps: the headers (presence, known terminal, timestamp window) are checked in onRequest,
// before a byte of the body is read, so a stranger cannot make the service read a body; the
// signature, which covers the body's hash, once the body is in (preValidation).
import type { FastifyRequest } from 'fastify'
import { DomainError, ErrorCode, forbidden, unauthenticated } from '../errors.js'
import type { TerminalRecord } from '../ledger/store.js'
import { bodySha256Hex, signatureDigest, signatureMatches, SIGNATURE_WINDOW_MS } from './signature.js'
import type { RateLimiter } from './rate-limit.js'

const TIMESTAMP = /^[0-9]{1,15}$/

/** A terminal as authentication sees it: its secret in clear (opened from the ledger's sealed
 *  value) and, during a rotation, the previous one with the moment it stops being accepted. */
export interface AuthTerminal extends TerminalRecord {
  previousSecret?: string
  previousSecretUntilMs?: number
}

export interface TerminalAuthOptions {
  lookup: (terminalId: string) => AuthTerminal | undefined
  rateLimiter: RateLimiter
  nowMs: () => number
}

function header (request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  return typeof value === 'string' ? value : undefined
}

/** Step 1 (onRequest): everything that needs no body. Throws 401. */
export function checkTerminalHeaders (request: FastifyRequest, o: TerminalAuthOptions): TerminalRecord {
  const terminalId = header(request, 'x-terminal-id')
  const timestamp = header(request, 'x-timestamp')
  const signature = header(request, 'x-signature')
  if (terminalId === undefined || timestamp === undefined || signature === undefined) {
    throw unauthenticated('X-Terminal-Id, X-Timestamp and X-Signature are required')
  }
  const terminal = o.lookup(terminalId)
  if (terminal === undefined) throw unauthenticated('unknown terminal')
  const nowMs = o.nowMs()
  if (!TIMESTAMP.test(timestamp) || Math.abs(nowMs - Number(timestamp)) > SIGNATURE_WINDOW_MS) {
    throw unauthenticated('X-Timestamp is outside ±300 s of the server clock')
  }
  return terminal
}

/** Step 2 (preValidation, body read): the signature, then status and rate. Throws 401/403/429. */
export function verifyTerminalSignature (request: FastifyRequest, o: TerminalAuthOptions): TerminalRecord {
  // Looked up again: the registration may have changed while the body was read (disabled, say).
  const terminal = o.lookup(header(request, 'x-terminal-id') ?? '')
  const timestamp = header(request, 'x-timestamp')
  const signature = header(request, 'x-signature')
  if (terminal === undefined || timestamp === undefined || signature === undefined) throw unauthenticated('unknown terminal')
  const nowMs = o.nowMs()
  const bodyHash = request.rawBodySha256 ?? bodySha256Hex(undefined)
  if (!signedWithCurrentOrPrevious(terminal, nowMs, signature, s => signatureDigest(s, request.method, request.url, timestamp, bodyHash))) {
    throw unauthenticated('bad signature')
  }
  if (terminal.status !== 'active') throw forbidden('terminal is disabled')
  if (!o.rateLimiter.take(terminal.terminalId, nowMs)) throw new DomainError(ErrorCode.RATE_LIMITED, 'terminal is over its request rate')
  return terminal
}

/** The current secret; during a rotation's overlap, the previous one too (each compared in
 *  constant time; which one matched is not told apart in the answer). */
function signedWithCurrentOrPrevious (terminal: AuthTerminal, nowMs: number, signature: string, digest: (secret: string) => Buffer): boolean {
  if (signatureMatches(digest(terminal.secret), signature)) return true
  const previous = terminal.previousSecret
  return previous !== undefined && nowMs < (terminal.previousSecretUntilMs ?? 0) && signatureMatches(digest(previous), signature)
}

export function authenticateTerminal (request: FastifyRequest, o: TerminalAuthOptions): TerminalRecord {
  checkTerminalHeaders(request, o)
  return verifyTerminalSignature(request, o)
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Lowercase hex SHA-256 of the raw body bytes, set by the JSON body parser. */
    rawBodySha256?: string
    terminal?: TerminalRecord
  }
}
