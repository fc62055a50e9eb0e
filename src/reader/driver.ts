// Serial link to one card reader: one request in flight, matched to its reply by SEQ, with a
// timeout and bounded resends per request, and reconnection with bounded exponential backoff.
// serialport itself has no read timeout and never reconnects, so both live here.
import { EventEmitter } from 'node:events'
import { ReaderError } from './errors.js'
import { encodeFrame, wireMs } from './frame.js'
import { FrameDecoder, type FrameDecoderOptions } from './frame-decoder.js'
import { cmdName, decodeReply, encodeRequest, Status, statusError, type CmdName } from './protocol.js'
import { serialPortFactory, type PortFactory, type ReaderPort } from './port.js'

/** The reader's own processing time per command; wire time at the baud rate is added on top. */
export const DEFAULT_TIMEOUTS_MS: Record<CmdName, number> = {
  INFO: 200, POLL: 100, CARD_RESET: 400, APDU: 600, CARD_OFF: 150, QR_READ: 150, DISPLAY: 200, BEEP: 150, LED: 150
}

/** Largest reply we expect per command, to budget its wire time. */
const REPLY_BYTES_ALLOWANCE: Record<CmdName, number> = {
  INFO: 72, POLL: 9, CARD_RESET: 41, APDU: 266, CARD_OFF: 8, QR_READ: 520, DISPLAY: 8, BEEP: 8, LED: 8
}

/** The driver's clock: real timers by default; tests inject a manual one to step time exactly. */
export interface DriverTimers {
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
}

const REAL_TIMERS: DriverTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: handle => clearTimeout(handle as NodeJS.Timeout)
}

export interface DriverOptions {
  path: string
  baudRate: number
  openPort?: PortFactory
  timeoutsMs?: Partial<Record<CmdName, number>>
  /** Resends of one request (same SEQ) after a timeout. */
  retriesMax?: number
  /** Requests waiting behind the one in flight. */
  queueLengthMax?: number
  /** Consecutive requests that ran out of retries before the link is declared dead and reopened. */
  silentFailuresMax?: number
  openTimeoutMs?: number
  reconnectDelayMsMin?: number
  reconnectDelayMsMax?: number
  /** Reconnect attempts without a single good reply in between, then the driver gives up. */
  reconnectAttemptsMax?: number
  /** 0..1: each backoff delay is shortened by up to this share at random, so a fleet spreads out. */
  reconnectJitterRatio?: number
  decoder?: FrameDecoderOptions
  random?: () => number
  timers?: DriverTimers
}

export type DriverState = 'idle' | 'opening' | 'open' | 'backoff' | 'closed' | 'gave-up'

export interface RequestOptions { timeoutMs?: number, retriesMax?: number }

interface Job {
  cmd: number
  data: Uint8Array
  opts: RequestOptions
  resolve: (data: Buffer) => void
  reject: (err: Error) => void
}

interface InFlight { job: Job, seq: number, frame: Buffer, attempt: number, timer?: unknown }

interface Waiter { resolve: () => void, reject: (err: Error) => void, timer: unknown }

export class ReaderDriver extends EventEmitter {
  private readonly opts: Required<Omit<DriverOptions, 'timeoutsMs' | 'decoder' | 'timers'>> & { decoder: FrameDecoderOptions }
  private readonly timers: DriverTimers
  private readonly timeoutsMs: Record<CmdName, number>
  private stateNow: DriverState = 'idle'
  private port: ReaderPort | undefined
  private decoder: FrameDecoder | undefined
  private queue: Job[] = []
  private inFlight: InFlight | undefined
  private seq = 0
  private silentFailures = 0
  private reconnectAttempt = 0
  private timer: unknown
  private waiters = new Set<Waiter>()

  constructor (options: DriverOptions) {
    super()
    this.opts = {
      path: options.path,
      baudRate: options.baudRate,
      openPort: options.openPort ?? serialPortFactory,
      retriesMax: options.retriesMax ?? 2,
      queueLengthMax: options.queueLengthMax ?? 8,
      silentFailuresMax: options.silentFailuresMax ?? 3,
      openTimeoutMs: options.openTimeoutMs ?? 2000,
      reconnectDelayMsMin: options.reconnectDelayMsMin ?? 100,
      reconnectDelayMsMax: options.reconnectDelayMsMax ?? 2000,
      reconnectAttemptsMax: options.reconnectAttemptsMax ?? 500,
      reconnectJitterRatio: options.reconnectJitterRatio ?? 0.2,
      decoder: options.decoder ?? {},
      random: options.random ?? Math.random
    }
    this.timeoutsMs = { ...DEFAULT_TIMEOUTS_MS, ...options.timeoutsMs }
    this.timers = options.timers ?? REAL_TIMERS
    // Start somewhere random: a restarted host is then unlikely to reuse the SEQ of the reader's
    // cached last reply (which it would be answered from).
    this.seq = Math.floor(this.opts.random() * 256)
  }

