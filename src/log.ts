// Logging: pino JSON lines. Card numbers, ID numbers, names, QR payloads, secrets and tokens never
// appear in clear: structured fields are redacted by path, card numbers inside URLs are replaced by
// a keyed token (the same card gives the same token within a process, so lines still correlate).
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
  return (cardNo: string) => 'card_' + createHmac('sha256', key).update(cardNo).digest('hex').slice(0, 12)
}

const CARD_IN_PATH = /(\/cards\/)([^/?#]+)/g

export function redactUrl (url: string, token: CardTokenizer): string {
  return url.replace(CARD_IN_PATH, (_match, prefix: string, cardNo: string) => prefix + token(decodeURIComponentSafe(cardNo)))
}

function decodeURIComponentSafe (value: string): string {
  try { return decodeURIComponent(value) } catch { return value }
}

export function createLogger (options: { level: string, stream?: DestinationStream }): Logger {
  const config: LoggerOptions = {
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    base: { service: 'yikatong' }
  }
  // Asynchronous writes keep logging off the tap's critical path (pino.destination sync: false).
  return pino(config, options.stream ?? pino.destination({ dest: 1, sync: false, minLength: 4096 }))
}
