// Group commit: taps that arrive together are decided in arrival order inside ONE write
// transaction, committed with one fsync, and only then answered.
//
// Back of the envelope (measured here): a commit with synchronous=FULL costs ≈ 0.2 ms of fsync,
// a tap's decide-and-insert ≈ 20–40 µs. One commit per tap caps out near 5,000 taps/s with the
// event loop blocked on fsync the whole time; batching N taps spreads the fsync over N.
// The batch is flushed on the next turn of the event loop after the first job arrives (setImmediate),
// so everything parsed in the same I/O phase joins it, and waits are bounded by one loop turn plus
// the previous commit. The queue is bounded: a full queue answers OVERLOADED (503) at once rather
// than growing latency without bound.
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type { Db } from './schema.js'

export interface GroupCommitOptions<Job, Result> {
  db: Db
  /** Decides one job; runs inside the batch transaction, in its own savepoint. */
  processOne: (job: Job) => Result
  batchSizeMax: number
  queueDepthMax: number
  onBatch?: (stats: { size: number, commitMs: number }) => void
}

export class QueueFullError extends Error {
  readonly code = 'QUEUE_FULL'
}

export class CommitFailedError extends Error {
  readonly code = 'COMMIT_FAILED'
}

interface Pending<Job, Result> {
  job: Job
  resolve: (result: Result) => void
  reject: (error: unknown) => void
}

type Settled<Result> = { ok: true, value: Result } | { ok: false, error: unknown }

export class GroupCommitter<Job, Result> {
  private readonly o: GroupCommitOptions<Job, Result>
  private readonly queue: Array<Pending<Job, Result>> = []
  private scheduled = false
  private closed = false
  private readonly runBatch: (batch: Array<Pending<Job, Result>>) => Array<Settled<Result>>
  private readonly runOne: (job: Job) => Result
  private idleWaiters: Array<() => void> = []
  private readonly checkpointer: BackgroundCheckpointer | undefined

  constructor (options: GroupCommitOptions<Job, Result>) {
    if (options.batchSizeMax < 1 || options.queueDepthMax < options.batchSizeMax) throw new Error('bad group commit limits')
    this.o = options
    // A nested better-sqlite3 transaction is a SAVEPOINT: a job that throws rolls back alone.
    this.runOne = options.db.transaction((job: Job) => options.processOne(job))
    this.runBatch = options.db.transaction((batch: Array<Pending<Job, Result>>) => batch.map(p => this.settle(p.job)))
    this.checkpointer = BackgroundCheckpointer.for(options.db)
  }

  get depth (): number { return this.queue.length }

  submit (job: Job): Promise<Result> {
    if (this.closed) return Promise.reject(new QueueFullError('shutting down'))
    if (this.queue.length >= this.o.queueDepthMax) return Promise.reject(new QueueFullError('tap queue is full'))
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ job, resolve, reject })
      this.schedule()
    })
  }

  /** Stops taking jobs and resolves when every queued job is committed and answered. */
  async close (): Promise<void> {
    this.closed = true
    if (this.queue.length > 0) await new Promise<void>(resolve => this.idleWaiters.push(resolve))
    await this.checkpointer?.stop()
  }

  private schedule (): void {
    if (this.scheduled) return
    this.scheduled = true
    setImmediate(() => this.flush())
  }

  private flush (): void {
    this.scheduled = false
    const batch = this.queue.splice(0, this.o.batchSizeMax)
    if (batch.length > 0) this.commit(batch)
    if (this.queue.length > 0) this.schedule()
    else this.notifyIdle()
  }

  private commit (batch: Array<Pending<Job, Result>>): void {
    const started = performance.now()
    let settled: Array<Settled<Result>>
    try {
      settled = this.runBatch(batch)
    } catch (error) {
      // The COMMIT itself failed (disk full, I/O error): nothing in the batch is durable.
      const failure = new CommitFailedError(`ledger commit failed: ${(error as Error).message}`)
      for (const p of batch) p.reject(failure)
      return
    }
    this.checkpointer?.start()
    this.o.onBatch?.({ size: batch.length, commitMs: performance.now() - started })
    for (let i = 0; i < batch.length; i++) {
      const outcome = settled[i]!
      if (outcome.ok) batch[i]!.resolve(outcome.value)
      else batch[i]!.reject(outcome.error)
    }
  }

  private settle (job: Job): Settled<Result> {
    try {
      return { ok: true, value: this.runOne(job) }
    } catch (error) {
      return { ok: false, error }
    }
  }

  private notifyIdle (): void {
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const w of waiters) w()
  }
}

