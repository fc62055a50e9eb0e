// The exact bytes of one tap. They are built once and kept: a retry must send the same bytes
// under the same tapId, or the service answers 409 instead of the recorded decision.
import type { TapCard } from '../../src/reader/presented-card.js'

export interface PreparedTap {
  tapId: string
  body: Buffer
  /** Keyed hash of the card, for logs and for finding this tap again when the card comes back. */
  cardToken: string
  createdAtMs: number
  attempts: number
  nextAttemptAtMs: number
}

export interface TapInput {
  tapId: string
  at: string
  card: TapCard
  amount?: number
  context: Record<string, unknown>
}

export function prepareTap (input: TapInput, cardToken: string, nowMs: number): PreparedTap {
  const tap: Record<string, unknown> = { tapId: input.tapId, at: input.at, card: input.card }
  if (input.amount !== undefined) tap.amount = input.amount
  tap.context = input.context
  return { tapId: input.tapId, body: Buffer.from(JSON.stringify(tap), 'utf8'), cardToken, createdAtMs: nowMs, attempts: 0, nextAttemptAtMs: nowMs }
}
