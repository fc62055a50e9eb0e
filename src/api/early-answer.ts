// Answers given before the request body was read (401 from header checks, 413 from a declared
// length) must reach the client: the connection is closed after the answer, but only once the rest
// of the body has been read and thrown away (bounded), a "lingering close" as nginx does. Closing a
// socket with unread bytes makes the kernel reset it, and a client still writing its body then gets
// EPIPE/ECONNRESET and never reads the answer. Also: the errors Node raises before any route runs
// (header block too large, request timeout, unparsable request) get the api-v1 error body.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { STATUS_CODES, type IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Socket } from 'node:net'
import { errorBody } from '../errors.js'
import type { HttpLimits } from './http-limits.js'

const LINGERING = Symbol('yikatong.lingering')

function bodyStillComing (raw: IncomingMessage): boolean {
  if (raw.complete) return false
  const length = raw.headers['content-length']
  return raw.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/**
 * Closes `socket` politely: our side is ended (the answer is flushed, then FIN), what the client
 * still sends is read and discarded, and the socket is destroyed when the client is done, or after
 * `lingerBytesMax` bytes or `lingerMs`, whichever comes first.
 */
export function lingeringClose (socket: Duplex, limits: Pick<HttpLimits, 'lingerBytesMax' | 'lingerMs'>): void {
  const s = socket as Duplex & { [LINGERING]?: true }
  if (s[LINGERING] === true || s.destroyed) return
  s[LINGERING] = true
  // Take the socket back from Node's HTTP parser, which reads straight from the handle and stops
  // reading once the unread request body fills its buffer (then the client blocks, we reset it).
  // Node's own upgrade path does the same: unconsume, drop the parser's listeners. These are Node 20
  // internals (socket.parser, socket._handle): test/api/http-limits.test.ts fails if they change.
  const parser = (s as Duplex & { parser?: { unconsume?: () => void } | null }).parser
  parser?.unconsume?.()
  s.removeAllListeners('data')
  s.removeAllListeners('end')
  let bytes = 0
  const timer = setTimeout(() => s.destroy(), limits.lingerMs)
  timer.unref()
  s.on('data', (chunk: Buffer) => {
    bytes += chunk.length
    if (bytes > limits.lingerBytesMax) s.destroy()
  })
  s.once('end', () => s.destroy())
  s.once('close', () => clearTimeout(timer))
  s.end()
  s.resume()
  // The parser had stopped the handle's reads directly; the stream does not know, so restart them.
  const handle = (s as Duplex & { _handle?: { reading?: boolean, readStart?: () => number } | null })._handle
  if (handle != null && handle.reading !== true && typeof handle.readStart === 'function') {
    handle.reading = true
    handle.readStart()
  }
}

/** Node ends a response with "Connection: close" by socket.destroySoon(): make that a lingering close. */
function lingerInsteadOfDestroy (socket: Socket, limits: HttpLimits): void {
  (socket as Socket & { destroySoon: () => void }).destroySoon = () => lingeringClose(socket, limits)
}

export function registerEarlyAnswers (app: FastifyInstance, limits: HttpLimits): void {
  app.addHook('onSend', async (request: FastifyRequest, reply, payload) => {
    if (bodyStillComing(request.raw)) {
      reply.header('connection', 'close')
      lingerInsteadOfDestroy(request.raw.socket, limits)
    }
    return payload
  })
}

/** Fastify's clientErrorHandler: 431 / 408 / 400 with the api-v1 error body, then a lingering close. */
export function clientErrorHandler (limits: HttpLimits): (error: Error & { code?: string }, socket: Duplex) => void {
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return
    const [status, code, message] =
      error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'HEADERS_TOO_LARGE', `request headers over ${limits.headerBytesMax} bytes`]
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'REQUEST_TIMEOUT', `request not received within ${limits.requestTimeoutMs} ms`]
          : [400, 'BAD_REQUEST', 'malformed HTTP request']
    if (socket.writable) {
      const body = JSON.stringify(errorBody(code, message))
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
    }
    lingeringClose(socket, limits)
  }
}
