// Uploads the offline queue through POST /v1/taps/batch: oldest `at` first (the order the service
// decides a card's offline taps in), at most `batchSize` (≤ 100, the api's limit) per request, each
// tap with its exact queued bytes. Store-and-forward in the manner of jPOS's SAF (org.jpos.saf.SAF:
// initial-delay, wait-for-response, max-retransmissions, expire-after), adapted:
//   - a row is deleted only when the service answered it for good: 200 (decided or replayed) or a
//     final 4xx (400, 409, …) — the latter to the dead-letter table with its status, never silently;
//   - 5xx, 408, 429, timeouts and network errors keep every row; the uploader backs off (doubling
//     from retryDelayMs to retryDelayMsMax) and each row counts its sends; past attemptsMax sends
//     without a final answer (jPOS max-retransmissions) the row goes to the dead-letter table;
//   - a tap whose `at` is older than the service's upload window (AT_PAST_MS_MAX_UPLOAD, 30 days,
//     jPOS expire-after) would be refused anyway: it goes to the dead-letter table before a send.
// Killed mid-upload, the rows are still there: sent again, the service replays what it recorded.
import { TAP_UPLOAD_ITEMS_MAX } from '../../src/constants.js'
import type { LinkState } from './link-state.js'
import type { OfflineQueue, QueuedTap } from './offline-queue.js'
import { describeFailure, errorCode, type CallOutcome, type SignedCall } from './signed-call.js'
import type { SinkLog } from './tap-sink.js'

export interface UploaderOptions {
  batchSize: number
  /** Time the service gets to answer one batch (jPOS wait-for-response). */
  budgetMs: number
  /** First back-off after a failed batch (jPOS initial-delay), doubled per failure in a row. */
  retryDelayMs: number
  retryDelayMsMax: number
  /** Sends of one tap without a final answer before it is dead-lettered (jPOS max-retransmissions). */
  attemptsMax: number
  /** A tap older than this (by its `at`) is dead-lettered unsent (jPOS expire-after). */
  expireAfterMs: number
  /** Batches per drain, so one drain cannot run for ever while taps keep coming. */
  batchesPerDrainMax: number
  now?: () => number
}

export type UploadOutcome =
  | { kind: 'idle' }
  | { kind: 'waiting', untilMs: number }
  | { kind: 'sent', sent: number, done: number, dead: number, kept: number }
  | { kind: 'failed', reason: string, kept: number }

/** Per-item statuses worth sending again; any other 4xx is the service's final word on the tap. */
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504])
const ANSWER_BYTES_PER_TAP_MAX = 4096

export class OfflineUploader {
  private readonly now: () => number
  private failuresInRow = 0
  private notBeforeMs = 0
  private draining: Promise<unknown> | undefined

