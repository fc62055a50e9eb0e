// Uploading the offline queue (offline-uploader.ts): order, batches, what keeps a row and what
// removes it, expiry, and a kill mid-upload against the real service (POST /v1/taps/batch).
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AT_PAST_MS_MAX_UPLOAD } from '../../src/constants.js'
import { demoSecret } from '../../src/service/demo-seed.js'
import { openAgentDb } from '../../terminals/agent/agent-db.js'
import { LinkState } from '../../terminals/agent/link-state.js'
import { OfflineQueue } from '../../terminals/agent/offline-queue.js'
import { OfflineUploader, type UploaderOptions } from '../../terminals/agent/offline-uploader.js'
import { signedCall } from '../../terminals/agent/signed-call.js'
import { prepareTap } from '../../terminals/agent/tap-body.js'
import { rfc3339Local } from '../../terminals/agent/tap-id.js'
import { buildTestApp } from '../helpers/app.js'
import { offlineService } from './helpers/offline-service.js'

const SECRET = 'upload-secret'
const T0 = Date.parse('2026-07-01T00:00:00Z')
const quietLog = { info () {}, warn () {}, error () {} }
const OPTS: UploaderOptions = { batchSize: 100, budgetMs: 2000, retryDelayMs: 1000, retryDelayMsMax: 60_000, attemptsMax: 5, expireAfterMs: AT_PAST_MS_MAX_UPLOAD, batchesPerDrainMax: 50 }

function tempPath (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ykt-agent-up-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'agent.db')
}

function offlineBody (tapId: string, atMs: number, cardNo = 'JN0000001'): Buffer {
  const tap = prepareTap({ tapId, at: rfc3339Local(atMs), card: { type: 'physical', cardNo, issuer: '370100' }, context: {} }, 'c:x', atMs)
  const b = JSON.parse(tap.body.toString()) as Record<string, unknown>
  return Buffer.from(JSON.stringify({ ...b, offline: true }))
}

async function setup (t: Test, opts: Partial<UploaderOptions> = {}, terminalId = 'jn-bus-9'): Promise<{ svc: Awaited<ReturnType<typeof offlineService>>, queue: OfflineQueue, up: OfflineUploader, link: LinkState, clock: { now: number } }> {
  const svc = await offlineService(SECRET)
  t.teardown(async () => await svc.close())
  const clock = { now: T0 }
  const queue = new OfflineQueue(openAgentDb(tempPath(t)), 10_000, () => clock.now)
  t.teardown(() => queue.db.close())
  const link = new LinkState()
  const up = new OfflineUploader(signedCall({ serviceUrl: svc.url, terminalId, secret: SECRET }), queue, link, quietLog, { ...OPTS, ...opts, now: () => clock.now })
  return { svc, queue, up, link, clock }
}

function fill (queue: OfflineQueue, n: number, order: (i: number) => number = i => i): void {
  for (let i = 0; i < n; i++) {
    const k = order(i)
    queue.enqueue({ tapId: `tap-${String(k).padStart(3, '0')}`, atMs: T0 - 3_600_000 + k * 1000, body: offlineBody(`tap-${String(k).padStart(3, '0')}`, T0 - 3_600_000 + k * 1000), cardToken: 'c:x', riskToken: null, riskAmountFen: 0 })
  }
}

t.test('uploads oldest at first, in batches of at most batchSize, each body byte-identical and signed', async t => {
  const { svc, queue, up } = await setup(t, { batchSize: 4 })
  fill(queue, 10, i => (i * 7) % 10) // queued out of at order
  const bodies = new Map(queue.due(Number.MAX_SAFE_INTEGER, 100).map(r => [r.tapId, r.body.toString()]))
  const r = await up.drain()
  t.equal(r.batches, 3)
  t.same(svc.batches.map(b => b.length), [4, 4, 2])
  t.same(svc.batches.flat(), [...bodies.keys()].sort(), 'at order, oldest first')
  t.ok(svc.seen.every(s => s.signatureOk))
  for (const [id, body] of bodies) t.equal(svc.recorded.get(id), body, `${id} sent as queued`)
  t.equal(queue.depth, 0)
})

t.test('a 5xx or a timeout keeps every row and backs off; the next batch is the same oldest taps', async t => {
  const { svc, queue, up, clock, link } = await setup(t, { batchSize: 2, budgetMs: 100 })
  fill(queue, 3)
  svc.batch = () => ({ status: 503, body: { error: { code: 'UNAVAILABLE', message: '' } } })
  t.match(await up.drain(), { batches: 0, last: { kind: 'failed', reason: /503/ } })
  t.equal(queue.depth, 3)
  t.equal(link.mode, 'offline')
  t.match(await up.uploadOnce(), { kind: 'waiting', untilMs: T0 + 1000 }, 'backs off from retryDelayMs')
  clock.now += 1000
  svc.batch = () => 'hang'
  t.match(await up.uploadOnce(), { kind: 'failed', reason: /no answer within 100 ms/ })
  t.match(await up.uploadOnce(), { kind: 'waiting', untilMs: clock.now + 2000 }, 'doubled')
  clock.now += 2000
  svc.batch = () => undefined
  await up.drain()
  t.same(svc.batches, [['tap-000', 'tap-001'], ['tap-000', 'tap-001'], ['tap-000', 'tap-001'], ['tap-002']])
  t.equal(queue.depth, 0)
  t.equal(link.mode, 'online')
})

