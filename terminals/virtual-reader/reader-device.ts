// Puts a ReaderEmulator on a serial device, as the reader's UART would: frames in, replies out, one
// at a time, optionally paced to the baud rate (ptys move bytes at memory speed, a real line does not).
import { EventEmitter } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { encodeFrame, FRAME_OVERHEAD_BYTES, wireMs } from '../../src/reader/frame.js'
import { FrameDecoder } from '../../src/reader/frame-decoder.js'
import { serialPortFactory, type PortFactory, type ReaderPort } from '../../src/reader/port.js'
import { Cmd } from '../../src/reader/protocol.js'
import type { ReaderEmulator } from './reader-emulator.js'

export interface DeviceOptions {
  path: string
  baudRate: number
  openPort?: PortFactory
  /** Model the wire time of each request and reply at baudRate. */
  pace?: boolean
  /** Extra time per APDU, standing in for the card's radio exchange. */
  apduDelayMs?: number
  /** Requests waiting to be answered; more are dropped, like an overrun UART buffer. */
  backlogMax?: number
}

export class VirtualReaderDevice extends EventEmitter {
  private port: ReaderPort | undefined
  private decoder: FrameDecoder | undefined
  private chain: Promise<void> = Promise.resolve()
  private backlog = 0
  private silentUntilMs = 0
  private readonly openPort: PortFactory

  constructor (private readonly emulator: ReaderEmulator, private readonly opts: DeviceOptions) {
    super()
    this.openPort = opts.openPort ?? serialPortFactory
  }

  async open (): Promise<void> {
    const port = this.openPort({ path: this.opts.path, baudRate: this.opts.baudRate })
    const decoder = new FrameDecoder()
    port.on('data', chunk => decoder.write(chunk))
    port.on('error', err => this.emit('port-error', { message: err.message }))
    port.on('close', () => { if (this.port === port) this.emit('port-closed') })
    decoder.on('data', (body: Buffer) => this.enqueue(port, body))
    decoder.on('frame-error', e => this.emit('frame-error', e))
    await new Promise<void>((resolve, reject) => port.open(err => err === null ? resolve() : reject(err)))
    this.port = port
    this.decoder = decoder
  }

  async close (): Promise<void> {
    const port = this.port
    this.port = undefined
    this.decoder?.destroy()
    this.decoder = undefined
    if (port?.isOpen === true) await new Promise<void>(resolve => port.close(() => resolve()))
  }

  /** The reader disappears from the line for `ms` (device closed), then comes back. */
  async unplug (ms: number): Promise<void> {
    await this.close()
    this.emit('unplugged', { ms })
    await sleep(ms)
    await this.open()
    this.emit('replugged')
  }

  /** The reader stays on the line but answers nothing for `ms`. */
  silence (ms: number): void {
    this.silentUntilMs = Date.now() + ms
  }

  private enqueue (port: ReaderPort, body: Buffer): void {
    if (Date.now() < this.silentUntilMs) return
    if (this.backlog >= (this.opts.backlogMax ?? 16)) {
      this.emit('overrun')
      return
    }
    this.backlog++
    this.chain = this.chain
      .then(() => this.answer(port, body))
      .catch((err: Error) => { this.emit('answer-error', { message: err.message }) })
      .finally(() => { this.backlog-- })
  }

  /**
   * Paced, a request takes effect (text on the display, say) only once its last byte would have
   * arrived, and the reply leaves after its own wire time, as on a real line.
   */
  private async answer (port: ReaderPort, body: Buffer): Promise<void> {
    await this.pause(this.wire(body))
    const reply = this.emulator.handle(body)
    if (reply === null) return
    await this.pause((body[1] === Cmd.APDU ? this.opts.apduDelayMs ?? 0 : 0) + this.wire(reply))
    if (port !== this.port || !port.isOpen) return
    port.write(encodeFrame(reply))
  }

  private wire (body: Buffer): number {
    return this.opts.pace === true ? wireMs(body.length + FRAME_OVERHEAD_BYTES, this.opts.baudRate) : 0
  }

  private async pause (ms: number): Promise<void> {
    if (ms > 0) await sleep(ms)
  }
}