// WAL checkpoints off the event loop. Measured (bench/PERFORMANCE.md, 3,000 taps/s): SQLite's
// automatic checkpoint runs inside the COMMIT that takes the WAL past 1,000 pages, on the event
// loop: it copies those pages into the database file and fsyncs it, stalling every answer in flight,
// and longer on a large file: p99 ~5.4 ms on an empty ledger, ~11.7 ms with 10 M taps (~4 ms on
// both with no checkpoint at all). Here a worker thread with its own connection runs a PASSIVE
// checkpoint (it never blocks the writer) every 5 ms, so the copying and the database fsync leave
// the event loop: p99 ~4.1 ms empty, ~4.8 ms with 10 M taps. Cost: ~10 % of a core; p99.9 on a
// small (empty) ledger rises from ~7 to ~11 ms (its fsyncs compete with the WAL's), while on the
// 10 M-tap ledger it falls from ~14 to ~8 ms.
// The writer keeps SQLite's automatic checkpoint: it now finds the WAL already copied, so it copies
// and syncs nothing, and the WAL still restarts from its beginning (measured: stays ~6 MB at full
// load); should the worker stall or die, the automatic checkpoint simply does the work again.
// Durability is unchanged: every COMMIT still fsyncs the WAL before a tap is answered.
const CHECKPOINT_INTERVAL_MS = 5

const CHECKPOINT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.path, { fileMustExist: true })
db.pragma('busy_timeout = 0')
db.pragma('synchronous = FULL')
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)')
// A checkpoint another connection is running answers busy: this one is skipped, not an error.
const timer = setInterval(() => checkpoint.get(), workerData.intervalMs)
parentPort.once('message', () => {
  clearInterval(timer)
  db.close()
  parentPort.close()
})
`

class BackgroundCheckpointer {
  private worker: Worker | undefined
  private stopped = false
  private failed = false
  private readonly path: string

  private constructor (path: string) { this.path = path }

  /** Only a file ledger in WAL mode has checkpoints to move (an in-memory one has no WAL). */
  static for (db: Db): BackgroundCheckpointer | undefined {
    if (db.memory || db.readonly || String(db.pragma('journal_mode', { simple: true })) !== 'wal') return undefined
    return new BackgroundCheckpointer(db.name)
  }

  /** Started on the first commit, so a ledger that never takes a tap never starts a thread. */
  start (): void {
    if (this.worker !== undefined || this.stopped || this.failed) return
    const driver = createRequire(import.meta.url).resolve('better-sqlite3')
    const worker = new Worker(CHECKPOINT_WORKER, { eval: true, workerData: { driver, path: this.path, intervalMs: CHECKPOINT_INTERVAL_MS } })
    worker.unref()
    // A failed worker leaves checkpoints to SQLite's automatic ones, as before it existed.
    worker.on('error', () => { this.failed = true; this.worker = undefined })
    this.worker = worker
  }

  /** Closes the worker's connection first, so the ledger's own close is the last one (SQLite then
   *  checkpoints and removes the WAL, as without the worker). */
  async stop (): Promise<void> {
    this.stopped = true
    const worker = this.worker
    if (worker === undefined) return
    this.worker = undefined
    const exited = new Promise<void>(resolve => worker.once('exit', () => resolve()))
    worker.postMessage('stop')
    const timer = setTimeout(() => { void worker.terminate() }, 2_000)
    await exited
    clearTimeout(timer)
  }
}
