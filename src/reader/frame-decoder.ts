// Turns a serial byte stream into frame bodies. Bytes arrive in arbitrary chunks, with line noise
// and the occasional corrupted frame; the decoder never trusts a frame until ETX and BCC check out,
// and on any doubt drops one byte (the STX it started from) and looks for the next STX, so a real
// frame hiding inside a false start is still found.
import { Transform, type TransformCallback } from 'node:stream'
import { bcc, ETX, FRAME_BODY_BYTES_MAX, FRAME_BODY_BYTES_MIN, FRAME_OVERHEAD_BYTES, STX } from './frame.js'

export type FrameErrorKind = 'NOISE' | 'LEN_OUT_OF_RANGE' | 'BAD_ETX' | 'BAD_BCC' | 'STALLED'

export interface FrameError { kind: FrameErrorKind, bytesDropped: number }

export interface FrameDecoderOptions {
  bodyBytesMax?: number
  bodyBytesMin?: number
  /**
   * A partial frame that gets no new byte for this long is abandoned (its STX dropped, the rest
   * rescanned). Without it, a noise STX followed by a large LEN would swallow the real reply and
   * hold it until enough later bytes arrived. 0 disables.
   */
  stallMsMax?: number
}

export interface FrameDecoderStats {
  frames: number
  noiseBytes: number
  lenOutOfRange: number
  badEtx: number
  badBcc: number
  stalls: number
}

/** Writable side takes Buffers; readable side (object mode) yields one Buffer per frame body. */
export class FrameDecoder extends Transform {
  readonly stats: FrameDecoderStats = { frames: 0, noiseBytes: 0, lenOutOfRange: 0, badEtx: 0, badBcc: 0, stalls: 0 }
  private buf: Buffer = Buffer.alloc(0)
  private readonly bodyBytesMax: number
  private readonly bodyBytesMin: number
  private readonly stallMsMax: number
  private stallTimer: NodeJS.Timeout | undefined

  constructor (opts: FrameDecoderOptions = {}) {
    super({ readableObjectMode: true })
    this.bodyBytesMax = opts.bodyBytesMax ?? FRAME_BODY_BYTES_MAX
    this.bodyBytesMin = opts.bodyBytesMin ?? FRAME_BODY_BYTES_MIN
    this.stallMsMax = opts.stallMsMax ?? 50
  }

  override _transform (chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
    this.scan()
    done()
  }

  /** End of input: a partial frame will never complete, but a real frame may hide inside it. */
  override _flush (done: TransformCallback): void {
    while (this.buf.length > 0) {
      this.dropStx('STALLED')
      this.scan()
    }
    this.clearStall()
    done()
  }

  override _destroy (err: Error | null, done: (err: Error | null) => void): void {
    this.clearStall()
    done(err)
  }

  private scan (): void {
    this.clearStall()
    for (;;) {
      this.skipNoise()
      if (this.buf.length < 3) break
      const len = this.buf.readUInt16BE(1)
      if (len < this.bodyBytesMin || len > this.bodyBytesMax) { this.dropStx('LEN_OUT_OF_RANGE'); continue }
      const total = len + FRAME_OVERHEAD_BYTES
      if (this.buf.length < total) { this.armStall(); break }
      if (this.buf[3 + len] !== ETX) { this.dropStx('BAD_ETX'); continue }
      if (this.buf[4 + len] !== bcc(this.buf, 4 + len)) { this.dropStx('BAD_BCC'); continue }
      const body = Buffer.from(this.buf.subarray(3, 3 + len))
      this.buf = this.buf.subarray(total)
      this.stats.frames++
      this.push(body)
    }
    // What is left is at most one partial frame (bounded by bodyBytesMax); copy it so a large
    // noisy chunk it was cut from can be collected.
    if (this.buf.length > 0 && this.buf.buffer.byteLength > this.buf.length * 4) this.buf = Buffer.from(this.buf)
  }

  private skipNoise (): void {
    if (this.buf.length === 0 || this.buf[0] === STX) return
    const at = this.buf.indexOf(STX)
    const dropped = at < 0 ? this.buf.length : at
    this.buf = at < 0 ? Buffer.alloc(0) : this.buf.subarray(at)
    this.stats.noiseBytes += dropped
    this.fail('NOISE', dropped)
  }

  private dropStx (kind: Exclude<FrameErrorKind, 'NOISE'>): void {
    this.buf = this.buf.subarray(1)
    if (kind === 'LEN_OUT_OF_RANGE') this.stats.lenOutOfRange++
    else if (kind === 'BAD_ETX') this.stats.badEtx++
    else if (kind === 'BAD_BCC') this.stats.badBcc++
    else this.stats.stalls++
    this.fail(kind, 1)
  }

  private fail (kind: FrameErrorKind, bytesDropped: number): void {
    const err: FrameError = { kind, bytesDropped }
    this.emit('frame-error', err)
  }

  private armStall (): void {
    if (this.stallMsMax <= 0) return
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined
      this.dropStx('STALLED')
      this.scan()
    }, this.stallMsMax)
    this.stallTimer.unref()
  }

  private clearStall (): void {
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer)
    this.stallTimer = undefined
  }
}
