// The reader's side of the protocol, as firmware would run it: answers request bodies with reply
// bodies, holds the card in the field and the last scanned QR code, and reports what the host asked
// it to show (display, beeper, LEDs) as events a test or a person can watch.
import { EventEmitter } from 'node:events'
import {
  Cmd, decodeRequest, DISPLAY_TEXT_BYTES_MAX, encodeReply, LedBit, PollFlag, QR_PAYLOAD_BYTES_MAX, Status, TextEncoding
} from '../../src/reader/protocol.js'
import type { VirtualCard } from './virtual-card.js'

export const FIRMWARE_INFO = 'YKT-VR1 virtual reader fw1.0'

export interface DisplayEvent { text: string, encoding: 'utf-8' | 'gbk' }
export interface BeepEvent { count: number, onMs: number, offMs: number }
export interface LedEvent { red: boolean, green: boolean, yellow: boolean, durationMs: number }

interface Outcome { status: number, data?: Uint8Array }

export interface EmulatorOptions {
  /** How long the last reply is kept to answer a resend (same SEQ, CMD, DATA) without redoing it. */
  replyCacheMs?: number
  now?: () => number
}

const decoders = { 'utf-8': new TextDecoder('utf-8', { fatal: true }), gbk: new TextDecoder('gbk', { fatal: true }) }

export class ReaderEmulator extends EventEmitter {
  private card: VirtualCard | undefined
  private cardActive = false
  private qr: Buffer | undefined
  private last: { request: Buffer, reply: Buffer, atMs: number } | undefined
  private readonly replyCacheMs: number
  private readonly now: () => number

  constructor (opts: EmulatorOptions = {}) {
    super()
    this.replyCacheMs = opts.replyCacheMs ?? 3000
    this.now = opts.now ?? Date.now
  }

  get cardInField (): VirtualCard | undefined { return this.card }

  present (card: VirtualCard): void {
    this.card = card
    this.cardActive = false
    this.last = undefined
  }

  remove (): void {
    this.card = undefined
    this.cardActive = false
    this.last = undefined
  }

  /** Latest scan wins, as on a scanner that keeps reading the phone held in front of it. */
  scanQr (payload: Buffer): void {
    if (payload.length === 0 || payload.length > QR_PAYLOAD_BYTES_MAX) {
      throw new RangeError(`QR payload must be 1..${QR_PAYLOAD_BYTES_MAX} bytes`)
    }
    this.qr = payload
  }

  /** Answers one request body; null when it is not even a request (too short to echo). */
  handle (body: Buffer): Buffer | null {
    if (body.length < 2) return null
    const last = this.last
    if (last !== undefined && body.equals(last.request) && this.now() - last.atMs <= this.replyCacheMs) {
      this.emit('resend', { seq: body[0] })
      return last.reply
    }
    const req = decodeRequest(body)
    const out = this.execute(req.cmd, req.data)
    const reply = encodeReply(req.seq, req.cmd, out.status, out.data)
    // BUSY means "not done": a resend must be tried for real, so it is not cached.
    this.last = out.status === Status.BUSY ? undefined : { request: Buffer.from(body), reply, atMs: this.now() }
    return reply
  }

  private execute (cmd: number, data: Buffer): Outcome {
    switch (cmd) {
      case Cmd.INFO: return { status: Status.OK, data: Buffer.from(FIRMWARE_INFO) }
      case Cmd.POLL: return { status: Status.OK, data: Buffer.from([this.pollFlags()]) }
      case Cmd.CARD_RESET: return this.resetCard()
      case Cmd.APDU: return this.apdu(data)
      case Cmd.CARD_OFF: this.cardActive = false; return { status: Status.OK }
      case Cmd.QR_READ: return this.takeQr()
      case Cmd.DISPLAY: return this.display(data)
      case Cmd.BEEP: return this.beep(data)
      case Cmd.LED: return this.led(data)
      default: return { status: Status.UNKNOWN_COMMAND }
    }
  }

  private pollFlags (): number {
    return (this.card !== undefined ? PollFlag.CARD : 0) | (this.qr !== undefined ? PollFlag.QR : 0)
  }

  private resetCard (): Outcome {
    if (this.card === undefined) return { status: Status.NO_CARD }
    this.cardActive = true
    return { status: Status.OK, data: this.card.reset() }
  }

  private apdu (data: Buffer): Outcome {
    if (this.card === undefined) return { status: Status.NO_CARD }
    if (!this.cardActive) return { status: Status.CARD_MUTE }
    if (data.length < 4) return { status: Status.BAD_DATA }
    return { status: Status.OK, data: this.card.transmit(data) }
  }

  private takeQr (): Outcome {
    const qr = this.qr
    if (qr === undefined) return { status: Status.NO_QR }
    this.qr = undefined
    return { status: Status.OK, data: qr }
  }

  private display (data: Buffer): Outcome {
    const encoding = data[0] === TextEncoding.UTF8 ? 'utf-8' : data[0] === TextEncoding.GBK ? 'gbk' : undefined
    const bytes = data.subarray(1)
    if (encoding === undefined || bytes.length > DISPLAY_TEXT_BYTES_MAX) return { status: Status.BAD_DATA }
    let text: string
    try {
      text = decoders[encoding].decode(bytes)
    } catch {
      return { status: Status.BAD_DATA }
    }
    this.emit('display', { text, encoding } satisfies DisplayEvent)
    return { status: Status.OK }
  }

  private beep (data: Buffer): Outcome {
    const [count, on, off] = data
    if (data.length !== 3 || count === undefined || count < 1 || count > 10) return { status: Status.BAD_DATA }
    this.emit('beep', { count, onMs: (on as number) * 10, offMs: (off as number) * 10 } satisfies BeepEvent)
    return { status: Status.OK }
  }

  private led (data: Buffer): Outcome {
    const [mask, hundreds] = data
    if (data.length !== 2 || mask === undefined || hundreds === undefined) return { status: Status.BAD_DATA }
    const event: LedEvent = {
      red: (mask & LedBit.RED) !== 0, green: (mask & LedBit.GREEN) !== 0, yellow: (mask & LedBit.YELLOW) !== 0, durationMs: hundreds * 100
    }
    this.emit('led', event)
    return { status: Status.OK }
  }
}
