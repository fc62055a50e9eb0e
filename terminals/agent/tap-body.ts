// The exact bytes of one tap. They are built once and kept: a retry must send the same bytes
// under the same tapId, or the service answers 409 instead of the recorded decision.
import type { PresentedCard, TapCard } from '../../src/reader/presented-card.js'

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

/**
 * The tap's `card`: a physical card still in the field is asked for its proof of presence over
 * this terminal, tapId, at and amount (api-v1 v1.1 "Card authentication"), sent as atc + cryptogram.
 * A card without the function, or an agent that does not know its terminal id, sends the bare card.
 */
export async function provenCard (presented: PresentedCard, proof: { terminalId?: string, tapId: string, at: string, amount?: number }): Promise<TapCard> {
  if (presented.card.type !== 'physical' || presented.proofFor === undefined || proof.terminalId === undefined) return presented.card
  const answer = await presented.proofFor({ terminalId: proof.terminalId, tapId: proof.tapId, at: proof.at, amount: proof.amount ?? null })
  return answer === null ? presented.card : { ...presented.card, atc: answer.atc, cryptogram: answer.cryptogram }
}
