// Logging: pino JSON lines. Card numbers, ID numbers, names, QR payloads, secrets and tokens never
// appear in clear: structured fields are redacted by path, card numbers inside URLs are replaced by
// a keyed token. The key comes from configuration (CARD_TOKEN_KEY, or a key file kept beside the
// ledger), so one card keeps one token across restarts and lines from different days correlate.
import { createHmac, randomBytes } from 'node:crypto'
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino'

export const REDACT_PATHS = [
  'cardNo', '*.cardNo', '*.*.cardNo',
  'qr', '*.qr', '*.*.qr',
  'idNumber', '*.idNumber', 'socialSecurityNumber', '*.socialSecurityNumber',
  'name', 'holder', '*.holder',
  'secret', '*.secret', 'adminToken', 'token',
  'req.headers.authorization', 'req.headers["x-signature"]', 'headers.authorization', 'headers["x-signature"]'
]

export interface CardTokenizer { (cardNo: string): string }

/** A short keyed hash of a card number for logs: correlates lines, reveals nothing. */
export function cardTokenizer (key: Buffer = randomBytes(32)): CardTokenizer {
  if (key.length < 16) throw new Error('the card token key must be at least 16 bytes')
  return (cardNo: string) => 'card_' + createHmac('sha256', key).update(cardNo).digest('hex').slice(0, 12)
}

const CARD_IN_PATH = /(\/cards\/)([^/?#]+)/g
const QUERY_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/
const QUERY_NAMES_LOGGED_MAX = 8

/**
 * A request's URL as a log line may show it. A client types into a query string and a path what
 * it likes (a card number, an ID number), so: card numbers in a matched path become tokens; query
 * values are dropped, their names kept (at most 8, plain names only); a path no route matched is
 * only its length (probes and typos are counted in metrics, not echoed into logs).
 */
export function redactUrl (url: string, token: CardTokenizer, matched = true): string {
  if (!matched) return `[unknown path, ${Buffer.byteLength(url)} bytes]`
  const queryAt = url.indexOf('?')
  const path = (queryAt === -1 ? url : url.slice(0, queryAt)).replace(CARD_IN_PATH, (_match, prefix: string, cardNo: string) => prefix + token(decodeURIComponentSafe(cardNo)))
  if (queryAt === -1) return path
  const names = url.slice(queryAt + 1).split('&').filter(part => part !== '').map(part => part.split('=')[0]!)
  const shown = names.slice(0, QUERY_NAMES_LOGGED_MAX).map(name => QUERY_NAME.test(name) ? `${name}=…` : '…')
  if (names.length > QUERY_NAMES_LOGGED_MAX) shown.push(`(${names.length - QUERY_NAMES_LOGGED_MAX} more)`)
  return `${path}?${shown.join('&')}`
}

function decodeURIComponentSafe (value: string): string {
  try { return decodeURIComponent(value) } catch { return value }
}

const BASE = { service: 'yikatong' }
/** ISO 8601 UTC times ("time":"2026-07-01T00:15:30.123Z"): readable and sortable, unlike epoch ms. */
const TIMESTAMP = pino.stdTimeFunctions.isoTime

/**
 * stdout through SonicBoom with no minimum write size: each line is handed to the kernel as soon as
 * the previous write finished. The old 4 KiB minLength kept lines out of the file for as long as
 * 35 s on a quiet service, and a crash lost them. Writes stay asynchronous (off the tap path);
 * main.ts flushes synchronously on fatal errors and at exit.
 */
export function logDestination (): DestinationStream {
  return pino.destination({ dest: 1, sync: false, minLength: 0 })
}

export function createLogger (options: { level: string, stream?: DestinationStream }): Logger {
  const config: LoggerOptions = {
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    base: BASE,
    timestamp: TIMESTAMP
  }
  return pino(config, options.stream ?? logDestination())
}

/** The fields of the one log line written per tap: every one chosen by the tap route, none secret
 *  (the card is a token from cardTokenizer, never its number). */
export interface TapLine {
  reqId: string
  terminal: string
  tapId: string | undefined
  scenario: string
  card: string | null
  decision: string
  reason: string | undefined
  amount: number
  replay: true | undefined
  latencyMs: number
}

export interface TapLineLogger { (line: TapLine): void }

/**
 * Writes the per-tap line through a sibling of `logger` (same destination, level and base fields)
 * that skips redaction. Measured (bench/PERFORMANCE.md): pino applies the wildcard redaction paths
 * ('*.cardNo', '*.*.qr', ...) to every field of every line, ~6.1 µs for this line against ~0.8 µs
 * without, on every tap. This line's fields are fixed above and hold nothing to redact; every other
 * line keeps the full redaction. The output is the same JSON as request.log.info(line) would give.
 */
export function tapLineLogger (logger: Logger): TapLineLogger {
  const stream = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym]
  const plain = pino({ level: 'info', base: BASE, timestamp: TIMESTAMP }, stream)
  return line => {
    // Follows the service logger's level, should it change at run time.
    if (logger.isLevelEnabled('info')) plain.info(line, 'tap')
  }
}

/** Latency for log lines: 0.001 ms resolution is all a reader can use (was 15 significant digits). */
export function roundMs (ms: number): number {
  return Math.round(ms * 1000) / 1000
}