  get state (): DriverState { return this.stateNow }
  get connected (): boolean { return this.stateNow === 'open' }
  get baudRate (): number { return this.opts.baudRate }

  /** Starts connecting in the background; see whenConnected(). */
  start (): void {
    if (this.stateNow !== 'idle') return
    this.connect()
  }

  whenConnected (timeoutMs: number): Promise<void> {
    if (this.stateNow === 'open') return Promise.resolve()
    const ended = this.endedError()
    if (ended !== undefined) return Promise.reject(ended)
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: this.timers.setTimeout(() => {
          this.waiters.delete(waiter)
          reject(new ReaderError('READER_DISCONNECTED', `reader not connected within ${timeoutMs} ms`))
        }, timeoutMs)
      }
      this.waiters.add(waiter)
    })
  }

  /** Sends one command; resolves with the reply data when the reader answers status OK. */
  request (cmd: number, data: Uint8Array = Buffer.alloc(0), opts: RequestOptions = {}): Promise<Buffer> {
    const ended = this.endedError()
    if (ended !== undefined) return Promise.reject(ended)
    if (this.stateNow !== 'open') {
      return Promise.reject(new ReaderError('READER_DISCONNECTED', `reader on ${this.opts.path} is not connected`))
    }
    if (this.queue.length >= this.opts.queueLengthMax) {
      return Promise.reject(new ReaderError('READER_QUEUE_FULL', `${this.queue.length} requests already waiting`))
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ cmd, data, opts, resolve, reject })
      this.pump()
    })
  }

  async close (): Promise<void> {
    if (this.stateNow === 'closed') return
    this.stateNow = 'closed'
    this.timers.clearTimeout(this.timer)
    const err = new ReaderError('READER_CLOSED', 'reader driver closed')
    this.failAll(err)
    this.settleWaiters(err)
    const port = this.port
    this.detach()
    if (port?.isOpen === true) await new Promise<void>(resolve => { port.close(() => resolve()) })
  }

  private endedError (): ReaderError | undefined {
    if (this.stateNow === 'closed') return new ReaderError('READER_CLOSED', 'reader driver closed')
    if (this.stateNow === 'gave-up') {
      return new ReaderError('READER_GAVE_UP', `gave up on ${this.opts.path} after ${this.opts.reconnectAttemptsMax} reconnect attempts`)
    }
    return undefined
  }

  private connect (): void {
    this.stateNow = 'opening'
    let port: ReaderPort
    try {
      port = this.opts.openPort({ path: this.opts.path, baudRate: this.opts.baudRate })
    } catch (err) {
      this.emit('disconnected', { reason: `cannot create port: ${(err as Error).message}` })
      return this.scheduleReconnect()
    }
    const decoder = new FrameDecoder(this.opts.decoder)
    this.port = port
    this.decoder = decoder
    port.on('data', chunk => decoder.write(chunk))
    port.on('close', err => this.linkLost(port, `port closed${err != null ? `: ${err.message}` : ''}`))
    port.on('error', err => this.linkLost(port, `port error: ${err.message}`))
    decoder.on('data', (body: Buffer) => this.onBody(body))
    decoder.on('frame-error', e => this.emit('frame-error', e))
    this.timer = this.timers.setTimeout(() => this.linkLost(port, `open timed out after ${this.opts.openTimeoutMs} ms`), this.opts.openTimeoutMs)
    port.open(err => {
      if (port !== this.port) {
        // Opened after we gave up on it (open timeout): release the device and its lock.
        if (err === null) port.close(() => {})
        return
      }
      this.timers.clearTimeout(this.timer)
      if (err !== null) return this.linkLost(port, `open failed: ${err.message}`)
      this.stateNow = 'open'
      this.emit('connected', { path: this.opts.path, attempt: this.reconnectAttempt })
      this.settleWaiters()
    })
  }

  /** The port is gone or useless: fail what was asked, drop the port, try again later. */
  private linkLost (port: ReaderPort, reason: string): void {
    if (port !== this.port) return
    this.timers.clearTimeout(this.timer)
    this.detach()
    if (port.isOpen) port.close(() => {})
    this.failAll(new ReaderError('READER_DISCONNECTED', `reader link lost: ${reason}`))
    this.emit('disconnected', { reason })
    this.scheduleReconnect()
  }

  private detach (): void {
    const port = this.port
    this.port = undefined
    this.decoder?.destroy()
    this.decoder = undefined
    if (port === undefined) return
    port.removeAllListeners()
    // A late error from a port we have let go must not become an uncaught 'error' event.
    port.on('error', () => {})
  }

  private scheduleReconnect (): void {
    if (this.stateNow === 'closed') return
    this.reconnectAttempt++
    if (this.reconnectAttempt > this.opts.reconnectAttemptsMax) {
      this.stateNow = 'gave-up'
      const err = this.endedError() as ReaderError
      this.emit('gave-up', { attempts: this.opts.reconnectAttemptsMax })
      this.settleWaiters(err)
      return
    }
    const delayMs = this.backoffMs(this.reconnectAttempt)
    this.stateNow = 'backoff'
    this.emit('reconnect-scheduled', { attempt: this.reconnectAttempt, delayMs })
    this.timer = this.timers.setTimeout(() => this.connect(), delayMs)
  }

  private backoffMs (attempt: number): number {
    const { reconnectDelayMsMin: min, reconnectDelayMsMax: max, reconnectJitterRatio: jitter } = this.opts
    const full = Math.min(max, min * 2 ** Math.min(attempt - 1, 30))
    return Math.round(full * (1 - jitter * this.opts.random()))
  }

  private pump (): void {
    if (this.inFlight !== undefined || this.stateNow !== 'open') return
    const job = this.queue.shift()
    if (job === undefined) return
    this.seq = (this.seq + 1) & 0xff
    let frame: Buffer
    try {
      frame = encodeFrame(encodeRequest(this.seq, job.cmd, job.data))
    } catch (err) {
      job.reject(new ReaderError('READER_BAD_DATA', (err as Error).message, { cause: err }))
      return this.pump()
    }
    this.inFlight = { job, seq: this.seq, frame, attempt: 0 }
    this.send(this.inFlight)
  }

  private send (flight: InFlight): void {
    const port = this.port
    if (port === undefined) return
    flight.attempt++
    port.write(flight.frame, err => {
      if (err != null) this.linkLost(port, `write failed: ${err.message}`)
    })
    flight.timer = this.timers.setTimeout(() => this.onTimeout(flight), this.timeoutFor(flight))
  }

  private timeoutFor (flight: InFlight): number {
    const name = cmdName(flight.job.cmd) as CmdName
    const base = flight.job.opts.timeoutMs ?? this.timeoutsMs[name] ?? DEFAULT_TIMEOUTS_MS.APDU
    const replyBytes = REPLY_BYTES_ALLOWANCE[name] ?? REPLY_BYTES_ALLOWANCE.APDU
    return Math.ceil(base + wireMs(flight.frame.length + replyBytes, this.opts.baudRate))
  }

  private onTimeout (flight: InFlight): void {
    if (flight !== this.inFlight) return
    const retriesMax = flight.job.opts.retriesMax ?? this.opts.retriesMax
    if (flight.attempt <= retriesMax) {
      this.emit('retry', { cmd: cmdName(flight.job.cmd), seq: flight.seq, attempt: flight.attempt + 1 })
      return this.send(flight)
    }
    this.finish(flight, new ReaderError('READER_TIMEOUT',
      `no reply to ${cmdName(flight.job.cmd)} (seq ${flight.seq}) after ${flight.attempt} attempts`))
    this.silentFailures++
    if (this.silentFailures >= this.opts.silentFailuresMax && this.port !== undefined) {
      this.linkLost(this.port, `reader silent for ${this.silentFailures} requests`)
    }
  }

  private onBody (body: Buffer): void {
    let reply
    try {
      reply = decodeReply(body)
    } catch {
      this.emit('stale-reply', { reason: 'too short', bytes: body.length })
      return
    }
    const flight = this.inFlight
    if (flight === undefined || reply.seq !== flight.seq || reply.cmd !== flight.job.cmd) {
      this.emit('stale-reply', { seq: reply.seq, cmd: cmdName(reply.cmd) })
      return
    }
    // A well-formed, matching reply proves the reader is alive.
    this.silentFailures = 0
    this.reconnectAttempt = 0
    if (reply.status === Status.OK) this.finish(flight, null, reply.data)
    else this.finish(flight, statusError(reply.cmd, reply.status))
  }

  private finish (flight: InFlight, err: Error | null, data?: Buffer): void {
    this.timers.clearTimeout(flight.timer)
    this.inFlight = undefined
    if (err !== null) flight.job.reject(err)
    else flight.job.resolve(Buffer.from(data ?? Buffer.alloc(0)))
    this.pump()
  }

  private failAll (err: Error): void {
    const flight = this.inFlight
    this.inFlight = undefined
    if (flight !== undefined) {
      this.timers.clearTimeout(flight.timer)
      flight.job.reject(err)
    }
    const queued = this.queue
    this.queue = []
    for (const job of queued) job.reject(err)
  }

  private settleWaiters (err?: Error): void {
    for (const w of this.waiters) {
      this.timers.clearTimeout(w.timer)
      if (err === undefined) w.resolve()
      else w.reject(err)
    }
    this.waiters.clear()
  }
}
