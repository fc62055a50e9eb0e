// A stand-in for the service's terminal endpoints that the offline agent uses, as the contract says
// (api-v1.1 + the brief for the deny list's tokenKey and the heartbeat), for as long as the real
// service does not have them: POST /v1/taps, POST /v1/taps/batch (items may carry "offline": true;
// idempotent on tapId + body: the same body replays, another answers 409), GET /v1/terminal/denylist,
// POST /v1/terminal/heartbeat, GET /v1/terminal/me. Every request's signature is checked like the
// service does (src/auth/signature.ts) and recorded.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { bodySha256Hex, sign } from '../../../src/auth/signature.js'

export interface Seen { method: string, path: string, raw: Buffer, signatureOk: boolean }
export type Reply = { status: number, body?: unknown } | 'hang'
export type ItemReply = (tap: Record<string, unknown>, raw: string) => { status: number, tap?: unknown, error?: unknown } | undefined

export interface OfflineService {
  url: string
  seen: Seen[]
  /** Batches as received: the tapIds of each, in order. */
  batches: string[][]
  /** tapId → body bytes the service recorded (first time seen with a 200). */
  recorded: Map<string, string>
  /** How often each tapId was recorded for the first time (must stay 1). */
  recordCount: Map<string, number>
  heartbeats: unknown[]
  tap: (body: Record<string, unknown>) => Reply
  batch: () => Reply | undefined
  item: ItemReply
  denylist: (since: string | null) => Reply
  heartbeat: () => Reply
  me: () => Reply
  close: () => Promise<void>
}

export async function offlineService (secret: string): Promise<OfflineService> {
  const svc: OfflineService = {
    url: '',
    seen: [],
    batches: [],
    recorded: new Map(),
    recordCount: new Map(),
    heartbeats: [],
    tap: () => 'hang',
    batch: () => undefined,
    item: () => undefined,
    denylist: () => ({ status: 404, body: { error: { code: 'NOT_FOUND', message: '' } } }),
    heartbeat: () => ({ status: 204 }),
    me: () => ({ status: 200, body: { terminalId: 't', scenario: 'bus', city: 'jinan' } }),
    close: async () => {}
  }
  const server = createServer((req, res) => { void handle(svc, secret, req, res) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  svc.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  svc.close = () => new Promise(resolve => { server.closeAllConnections(); server.close(() => resolve()) })
  return svc
}

async function handle (svc: OfflineService, secret: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  const raw = Buffer.concat(chunks)
  const path = req.url ?? ''
  const method = req.method ?? ''
  const expected = sign(secret, method, path, String(req.headers['x-timestamp']), bodySha256Hex(raw))
  const signatureOk = expected === req.headers['x-signature']
  svc.seen.push({ method, path, raw, signatureOk })
  if (!signatureOk) return send(res, { status: 401, body: { error: { code: 'BAD_SIGNATURE', message: '' } } })
  const url = new URL(path, 'http://x')
  if (method === 'POST' && url.pathname === '/v1/taps') return send(res, svc.tap(JSON.parse(raw.toString('utf8')) as Record<string, unknown>))
  if (method === 'POST' && url.pathname === '/v1/taps/batch') return send(res, batch(svc, raw))
  if (method === 'GET' && url.pathname === '/v1/terminal/denylist') return send(res, svc.denylist(url.searchParams.get('since')))
  if (method === 'GET' && url.pathname === '/v1/terminal/me') return send(res, svc.me())
  if (method === 'POST' && url.pathname === '/v1/terminal/heartbeat') {
    const r = svc.heartbeat()
    if (r !== 'hang' && r.status === 204) svc.heartbeats.push(JSON.parse(raw.toString('utf8')))
    return send(res, r)
  }
  send(res, { status: 404, body: { error: { code: 'NOT_FOUND', message: '' } } })
}

function batch (svc: OfflineService, raw: Buffer): Reply {
  const text = raw.toString('utf8')
  const taps = (JSON.parse(text) as { taps: Array<Record<string, unknown>> }).taps
  svc.batches.push(taps.map(t => String(t.tapId)))
  const whole = svc.batch()
  if (whole !== undefined) return whole
  const results = taps.map(tap => {
    const tapRaw = JSON.stringify(tap)
    const custom = svc.item(tap, tapRaw)
    if (custom !== undefined) return custom
    const id = String(tap.tapId)
    const before = svc.recorded.get(id)
    if (before !== undefined && before !== tapRaw) return { status: 409, error: { code: 'TAP_CONFLICT', message: 'another body' } }
    if (before === undefined) {
      svc.recorded.set(id, tapRaw)
      svc.recordCount.set(id, (svc.recordCount.get(id) ?? 0) + 1)
    }
    return { status: 200, tap: { tapId: id, decision: 'approved', amount: 200, message: { zh: '成功', en: 'Approved' } } }
  })
  return { status: 200, body: { results } }
}

function send (res: ServerResponse, r: Reply): void {
  if (r === 'hang' || res.destroyed) return
  if (r.body === undefined) {
    res.writeHead(r.status).end()
    return
  }
  res.writeHead(r.status, { 'content-type': 'application/json' }).end(JSON.stringify(r.body))
}
