// Request ids, the per-request log line, and the line for every rejected request.
// - X-Request-Id: a caller's id is kept when it is short and plain (REQUEST_ID), so one id follows a
//   tap from the terminal through the proxy into our lines; anything else gets a fresh UUID. The id
//   is echoed on every answer.
// - One line per request (the tap route writes its own decision line instead), URL card numbers
//   replaced by tokens, latency rounded.
// - Every 400/401/403/413/415/429 gets a warn line "rejected" with its error code: the terminal a
//   401 spike comes from is then one grep away.
import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { IncomingMessage } from 'node:http'
import { redactUrl, roundMs, type CardTokenizer } from '../log.js'
import type { Metrics } from '../metrics.js'

export const REQUEST_ID_HEADER = 'x-request-id'
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/
export const REJECTED_STATUSES = new Set([400, 401, 403, 413, 415, 429])
const TERMINAL_ID = /^[A-Za-z0-9._-]{1,64}$/
const ERROR_CODE = /^\{"error":\{"code":"([A-Z_]{1,40})"/

/** Fastify's genReqId: the caller's X-Request-Id when valid, else a new UUID. */
export function requestId (request: IncomingMessage): string {
  const presented = request.headers[REQUEST_ID_HEADER]
  return typeof presented === 'string' && REQUEST_ID.test(presented) ? presented : randomUUID()
}

export interface RequestLogOptions {
  metrics: Metrics
  cardToken: CardTokenizer
  /** Told of every rejected request (the console counts them per code and terminal). */
  onRejected?: (code: string, terminalId: string | undefined) => void
}

declare module 'fastify' {
  interface FastifyRequest { errorCode?: string }
}

export function registerRequestLog (app: FastifyInstance, o: RequestLogOptions): void {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header(REQUEST_ID_HEADER, request.id)
    if (reply.statusCode >= 400 && typeof payload === 'string') request.errorCode = ERROR_CODE.exec(payload)?.[1]
    return payload
  })
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    const status = reply.statusCode
    o.metrics.requests.inc({ route, status })
    const latencyMs = roundMs(reply.elapsedTime)
    if (REJECTED_STATUSES.has(status)) {
      const terminal = terminalHeader(request)
      request.log.warn({ method: request.method, url: redactUrl(request.url, o.cardToken, request.routeOptions.url !== undefined), status, code: request.errorCode ?? 'UNKNOWN', terminal, latencyMs }, 'rejected')
      o.onRejected?.(request.errorCode ?? 'UNKNOWN', terminal)
    } else if (route !== '/v1/taps') {
      request.log.info({ method: request.method, url: redactUrl(request.url, o.cardToken, request.routeOptions.url !== undefined), status, latencyMs }, 'request')
    }
  })
}

function terminalHeader (request: FastifyRequest): string | undefined {
  const value = request.headers['x-terminal-id']
  return typeof value === 'string' && TERMINAL_ID.test(value) ? value : undefined
}