  constructor (
    private readonly call: SignedCall,
    private readonly queue: OfflineQueue,
    private readonly link: LinkState,
    private readonly log: SinkLog,
    private readonly o: UploaderOptions
  ) {
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1 || o.batchSize > TAP_UPLOAD_ITEMS_MAX) {
      throw new RangeError(`upload batchSize must be 1..${TAP_UPLOAD_ITEMS_MAX}`)
    }
    this.now = o.now ?? Date.now
  }

  /** The service is back: no reason to wait out the back-off of the outage. */
  resetBackoff (): void {
    this.failuresInRow = 0
    this.notBeforeMs = 0
  }

  /** Batches until the queue is empty, a batch fails, or batchesPerDrainMax; one drain at a time. */
  async drain (): Promise<{ batches: number, done: number, dead: number, last: UploadOutcome }> {
    if (this.draining !== undefined) {
      await this.draining
      return { batches: 0, done: 0, dead: 0, last: { kind: 'idle' } }
    }
    const run = async (): Promise<{ batches: number, done: number, dead: number, last: UploadOutcome }> => {
      let batches = 0
      let done = 0
      let dead = 0
      let last: UploadOutcome = { kind: 'idle' }
      while (batches < this.o.batchesPerDrainMax) {
        last = await this.uploadOnce()
        if (last.kind !== 'sent') break
        batches++
        done += last.done
        dead += last.dead
      }
      return { batches, done, dead, last }
    }
    const p = run()
    this.draining = p
    try {
      return await p
    } finally {
      this.draining = undefined
    }
  }

  /** One batch: the oldest due taps. */
  async uploadOnce (): Promise<UploadOutcome> {
    const now = this.now()
    if (now < this.notBeforeMs) return { kind: 'waiting', untilMs: this.notBeforeMs }
    this.expire(now)
    const rows = this.queue.due(now, this.o.batchSize)
    if (rows.length === 0) return { kind: 'idle' }
    const body = Buffer.concat([Buffer.from('{"taps":['), ...rows.flatMap((r, i) => i === 0 ? [r.body] : [Buffer.from(','), r.body]), Buffer.from(']}')])
    const outcome = await this.call('POST', '/v1/taps/batch', body, { budgetMs: this.o.budgetMs, answerBytesMax: ANSWER_BYTES_PER_TAP_MAX * rows.length + 1024 })
    const results = outcome.kind === 'answer' && outcome.status === 200 ? parseResults(outcome.text, rows.length) : undefined
    if (results === undefined) return this.batchFailed(rows, outcome)
    this.failuresInRow = 0
    this.link.markOnline()
    let done = 0
    let dead = 0
    let kept = 0
    // One transaction for the batch's bookkeeping: one fsync, not one per tap.
    this.queue.db.transaction(() => {
      rows.forEach((row, i) => {
        const r = results[i] as BatchItem
        if (r.status === 200) {
          this.queue.remove(row.tapId)
          done++
          if (r.tap?.decision === 'declined') this.log.warn({ tapId: row.tapId, card: row.cardToken, reason: r.tap.reason }, 'uploaded tap declined by the service')
        } else if (RETRYABLE_STATUS.has(r.status)) {
          if (this.sendFailed(row, `${r.status} ${r.error?.code ?? ''}`, this.backoffMs(row.attempts + 1))) dead++
          else kept++
        } else {
          // 409: the same tapId was recorded with other bytes (the service leaves `offline` out of
          // the comparison, so an online attempt that did arrive replays instead): a terminal bug,
          // kept for reconciliation.
          this.queue.toDeadLetter(row.tapId, 'REFUSED', r.status, r.error?.code ?? null)
          dead++
          this.log.error({ tapId: row.tapId, card: row.cardToken, status: r.status, code: r.error?.code }, 'uploaded tap refused: moved to dead letters')
        }
      })
    })()
    this.log.info({ sent: rows.length, done, dead, kept, depth: this.queue.depth }, 'offline taps uploaded')
    return { kind: 'sent', sent: rows.length, done, dead, kept }
  }

  private batchFailed (rows: QueuedTap[], outcome: CallOutcome): UploadOutcome {
    const reason = outcome.kind === 'answer' && outcome.status === 200 ? 'answer is not one result per tap' : describeFailure(outcome)
    const transient = outcome.kind !== 'answer' || RETRYABLE_STATUS.has(outcome.status)
    if (transient) this.link.markOffline()
    else this.link.markOnline()
    this.failuresInRow++
    const waitMs = this.backoffMs(this.failuresInRow)
    this.notBeforeMs = this.now() + waitMs
    let kept = 0
    this.queue.db.transaction(() => {
      // Every row waits with the uploader (not each on its own), so the next batch is the same oldest taps.
      for (const row of rows) if (!this.sendFailed(row, reason, 0)) kept++
    })()
    // A 4xx for the whole batch (400, 401, 413) is not an answer about any one tap: all are kept.
    const level = transient ? 'warn' : 'error'
    this.log[level]({ taps: rows.length, reason, code: outcome.kind === 'answer' ? errorCode(outcome.status, outcome.text) : undefined, retryInMs: waitMs }, 'offline upload failed: taps kept')
    return { kind: 'failed', reason, kept }
  }

  /** Counts a send without a final answer; true when that was the row's last allowed send. */
  private sendFailed (row: QueuedTap, reason: string, backoffMs: number): boolean {
    if (row.attempts + 1 >= this.o.attemptsMax) {
      this.queue.failed(row.tapId, 0, reason)
      this.queue.toDeadLetter(row.tapId, 'RETRIES_EXHAUSTED')
      this.log.error({ tapId: row.tapId, card: row.cardToken, attempts: row.attempts + 1, reason }, 'offline tap given up after its last send: moved to dead letters')
      return true
    }
    this.queue.failed(row.tapId, backoffMs === 0 ? 0 : this.now() + backoffMs, reason)
    return false
  }

  private backoffMs (failures: number): number {
    return Math.min(this.o.retryDelayMsMax, this.o.retryDelayMs * 2 ** Math.min(30, Math.max(0, failures - 1)))
  }

  private expire (now: number): void {
    for (const row of this.queue.olderThan(now - this.o.expireAfterMs, this.o.batchSize)) {
      this.queue.toDeadLetter(row.tapId, 'EXPIRED')
      this.log.error({ tapId: row.tapId, card: row.cardToken, at: new Date(row.atMs).toISOString() }, 'offline tap older than the upload window: moved to dead letters')
    }
  }
}

interface BatchItem { status: number, tap?: { decision?: string, reason?: string }, error?: { code?: string } }

function parseResults (text: string, count: number): BatchItem[] | undefined {
  try {
    const r = (JSON.parse(text) as { results?: unknown }).results
    if (!Array.isArray(r) || r.length !== count) return undefined
    if (!r.every(x => typeof x === 'object' && x !== null && Number.isInteger((x as BatchItem).status))) return undefined
    return r as BatchItem[]
  } catch {
    return undefined
  }
}
