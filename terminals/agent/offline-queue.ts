// The durable queue of taps decided at the terminal (or otherwise waiting for the service), in the
// agent's SQLite file. Each row keeps the tap's exact bytes: an upload sends them unchanged, so the
// service's idempotency on (terminal, tapId) + body replays a tap it already recorded instead of
// charging twice or answering 409. Bounded: when full, `enqueue` says so and the caller declines the
// tap rather than let a rider through whose tap it could not keep.
import type { AgentDb } from './agent-db.js'

export interface QueueInput {
  tapId: string
  atMs: number
  body: Buffer
  cardToken: string
  /** Deny-list token of the card, for its offline usage; null for a tap not decided offline. */
  riskToken: string | null
  riskAmountFen: number
}

export interface QueuedTap {
  seq: number
  tapId: string
  atMs: number
  body: Buffer
  cardToken: string
  riskToken: string | null
  attempts: number
  nextAttemptAtMs: number
}

export type DeadReason = 'EXPIRED' | 'REFUSED' | 'RETRIES_EXHAUSTED'

export interface DeadLetter { tapId: string, atMs: number, body: Buffer, reason: DeadReason, status: number | null, code: string | null, attempts: number }

interface Row { seq: number, tap_id: string, at_ms: number, body: Buffer, card_token: string, risk_token: string | null, attempts: number, next_attempt_at_ms: number }

export class OfflineQueue {
  private readonly q

  constructor (readonly db: AgentDb, readonly depthMax: number, private readonly now: () => number = Date.now) {
    if (!Number.isInteger(depthMax) || depthMax < 1) throw new RangeError('queue depthMax must be a positive integer')
    this.q = {
      count: db.prepare('SELECT count(*) FROM queue').pluck(),
      oldestAt: db.prepare('SELECT min(at_ms) FROM queue').pluck(),
      insert: db.prepare(`INSERT INTO queue (tap_id, at_ms, body, card_token, risk_token, risk_amount_fen, queued_at_ms)
                          VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tap_id) DO NOTHING`),
      due: db.prepare('SELECT * FROM queue WHERE next_attempt_at_ms <= ? ORDER BY at_ms, seq LIMIT ?'),
      nextDue: db.prepare('SELECT min(next_attempt_at_ms) FROM queue').pluck(),
      olderThan: db.prepare('SELECT * FROM queue WHERE at_ms < ? ORDER BY at_ms, seq LIMIT ?'),
      remove: db.prepare('DELETE FROM queue WHERE tap_id = ?'),
      get: db.prepare('SELECT * FROM queue WHERE tap_id = ?'),
      failed: db.prepare('UPDATE queue SET attempts = attempts + 1, next_attempt_at_ms = ?, last_error = ? WHERE tap_id = ?'),
      dead: db.prepare(`INSERT INTO dead_letter (tap_id, at_ms, body, card_token, reason, status, code, attempts, dead_at_ms)
                        SELECT tap_id, at_ms, body, card_token, ?, ?, ?, attempts, ? FROM queue WHERE tap_id = ?
                        ON CONFLICT (tap_id) DO NOTHING`),
      deadList: db.prepare('SELECT tap_id, at_ms, body, reason, status, code, attempts FROM dead_letter ORDER BY at_ms LIMIT ?'),
      deadCount: db.prepare('SELECT count(*) FROM dead_letter').pluck(),
      deadOne: db.prepare('SELECT tap_id, at_ms, reason FROM dead_letter WHERE tap_id = ?'),
      requeue: db.prepare(`INSERT INTO queue (tap_id, at_ms, body, card_token, risk_token, risk_amount_fen, queued_at_ms)
                           SELECT tap_id, at_ms, body, card_token, NULL, 0, ? FROM dead_letter WHERE tap_id = ? ON CONFLICT (tap_id) DO NOTHING`),
      deleteDead: db.prepare('DELETE FROM dead_letter WHERE tap_id = ?'),
      byRiskToken: db.prepare('SELECT count(*) AS count, coalesce(sum(risk_amount_fen), 0) AS amount FROM queue WHERE risk_token = ?')
    }
  }

  get depth (): number { return this.q.count.get() as number }

  get full (): boolean { return this.depth >= this.depthMax }

