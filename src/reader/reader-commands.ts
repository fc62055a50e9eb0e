// Typed reader commands over the driver: what each command sends and how its reply reads.
import type { ReaderDriver, RequestOptions } from './driver.js'
import { isReaderError, ReaderError } from './errors.js'
import { Cmd, DISPLAY_TEXT_BYTES_MAX, LedBit, PollFlag, TextEncoding } from './protocol.js'

export interface Presence { card: boolean, qr: boolean }
export interface BeepPattern { count: number, onMs: number, offMs: number }
export interface LedPattern { red?: boolean, green?: boolean, yellow?: boolean, durationMs: number }

export const BEEP_COUNT_MAX = 10
/** Beep on/off times go on the wire in 10 ms units, one byte each. */
export const BEEP_MS_MAX = 2550
/** LED duration goes on the wire in 100 ms units, one byte; 0 = stay lit until the next LED. */
export const LED_MS_MAX = 25_500

export class ReaderCommands {
  constructor (readonly driver: ReaderDriver) {}

  async info (): Promise<string> {
    return (await this.driver.request(Cmd.INFO)).toString('utf8')
  }

  async poll (opts?: RequestOptions): Promise<Presence> {
    const data = await this.driver.request(Cmd.POLL, undefined, opts)
    const flags = data[0] ?? 0
    return { card: (flags & PollFlag.CARD) !== 0, qr: (flags & PollFlag.QR) !== 0 }
  }

  /** Powers up / activates the card in the field; returns its ATR. */
  resetCard (): Promise<Buffer> {
    return this.driver.request(Cmd.CARD_RESET)
  }

  /** Sends a command APDU; returns the response APDU (data + SW1 SW2) untouched. */
  apdu (capdu: Uint8Array): Promise<Buffer> {
    return this.driver.request(Cmd.APDU, capdu)
  }

  async cardOff (): Promise<void> {
    await this.driver.request(Cmd.CARD_OFF)
  }

  /** The last QR code the scanner read (consumed by this call), or null when there is none. */
  async readQr (): Promise<Buffer | null> {
    try {
      return await this.driver.request(Cmd.QR_READ)
    } catch (err) {
      if (isReaderError(err, 'READER_NO_QR')) return null
      throw err
    }
  }

  /** Shows text (lines split by "\n") until the next DISPLAY. Sent as UTF-8, cut to fit. */
  async display (text: string): Promise<void> {
    const bytes = fitUtf8(text, DISPLAY_TEXT_BYTES_MAX)
    await this.driver.request(Cmd.DISPLAY, Buffer.concat([Buffer.from([TextEncoding.UTF8]), bytes]))
  }

  async beep (p: BeepPattern): Promise<void> {
    if (!Number.isInteger(p.count) || p.count < 1 || p.count > BEEP_COUNT_MAX) {
      throw new ReaderError('READER_BAD_DATA', `beep count must be 1..${BEEP_COUNT_MAX}`)
    }
    await this.driver.request(Cmd.BEEP, Buffer.from([p.count, tens(p.onMs, BEEP_MS_MAX), tens(p.offMs, BEEP_MS_MAX)]))
  }

  async led (p: LedPattern): Promise<void> {
    const mask = (p.red === true ? LedBit.RED : 0) | (p.green === true ? LedBit.GREEN : 0) | (p.yellow === true ? LedBit.YELLOW : 0)
    const hundreds = Math.round(Math.min(Math.max(p.durationMs, 0), LED_MS_MAX) / 100)
    await this.driver.request(Cmd.LED, Buffer.from([mask, hundreds]))
  }
}

function tens (ms: number, max: number): number {
  return Math.round(Math.min(Math.max(ms, 0), max) / 10)
}

/** UTF-8 bytes of `text`, cut at a character boundary so they fit in `bytesMax`. */
export function fitUtf8 (text: string, bytesMax: number): Buffer {
  let used = 0
  const parts: Buffer[] = []
  for (const ch of text) {
    const b = Buffer.from(ch, 'utf8')
    if (used + b.length > bytesMax) break
    parts.push(b)
    used += b.length
  }
  return Buffer.concat(parts)
}
