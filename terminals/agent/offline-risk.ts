// How much a card may do at this terminal without the service: the "first ride risk" of
// account-based ticketing. A card unknown to be bad is let through a few times, up to an amount,
// since its last online answer; past that the terminal declines until the card is seen online
// (which resets its usage). The operator's loss from one bad card offline is bounded by these.
//
// Amount of a tap: its `amount` where the terminal prices it (pharmacy, a bill), else the
// scenario's estimate (bus, metro, scenic are priced by the service's tariff, unknown offline).
import type { AgentDb } from './agent-db.js'

export interface RiskLimit {
  /** Offline taps of one card since its last online answer. */
  countMax: number
  /** Their amount, fen. */
  amountFenMax: number
  /** What a tariff-priced tap is taken to cost, fen. */
  estimateFen: number
}

/**
 * Defaults, per scenario family (docs/offline-agent.md explains each):
 * - bus: a rider out of coverage is usually on a run of a few stops; three flat fares (≤ ¥2) cover
 *   a day's commute and a return, at most ¥6 lost on a card that turns out bad.
 * - metro: entry and exit are two taps of one journey; four taps = two journeys, fares up to ¥6.
 * - scenic: one entry; tickets are dear (up to ¥150), so one and no more.
 * - library: loans are free but carry items out of the door: two taps, nothing charged.
 * - pharmacy: medical money and the terminal knows the basket: one purchase up to ¥50.
 * - default (any other scenario): one tap up to ¥20.
 */
export const DEFAULT_RISK_LIMITS: Readonly<Record<string, RiskLimit>> = {
  bus: { countMax: 3, amountFenMax: 600, estimateFen: 200 },
  metro: { countMax: 4, amountFenMax: 1200, estimateFen: 300 },
  scenic: { countMax: 1, amountFenMax: 15_000, estimateFen: 15_000 },
  library: { countMax: 2, amountFenMax: 0, estimateFen: 0 },
  pharmacy: { countMax: 1, amountFenMax: 5000, estimateFen: 5000 },
  default: { countMax: 1, amountFenMax: 2000, estimateFen: 2000 }
}

export function riskLimitFor (limits: Readonly<Record<string, RiskLimit>>, scenario: string | undefined): RiskLimit {
  return (scenario === undefined ? undefined : limits[scenario]) ?? limits.default ?? DEFAULT_RISK_LIMITS.default as RiskLimit
}

export interface CardUse { count: number, amountFen: number }

/** Per-card offline usage, by deny-list token: the card number never reaches this table. */
export class CardRisk {
  private readonly q

  constructor (db: AgentDb) {
    this.q = {
      get: db.prepare('SELECT count, amount_fen FROM card_risk WHERE token = ?'),
      add: db.prepare(`INSERT INTO card_risk (token, count, amount_fen, first_at_ms) VALUES (?, 1, ?, ?)
                       ON CONFLICT (token) DO UPDATE SET count = count + 1, amount_fen = amount_fen + excluded.amount_fen`),
      set: db.prepare('UPDATE card_risk SET count = ?, amount_fen = ? WHERE token = ?'),
      remove: db.prepare('DELETE FROM card_risk WHERE token = ?')
    }
  }

  use (token: string): CardUse {
    const r = this.q.get.get(token) as { count: number, amount_fen: number } | undefined
    return { count: r?.count ?? 0, amountFen: r?.amount_fen ?? 0 }
  }

  /** True when one more tap of `amountFen` stays within the limit. */
  allows (token: string, amountFen: number, limit: RiskLimit): boolean {
    const u = this.use(token)
    return u.count + 1 <= limit.countMax && u.amountFen + amountFen <= limit.amountFenMax
  }

  record (token: string, amountFen: number, atMs: number): void {
    this.q.add.run(token, amountFen, atMs)
  }

  /**
   * The card got an online answer: the service knows it now. What stays counted is only what the
   * service has not seen yet, its taps still in the queue (`stillQueued`), usually nothing.
   */
  resetOnline (token: string, stillQueued: CardUse): void {
    if (stillQueued.count === 0) this.q.remove.run(token)
    else this.q.set.run(stillQueued.count, stillQueued.amountFen, token)
  }
}