  /** `at` of the oldest queued tap, ms; undefined when empty. */
  get oldestAtMs (): number | undefined { return (this.q.oldestAt.get() as number | null) ?? undefined }

  /**
   * Keeps the tap (committed, fsynced, before this returns unless inside a caller's transaction).
   * False when the queue is full. The same tapId again is kept once (a retried enqueue is harmless).
   */
  enqueue (tap: QueueInput): boolean {
    if (this.full) return false
    this.q.insert.run(tap.tapId, tap.atMs, tap.body, tap.cardToken, tap.riskToken, tap.riskAmountFen, this.now())
    return true
  }

  /** Up to `max` taps due at `nowMs`, oldest `at` first: the order the service decides them in. */
  due (nowMs: number, max: number): QueuedTap[] {
    return (this.q.due.all(nowMs, max) as Row[]).map(toTap)
  }

  /** When the next queued tap falls due, ms; undefined when empty. */
  get nextDueAtMs (): number | undefined { return (this.q.nextDue.get() as number | null) ?? undefined }

  /** Up to `max` taps whose `at` is before `atMs` (expired for the service's upload window). */
  olderThan (atMs: number, max: number): QueuedTap[] {
    return (this.q.olderThan.all(atMs, max) as Row[]).map(toTap)
  }

  get (tapId: string): QueuedTap | undefined {
    const row = this.q.get.get(tapId) as Row | undefined
    return row === undefined ? undefined : toTap(row)
  }

  /** The service answered this tap for good: it is off the terminal's hands. */
  remove (tapId: string): void { this.q.remove.run(tapId) }

  /** A send without a final answer: counted, and not sent again before `nextAttemptAtMs`. */
  failed (tapId: string, nextAttemptAtMs: number, error: string): void {
    this.q.failed.run(nextAttemptAtMs, error.slice(0, 200), tapId)
  }

  /** Moves the tap to the dead-letter table (bytes kept for reconciliation), atomically. */
  toDeadLetter (tapId: string, reason: DeadReason, status: number | null = null, code: string | null = null): void {
    this.db.transaction(() => {
      this.q.dead.run(reason, status, code, this.now(), tapId)
      this.q.remove.run(tapId)
    })()
  }

  deadLetters (max = 1000): DeadLetter[] {
    return (this.q.deadList.all(max) as Array<{ tap_id: string, at_ms: number, body: Buffer, reason: DeadReason, status: number | null, code: string | null, attempts: number }>)
      .map(r => ({ tapId: r.tap_id, atMs: r.at_ms, body: r.body, reason: r.reason, status: r.status, code: r.code, attempts: r.attempts }))
  }

  get deadLetterCount (): number { return this.q.deadCount.get() as number }

  /**
   * Puts a dead letter back in the queue with its bytes, to be uploaded again from its first
   * attempt (after ops fixed what refused it: a terminal re-registered, a service upgraded). Not a
   * tap past the service's upload window (`expireAfterMs` by its `at`): the service would refuse it
   * again. Atomic; the same tapId already queued is left as it is.
   */
  requeueDeadLetter (tapId: string, expireAfterMs: number): 'requeued' | 'expired' | 'unknown' | 'full' {
    const dead = this.q.deadOne.get(tapId) as { tap_id: string, at_ms: number, reason: DeadReason } | undefined
    if (dead === undefined) return 'unknown'
    if (dead.at_ms < this.now() - expireAfterMs) return 'expired'
    if (this.full) return 'full'
    this.db.transaction(() => {
      this.q.requeue.run(this.now(), tapId)
      this.q.deleteDead.run(tapId)
    })()
    return 'requeued'
  }

  /** Offline use of a card still waiting in the queue (what the service has not seen yet). */
  queuedUse (riskToken: string): { count: number, amountFen: number } {
    const r = this.q.byRiskToken.get(riskToken) as { count: number, amount: number }
    return { count: r.count, amountFen: r.amount }
  }
}

function toTap (r: Row): QueuedTap {
  return { seq: r.seq, tapId: r.tap_id, atMs: r.at_ms, body: r.body, cardToken: r.card_token, riskToken: r.risk_token, attempts: r.attempts, nextAttemptAtMs: r.next_attempt_at_ms }
}
