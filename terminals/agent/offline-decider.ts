// The decision a terminal makes without the service, and the queueing of what it approved, in one
// SQLite transaction: a tap is approved only if its row (and its card's usage) are committed, so a
// rider is never let through on a tap the terminal could lose.
//
// In order: an e-card QR is declined (its signature needs the issuer's key, which terminals do not
// hold, and a QR is valid once: only the service can tell a reused one); no cached deny list →
// declined (a lost card could not be told apart); the card's token on the deny list → declined;
// the card over its offline risk limit since its last online answer → declined; the queue full →
// declined; otherwise approved, the body marked `"offline": true` and queued.
import type { TapCard } from '../../src/reader/presented-card.js'
import type { AgentDb } from './agent-db.js'
import type { DenylistCache } from './denylist-cache.js'
import type { OfflineQueue } from './offline-queue.js'
import type { CardRisk, RiskLimit } from './offline-risk.js'
import type { PreparedTap } from './tap-body.js'

export type OfflineReason = 'OFFLINE_QR' | 'OFFLINE_NO_DENYLIST' | 'OFFLINE_DENYLIST_STALE' | 'OFFLINE_DENYLISTED' | 'OFFLINE_RISK_LIMIT' | 'OFFLINE_QUEUE_FULL' | 'OFFLINE_STORE_FAILED'

export type OfflineDecision =
  | { decision: 'approved', amountFen: number }
  | { decision: 'declined', reason: OfflineReason, listedAs?: string }

export interface OfflineDeciderDeps {
  db: AgentDb
  queue: OfflineQueue
  denylist: DenylistCache
  risk: CardRisk
  /** The limit for this terminal's scenario (it may be learnt from the service after start). */
  limit: () => RiskLimit
  /** A list the service has not confirmed for longer is not trusted (config denylistAgeMsMax). */
  denylistAgeMsMax: number
  now?: () => number
}

/** The parts of our own tap body the decision needs. */
export interface TapFacts { tapId: string, atMs: number, card: TapCard, amount?: number }

export function tapFacts (body: Buffer): TapFacts {
  const b = JSON.parse(body.toString('utf8')) as { tapId: string, at: string, card: TapCard, amount?: number }
  const atMs = Date.parse(b.at)
  if (!Number.isFinite(atMs)) throw new Error(`tap ${b.tapId} has no usable at`)
  return { tapId: b.tapId, atMs, card: b.card, ...(b.amount === undefined ? {} : { amount: b.amount }) }
}

/** The same bytes with `"offline": true` added: our serialiser, so the rest is unchanged. */
export function markOffline (body: Buffer): Buffer {
  const b = JSON.parse(body.toString('utf8')) as Record<string, unknown>
  b.offline = true
  return Buffer.from(JSON.stringify(b), 'utf8')
}

export class OfflineDecider {
  constructor (private readonly d: OfflineDeciderDeps) {}

  /** The card's deny-list token (its key for usage too), or undefined (QR, or no key yet). */
  riskToken (card: TapCard): string | undefined {
    return card.type === 'physical' ? this.d.denylist.tokenOf(card.issuer, card.cardNo) : undefined
  }

  decide (tap: PreparedTap): OfflineDecision {
    const facts = tapFacts(tap.body)
    if (facts.card.type !== 'physical') return { decision: 'declined', reason: 'OFFLINE_QR' }
    const token = this.riskToken(facts.card)
    if (token === undefined || !this.d.denylist.ready) return { decision: 'declined', reason: 'OFFLINE_NO_DENYLIST' }
    // A card lost or fallen into debt since the list was last confirmed would pass: past the age
    // bound the list is not evidence enough (a list from before this bound existed: not confirmed).
    const confirmedAtMs = this.d.denylist.confirmedAtMs
    if (confirmedAtMs === undefined || (this.d.now ?? Date.now)() - confirmedAtMs > this.d.denylistAgeMsMax) return { decision: 'declined', reason: 'OFFLINE_DENYLIST_STALE' }
    const listedAs = this.d.denylist.reasonFor(token)
    if (listedAs !== undefined) return { decision: 'declined', reason: 'OFFLINE_DENYLISTED', listedAs }
    const limit = this.d.limit()
    const amountFen = facts.amount ?? limit.estimateFen
    return this.d.db.transaction((): OfflineDecision => {
      if (!this.d.risk.allows(token, amountFen, limit)) return { decision: 'declined', reason: 'OFFLINE_RISK_LIMIT' }
      const kept = this.d.queue.enqueue({
        tapId: tap.tapId, atMs: facts.atMs, body: markOffline(tap.body), cardToken: tap.cardToken, riskToken: token, riskAmountFen: amountFen
      })
      if (!kept) return { decision: 'declined', reason: 'OFFLINE_QUEUE_FULL' }
      this.d.risk.record(token, amountFen, facts.atMs)
      return { decision: 'approved', amountFen }
    }).immediate()
  }

  /** The card got an online answer: its offline usage starts again from what is still queued. */
  onlineAnswer (tap: PreparedTap): void {
    const token = this.riskToken(tapFacts(tap.body).card)
    if (token !== undefined) this.d.risk.resetOnline(token, this.d.queue.queuedUse(token))
  }
}
