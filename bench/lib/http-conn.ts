// A minimal keep-alive HTTP/1.1 client connection for the load generator: one request in flight,
// requests written as precomputed byte buffers, answers framed by Content-Length only.
//
// Why not undici or autocannon: the generator shares this machine's 2 cores with the server it
// measures, so every microsecond it spends per request is taken from the server. Measured here
// against the empty baseline route, 64 connections, closed loop (bench/PERFORMANCE.md): this client
// 11–12 µs of CPU a request, an undici 6.29 Pool 18–20 µs, and undici saturates its core (97 %)
// below the empty route's rate, so the ceiling would measure the generator. It refuses anything it
// does not understand (chunked answers, pipelined bytes) rather than guessing: counted as an error.
import { connect, type Socket } from 'node:net'

export interface Answer {
  status: number
  bodyBytes: number
  /** Set when the exchange failed (socket error, closed early, unparseable answer). */
  error?: string
}

const HEADER_END = Buffer.from('\r\n\r\n')
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i
const HEADER_BYTES_MAX = 16 * 1024

export class HttpConn {
  private socket: Socket | undefined
  private buffered: Buffer | undefined
  private done: ((answer: Answer) => void) | undefined
  private readonly host: string
  private readonly port: number
  busy = false

  constructor (host: string, port: number) {
    this.host = host
    this.port = port
  }

  /** Opens the TCP connection now, so the measured phase does not pay for connects. */
  async open (): Promise<void> {
    const socket = this.connectSocket()
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
  }

  send (request: Buffer, done: (answer: Answer) => void): void {
    if (this.busy) throw new Error('HttpConn.send while busy')
    this.busy = true
    this.done = done
    this.buffered = undefined
    const socket = this.socket ?? this.connectSocket()
    socket.write(request)
  }

  close (): void {
    this.socket?.destroy()
    this.socket = undefined
  }

  private connectSocket (): Socket {
    const socket = connect({ host: this.host, port: this.port, noDelay: true })
    this.socket = socket
    socket.on('data', chunk => this.onData(chunk))
    socket.on('error', error => this.finish({ status: 0, bodyBytes: 0, error: error.message }, true))
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined
      this.finish({ status: 0, bodyBytes: 0, error: 'connection closed before the answer' }, false)
    })
    return socket
  }

  private onData (chunk: Buffer): void {
    if (this.done === undefined) { this.finish({ status: 0, bodyBytes: 0, error: 'bytes with no request in flight' }, true); return }
    const data = this.buffered === undefined ? chunk : Buffer.concat([this.buffered, chunk])
    const headerEnd = data.indexOf(HEADER_END)
    if (headerEnd < 0) {
      if (data.length > HEADER_BYTES_MAX) this.finish({ status: 0, bodyBytes: 0, error: 'header too long' }, true)
      else this.buffered = data
      return
    }
    const head = data.toString('latin1', 0, headerEnd)
    const length = CONTENT_LENGTH.exec(head)
    if (length === null) { this.finish({ status: 0, bodyBytes: 0, error: 'answer without Content-Length' }, true); return }
    const bodyBytes = Number(length[1])
    const total = headerEnd + 4 + bodyBytes
    if (data.length < total) { this.buffered = data; return }
    if (data.length > total) { this.finish({ status: 0, bodyBytes: 0, error: 'unexpected bytes after the answer' }, true); return }
    this.buffered = undefined
    const status = Number(head.slice(9, 12))
    // A server that announces close will close: reconnect for the next request.
    if (/\r\nconnection:\s*close/i.test(head)) this.close()
    this.finish({ status, bodyBytes }, false)
  }

  private finish (answer: Answer, destroy: boolean): void {
    if (destroy) this.close()
    const done = this.done
    if (done === undefined) return
    this.done = undefined
    this.busy = false
    done(answer)
  }
}