t.test('per tap: 200 removes, a final 4xx moves to dead letters, a 5xx keeps (until its last allowed send)', async t => {
  const { svc, queue, up, clock } = await setup(t, { attemptsMax: 2 })
  fill(queue, 4)
  svc.item = tap => {
    if (tap.tapId === 'tap-001') return { status: 409, error: { code: 'TAP_CONFLICT', message: '' } }
    if (tap.tapId === 'tap-002') return { status: 400, error: { code: 'AT_OUT_OF_RANGE', message: '' } }
    if (tap.tapId === 'tap-003') return { status: 500, error: { code: 'INTERNAL', message: '' } }
    return undefined
  }
  t.match(await up.uploadOnce(), { kind: 'sent', sent: 4, done: 1, dead: 2, kept: 1 })
  t.same(queue.due(Number.MAX_SAFE_INTEGER, 10).map(r => r.tapId), ['tap-003'])
  t.same(queue.deadLetters().map(d => [d.tapId, d.reason, d.status, d.code]), [['tap-001', 'REFUSED', 409, 'TAP_CONFLICT'], ['tap-002', 'REFUSED', 400, 'AT_OUT_OF_RANGE']])
  t.match(await up.uploadOnce(), { kind: 'idle' }, 'the 5xx tap waits its back-off')
  clock.now += 1000
  t.match(await up.uploadOnce(), { kind: 'sent', dead: 1 }, 'second 5xx: its last allowed send')
  t.match(queue.deadLetters().find(d => d.tapId === 'tap-003'), { reason: 'RETRIES_EXHAUSTED', attempts: 2 })
  t.equal(queue.depth, 0)
})

t.test('a whole batch refused with a 4xx keeps every row (not an answer about any one tap)', async t => {
  const { svc, queue, up } = await setup(t)
  fill(queue, 2)
  svc.batch = () => ({ status: 400, body: { error: { code: 'VALIDATION', message: 'unknown field offline' } } })
  t.match(await up.uploadOnce(), { kind: 'failed', kept: 2 })
  t.equal(queue.depth, 2)
  t.equal(queue.deadLetterCount, 0)
})

t.test('a tap older than the upload window goes to dead letters unsent, and is logged', async t => {
  const { svc, queue, clock } = await setup(t)
  fill(queue, 2)
  clock.now = T0 - 3_600_000 + AT_PAST_MS_MAX_UPLOAD + 1 // tap-000 at +0 s is 1 ms past the window, tap-001 at +1 s is not
  const errors: string[] = []
  const log = { ...quietLog, error: (_o: object, msg: string) => { errors.push(msg) } }
  const up2 = new OfflineUploader(signedCall({ serviceUrl: svc.url, terminalId: 'jn-bus-9', secret: SECRET }), queue, new LinkState(), log, { ...OPTS, now: () => clock.now })
  await up2.drain()
  t.same(svc.batches, [['tap-001']])
  t.match(queue.deadLetters(), [{ tapId: 'tap-000', reason: 'EXPIRED' }])
  t.match(errors, [/older than the upload window/])
})

t.test('real service: killed mid-upload and restarted, every tap is recorded once', async t => {
  const h = await buildTestApp(t)
  const base = await h.app.listen({ port: 0, host: '127.0.0.1' })
  const terminalId = 'jinan-bus-01'
  const path = tempPath(t)
  const now = Date.now()
  const cards = ['JN0000001', 'JN0000002', 'JN0000003']
  // Without "offline": the real batch endpoint refuses fields it does not know yet (api-v1.1 merge pending).
  const q1 = new OfflineQueue(openAgentDb(path), 100)
  for (let i = 0; i < 7; i++) {
    const atMs = now - 600_000 + i * 10_000
    const tap = prepareTap({ tapId: `${terminalId}-up-${i}`, at: rfc3339Local(atMs), card: { type: 'physical', cardNo: cards[i % 3] as string, issuer: '370100' }, context: {} }, 'c:x', atMs)
    q1.enqueue({ tapId: tap.tapId, atMs, body: tap.body, cardToken: 'c:x', riskToken: null, riskAmountFen: 0 })
  }
  let calls = 0
  // The "kill": the service gets and records the second batch, the agent never sees the answer.
  const dyingFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, init)
    await res.clone().arrayBuffer() // the service has answered: it recorded the batch
    if (++calls === 2) throw new TypeError('fetch failed', { cause: new Error('agent killed') })
    return res
  }
  const call1 = signedCall({ serviceUrl: base, terminalId, secret: demoSecret(terminalId), fetch: dyingFetch })
  const up1 = new OfflineUploader(call1, q1, new LinkState(), quietLog, { ...OPTS, batchSize: 3 })
  const first = await up1.drain()
  t.match(first, { batches: 1, last: { kind: 'failed' } }, JSON.stringify(first))
  t.equal(q1.depth, 4, 'the batch whose answer was lost is still queued')
  q1.db.close()

  const q2 = new OfflineQueue(openAgentDb(path), 100)
  t.teardown(() => q2.db.close())
  const up2 = new OfflineUploader(signedCall({ serviceUrl: base, terminalId, secret: demoSecret(terminalId) }), q2, new LinkState(), quietLog, { ...OPTS, batchSize: 3 })
  t.match(await up2.drain(), { batches: 2, done: 4, dead: 0 })
  t.equal(q2.depth, 0)
  t.equal(q2.deadLetterCount, 0)
  const rows = await h.query(`SELECT tap_id, count(*) AS n FROM taps WHERE terminal_id = '${terminalId}' GROUP BY tap_id ORDER BY tap_id`)
  t.equal(rows.length, 7, 'all seven recorded')
  t.ok(rows.every(r => Number(r.n) === 1), 'each exactly once')
})
