// WAL checkpoints off the writer. Measured (bench/PERFORMANCE.md, 3,000 taps/s): SQLite's
// automatic checkpoint runs inside the COMMIT that takes the WAL past 1,000 pages: it copies those
// pages into the database file and fsyncs it, stalling every answer of that batch, and longer on a
// large file: p99 ~5.4 ms on an empty ledger, ~11.7 ms with 10 M taps (~4 ms on both with no
// checkpoint at all). A worker thread with its own connection runs a PASSIVE checkpoint (it never
// blocks the writer) every CHECKPOINT_INTERVAL_MS, so the copying and the database fsync leave the
// writer. The writer keeps SQLite's automatic checkpoint: it finds the WAL already copied, so it
// copies and syncs nothing; should this worker die, it is started again (with a pause), and until
// then the automatic checkpoint does the work. Durability is unchanged: every COMMIT still fsyncs
// the WAL before a tap is answered.
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { CHECKPOINT_INTERVAL_MS, WRITER_RESTART_DELAY_MS_MAX } from '../constants.js'

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

export class BackgroundCheckpointer {
  private worker: Worker | undefined
  private stopped = false
  private restartTimer: NodeJS.Timeout | undefined
  private readonly path: string
  /** How many times the worker died and was started again (a metric for ops, and for tests). */
  restarts = 0

  constructor (path: string) { this.path = path }

  start (): void {
    if (this.worker !== undefined || this.stopped) return
    const driver = createRequire(import.meta.url).resolve('better-sqlite3')
    const worker = new Worker(CHECKPOINT_WORKER, { eval: true, workerData: { driver, path: this.path, intervalMs: CHECKPOINT_INTERVAL_MS } })
    worker.unref()
    worker.on('error', () => {})
    worker.on('exit', () => {
      if (this.worker !== worker) return
      this.worker = undefined
      if (this.stopped) return
      this.restarts++
      this.restartTimer = setTimeout(() => this.start(), WRITER_RESTART_DELAY_MS_MAX)
      this.restartTimer.unref()
    })
    this.worker = worker
  }

  /** For fault tests: the worker dies as if it crashed. */
  async kill (): Promise<void> {
    await this.worker?.terminate()
  }

  get running (): boolean { return this.worker !== undefined }

  /** Closes the worker's connection first, so the ledger's own close is the last one (SQLite then
   *  checkpoints and removes the WAL, as without the worker). */
  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.restartTimer)
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
