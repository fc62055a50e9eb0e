// Logs never carry a card number or QR payload in clear. A plain hash of a 9-character card number
// is easy to reverse by trying them all, so the token is keyed (HMAC with a terminal-local key).
import { createHmac } from 'node:crypto'
import type { TapCard } from '../../src/reader/presented-card.js'

export function cardToken (card: TapCard, key: string): string {
  const subject = card.type === 'physical' ? `p:${card.issuer}:${card.cardNo}` : `q:${card.qr}`
  return `${card.type === 'physical' ? 'c' : 'q'}:${createHmac('sha256', key).update(subject).digest('hex').slice(0, 12)}`
}
