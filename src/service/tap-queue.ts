// Hands taps to the ledger engine in batches: every tap that arrives in one turn of the event loop
// goes to the engine as one call (for the SQLite engine, one message to its writer thread), and
// batches may be in flight while the writer commits the previous one. The number of taps accepted
// and not yet answered is bounded: beyond TAP_QUEUE_DEPTH_MAX a tap gets 503 OVERLOADED at once
// instead of waiting without bound.
import { TAP_BATCH_SIZE_MAX, TAP_QUEUE_DEPTH_MAX } from '../constants.js'
import { DomainError, ErrorCode, overloaded } from '../errors.js'
import type { LedgerEngine, TapJob, TapOutcome, TapResult } from '../ledger/engine.js'

interface Waiting { job: TapJob, resolve: (outcome: TapOutcome) => void, reject: (error: Error) => void }

export class TapQueue {
  private readonly engine: LedgerEngine
  private readonly depthMax: number
  private readonly batchSizeMax: number
  private waiting: Waiting[] = []
  private unanswered = 0
  private scheduled = false
  private closed = false
  private idle: Array<() => void> = []

  constructor (engine: LedgerEngine, limits: { depthMax?: number, batchSizeMax?: number } = {}) {
    this.engine = engine
    this.depthMax = limits.depthMax ?? TAP_QUEUE_DEPTH_MAX
    this.batchSizeMax = limits.batchSizeMax ?? TAP_BATCH_SIZE_MAX
    if (this.batchSizeMax < 1 || this.depthMax < this.batchSizeMax) throw new Error('tap queue: the queue must hold at least one batch')
  }

  /** Taps accepted and not yet answered. */
  get depth (): number { return this.unanswered }

  submit (job: TapJob): Promise<TapOutcome> {
    if (this.closed) return Promise.reject(overloaded('shutting down'))
    if (this.unanswered >= this.depthMax) return Promise.reject(overloaded('tap queue is full'))
    this.unanswered++
    return new Promise<TapOutcome>((resolve, reject) => {
      this.waiting.push({ job, resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  /** Stops taking taps; resolves when every accepted tap is answered. */
  async close (): Promise<void> {
    this.closed = true
    if (this.unanswered > 0) await new Promise<void>(resolve => this.idle.push(resolve))
  }

  private flush (): void {
    this.scheduled = false
    while (this.waiting.length > 0) {
      const batch = this.waiting.slice(0, this.batchSizeMax)
      this.waiting = this.waiting.slice(batch.length)
      void this.engine.decideTaps(batch.map(w => w.job)).then(
        results => this.answer(batch, results),
        (error: unknown) => this.answer(batch, batch.map(() => failure(error)))
      )
    }
  }

  private answer (batch: Waiting[], results: TapResult[]): void {
    if (results.length !== batch.length) throw new Error(`engine answered ${results.length} of ${batch.length} taps`)
    batch.forEach((waiting, i) => {
      const result = results[i]!
      if (result.ok) waiting.resolve(result.outcome)
      else waiting.reject(new DomainError(result.error.code, result.error.message))
    })
    this.unanswered -= batch.length
    if (this.unanswered === 0 && this.idle.length > 0) {
      const idle = this.idle
      this.idle = []
      for (const resolve of idle) resolve()
    }
  }
}

function failure (error: unknown): TapResult {
  if (error instanceof DomainError) return { ok: false, error: { code: error.code, message: error.message } }
  return { ok: false, error: { code: ErrorCode.OVERLOADED, message: `the ledger did not answer (${(error as Error).message})` } }
}
