// GET /console: the ops console, a static page from console/ (our own files, no CDN), and its data:
//   GET /console/api/session   which role the bearer token holds (the page's login check)
//   GET /console/api/stats     counters since start (src/console/console-stats.ts)
//   GET /console/api/live      Server-Sent Events: the buffered decisions, then each new one
// The token travels in the Authorization header only: the page reads the stream with fetch(), not
// EventSource, because EventSource cannot send headers and the token must never be in a URL.
// GET /readyz lives here too: it is what a load balancer or systemd asks before sending traffic.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { roleChecker } from '../auth/ops-role.js'
import { errorBody, ErrorCode, notFound } from '../errors.js'
import type { LiveDecision, LiveFeed } from '../api/live-feed.js'
import type { ConsoleStats } from './console-stats.js'

export const CONSOLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'console')
const ASSETS: Record<string, string> = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'charts.js': 'text/javascript; charset=utf-8'
}
const HEARTBEAT_MS = 15_000
/** Bytes an SSE client may leave unread before it is dropped: a stuck console must not grow our memory. */
const STREAM_BACKLOG_BYTES_MAX = 256 * 1024
/** The page's only sources are this origin: no CDN, no inline script. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

export interface ConsoleRoutesOptions {
  adminToken: string
  opsToken?: string
  liveFeed: LiveFeed
  stats: ConsoleStats
  /** Readiness: ledger writable and the tap queue not near full. */
  ready: () => { ready: boolean, why?: string }
}

export async function consoleRoutes (app: FastifyInstance, o: ConsoleRoutesOptions): Promise<void> {
  const check = roleChecker(o)
  const files = new Map<string, Buffer>()
  for (const name of ['index.html', ...Object.keys(ASSETS)]) files.set(name, readFileSync(join(CONSOLE_DIR, name)))
  const streams = new Set<FastifyReply>()
  let closing = false

  app.get('/readyz', async (_request, reply) => {
    const state = closing ? { ready: false, why: 'shutting down' } : o.ready()
    if (!state.ready) return reply.code(503).send(errorBody(ErrorCode.OVERLOADED, `not ready: ${state.why ?? 'unknown'}`))
    return { status: 'ready' }
  })

  app.get('/console', async (_request, reply) => {
    return reply.type('text/html; charset=utf-8').header('content-security-policy', CSP).header('cache-control', 'no-store').send(files.get('index.html'))
  })
  app.get('/console/assets/:file', {
    schema: { params: { type: 'object', required: ['file'], properties: { file: { type: 'string', pattern: '^[a-z]{1,20}\\.(js|css)$' } } } }
  }, async (request: FastifyRequest<{ Params: { file: string } }>, reply) => {
    const type = ASSETS[request.params.file]
    if (type === undefined) throw notFound('no such asset')
    return reply.type(type).header('cache-control', 'no-cache').send(files.get(request.params.file))
  })

  const authed = async (request: FastifyRequest): Promise<void> => { request.role = check(request.headers.authorization) }
  app.get('/console/api/session', { onRequest: authed }, async (request) => ({ role: request.role }))
  app.get('/console/api/stats', { onRequest: authed }, async () => ({ ...o.stats.view(), live: { subscribers: o.liveFeed.subscriberCount, subscribersMax: o.liveFeed.subscribersMax } }))

  app.get('/console/api/live', { onRequest: authed }, async (request, reply) => {
    const send = (event: LiveDecision): void => {
      const raw = reply.raw
      if (raw.writableLength > STREAM_BACKLOG_BYTES_MAX) { raw.destroy(); return }
      raw.write(`event: decision\ndata: ${JSON.stringify(event)}\n\n`)
    }
    const unsubscribe = o.liveFeed.subscribe(send)
    if (unsubscribe === undefined) {
      return reply.code(503).send(errorBody(ErrorCode.OVERLOADED, `at most ${o.liveFeed.subscribersMax} live streams are open`))
    }
    reply.hijack()
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no', // nginx: do not buffer the stream
      'x-request-id': request.id
    })
    reply.raw.write(': yikatong live decisions\n\n')
    for (const event of o.liveFeed.recent()) send(event)
    const heartbeat = setInterval(() => reply.raw.write(': keep-alive\n\n'), HEARTBEAT_MS)
    heartbeat.unref()
    streams.add(reply)
    reply.raw.on('close', () => { clearInterval(heartbeat); unsubscribe(); streams.delete(reply) })
  })

  // Streams never end by themselves: end them first, or the server's close would wait on them.
  app.addHook('preClose', async () => {
    closing = true
    for (const reply of streams) reply.raw.end()
  })
}

declare module 'fastify' {
  interface FastifyRequest { role?: 'admin' | 'ops' }
}
