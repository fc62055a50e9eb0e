// A request/answer client for one worker thread (the ledger's writer or reader): numbered
// requests, a bounded number in flight, and every pending request failed with OVERLOADED the moment
// the worker dies, so a caller never waits on a thread that is gone.
import { Worker } from 'node:worker_threads'
import { DomainError, ErrorCode, isErrorCode } from '../errors.js'
import type { WorkerEvent, WorkerRequest, WorkerResponse } from './writer-protocol.js'

interface Pending { resolve: (response: WorkerResponse & { ok: true }) => void, reject: (error: Error) => void }

export class WorkerGoneError extends DomainError {
  constructor (what: string) { super(ErrorCode.OVERLOADED, `${what} is not running: nothing was recorded, retry`) }
}

/** Starts a worker from a module URL: .js directly; .ts through tsx's loader (tsx does not hook a
 *  worker's entry module by itself). */
export function startWorker (entry: URL, workerData: unknown): Worker {
  if (entry.pathname.endsWith('.js')) return new Worker(entry, { workerData })
  const boot = `import('tsx/esm/api').then(api => { api.register(); return import(${JSON.stringify(entry.href)}) })`
  return new Worker(boot, { eval: true, workerData })
}

export class WorkerClient {
  readonly name: string
  private readonly worker: Worker
  private readonly pending = new Map<number, Pending>()
  private readonly inFlightMax: number
  private nextId = 0
  private alive = true
  readonly ready: Promise<void>
  readonly exited: Promise<number>

  constructor (name: string, entry: URL, workerData: unknown, inFlightMax: number) {
    this.name = name
    this.inFlightMax = inFlightMax
    this.worker = startWorker(entry, workerData)
    this.ready = new Promise<void>((resolve, reject) => {
      this.worker.once('error', reject)
      this.worker.on('message', (message: WorkerResponse | WorkerEvent) => {
        if ('type' in message) {
          if (message.type === 'ready') resolve()
          return
        }
        this.settle(message)
      })
    })
    this.exited = new Promise<number>(resolve => {
      this.worker.on('exit', code => {
        this.alive = false
        for (const pending of this.pending.values()) pending.reject(new WorkerGoneError(this.name))
        this.pending.clear()
        resolve(code)
      })
    })
    // An error is followed by 'exit', which fails what is pending; keep the process alive.
    this.worker.on('error', () => {})
  }

  get isAlive (): boolean { return this.alive }
  get inFlight (): number { return this.pending.size }

  request<T> (op: string, args: unknown[]): Promise<{ value: T, batch?: { size: number, commitMs: number } }> {
    if (!this.alive) return Promise.reject(new WorkerGoneError(this.name))
    if (this.pending.size >= this.inFlightMax) return Promise.reject(new DomainError(ErrorCode.OVERLOADED, `${this.name} has too much in flight`))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: r => resolve({ value: r.value as T, batch: r.batch }), reject })
      const request: WorkerRequest = { id, op, args }
      this.worker.postMessage(request)
    })
  }

  async terminate (): Promise<void> {
    await this.worker.terminate()
  }

  unref (): void { this.worker.unref() }

  private settle (response: WorkerResponse): void {
    const pending = this.pending.get(response.id)
    if (pending === undefined) return
    this.pending.delete(response.id)
    if (response.ok) pending.resolve(response)
    else pending.reject(new DomainError(isErrorCode(response.error.code) ? response.error.code : ErrorCode.OVERLOADED, response.error.message))
  }
}
