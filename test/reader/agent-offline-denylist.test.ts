// Deny list refresh by deltas (denylist-refresher.ts, denylist-cache.ts), the heartbeat
// (heartbeat.ts) and the periodic jobs (periodic-task.ts), against the stand-in service.
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { denylistToken } from '../../src/cards/denylist-token.js'
import { openAgentDb } from '../../terminals/agent/agent-db.js'
import { DenylistCache } from '../../terminals/agent/denylist-cache.js'
import { DenylistRefresher } from '../../terminals/agent/denylist-refresher.js'
import { Heartbeat, heartbeatBody } from '../../terminals/agent/heartbeat.js'
import { LinkState } from '../../terminals/agent/link-state.js'
import { OfflineQueue } from '../../terminals/agent/offline-queue.js'
import { PeriodicTask } from '../../terminals/agent/periodic-task.js'
import { signedCall } from '../../terminals/agent/signed-call.js'
import { ManualTimers, settle } from '../helpers/manual-timers.js'
import { offlineService, type OfflineService } from './helpers/offline-service.js'

const SECRET = 'denylist-secret'
const KEY = Buffer.alloc(32, 3)
const KEY_B64 = KEY.toString('base64url')
const tok = (cardNo: string): string => denylistToken(KEY, '370100', cardNo)

interface Rig { svc: OfflineService, cache: DenylistCache, refresher: DenylistRefresher, link: LinkState, queue: OfflineQueue, logs: string[] }

async function rig (t: Test, entriesMax = 100): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'ykt-agent-dl-'))
  const svc = await offlineService(SECRET)
  const db = openAgentDb(join(dir, 'agent.db'))
  t.teardown(async () => { db.close(); await svc.close(); rmSync(dir, { recursive: true, force: true }) })
  const logs: string[] = []
  const push = (_o: object, msg: string): void => { logs.push(msg) }
  const log = { info: push, warn: push, error: push }
  const cache = new DenylistCache(db, entriesMax)
  const link = new LinkState()
  const refresher = new DenylistRefresher(signedCall({ serviceUrl: svc.url, terminalId: 'jn-bus-3', secret: SECRET }), cache, link, log, { budgetMs: 1000 })
  return { svc, cache, refresher, link, queue: new OfflineQueue(db, 10), logs }
}

function listed (cache: DenylistCache): string[] {
  return ['JN0000001', 'JN0000002', 'JN0000003', 'JN0000004'].filter(c => cache.reasonFor(tok(c)) !== undefined)
}

t.test('first a full list, then deltas since the cached version; a full answer replaces the list', async t => {
  const r = await rig(t)
  const asked: Array<string | null> = []
  r.svc.denylist = since => {
    asked.push(since)
    if (since === null) return { status: 200, body: { version: 5, full: true, add: [{ token: tok('JN0000001'), reason: 'lost' }, { token: tok('JN0000002'), reason: 'debt' }], remove: [], tokenKey: KEY_B64 } }
    if (since === '5') return { status: 200, body: { version: 7, full: false, add: [{ token: tok('JN0000003'), reason: 'frozen' }], remove: [tok('JN0000002')], tokenKey: KEY_B64 } }
    return { status: 200, body: { version: 9, full: true, add: [{ token: tok('JN0000004'), reason: 'debt' }], remove: [], tokenKey: KEY_B64 } }
  }
  t.match(await r.refresher.refreshOnce(), { kind: 'applied', version: 5, full: true })
  t.same(listed(r.cache), ['JN0000001', 'JN0000002'])
  t.equal(r.cache.tokenOf('370100', 'JN0000001'), tok('JN0000001'), 'the card token is src/cards/denylist-token.ts under the sent key')
  t.match(await r.refresher.refreshOnce(), { kind: 'applied', version: 7, full: false })
  t.same(listed(r.cache), ['JN0000001', 'JN0000003'])
  t.equal(r.cache.reasonFor(tok('JN0000003')), 'frozen')
  t.match(await r.refresher.refreshOnce(), { kind: 'applied', version: 9, full: true })
  t.same(listed(r.cache), ['JN0000004'], 'full: replaced, not merged')
  t.same(asked, [null, '5', '7'])
  t.ok(r.svc.seen.every(s => s.signatureOk), 'signed GETs, query string included')
  t.equal(r.svc.seen[1]?.path, '/v1/terminal/denylist?since=5')
})

t.test('the list survives a restart: version, key and tokens are in the SQLite file', async t => {
  const r = await rig(t)
  r.cache.apply({ version: 3, full: true, add: [{ token: tok('JN0000001'), reason: 'lost' }], remove: [], tokenKey: KEY_B64 })
  const again = new DenylistCache(r.cache['db'], 100)
  t.equal(again.version, 3)
  t.ok(again.ready)
  t.equal(again.reasonFor(again.tokenOf('370100', 'JN0000001') as string), 'lost')
})

t.test('bounded and checked: a full list too big, a delta that would overflow, a bad answer, a stale delta: cache kept', async t => {
  const r = await rig(t, 2)
  r.cache.apply({ version: 1, full: true, add: [{ token: tok('JN0000001'), reason: 'lost' }], remove: [], tokenKey: KEY_B64 })
  const answers = [
    { version: 2, full: true, add: ['JN0000001', 'JN0000002', 'JN0000003'].map(c => ({ token: tok(c), reason: 'debt' })), remove: [], tokenKey: KEY_B64 },
    { version: 2, full: false, add: ['JN0000002', 'JN0000003'].map(c => ({ token: tok(c), reason: 'debt' })), remove: [] },
    { version: 2, full: false, add: [{ token: 'JN0000002', reason: 'debt' }], remove: [] },
    { version: 2, full: false, add: [], remove: [], tokenKey: 'short' }
  ]
  for (const [i, body] of answers.entries()) {
    r.svc.denylist = () => ({ status: 200, body })
    const out = await r.refresher.refreshOnce()
    t.match(out, { kind: 'refused', code: i < 2 ? 'DENYLIST_TOO_BIG' : 'DENYLIST_INVALID' }, `answer ${i}`)
    t.equal(r.cache.version, 1)
    t.same(listed(r.cache), ['JN0000001'])
  }
  r.svc.denylist = () => ({ status: 200, body: { version: 1, full: false, add: [{ token: tok('JN0000002'), reason: 'debt' }], remove: [] } })
  t.match(await r.refresher.refreshOnce(), { kind: 'stale', version: 1 })
  t.same(listed(r.cache), ['JN0000001'])
})

t.test('a service without the endpoint (404): said once, nothing breaks; unreachable: marked offline', async t => {
  const r = await rig(t)
  t.match(await r.refresher.refreshOnce(), { kind: 'unsupported' })
  t.match(await r.refresher.refreshOnce(), { kind: 'unsupported' })
  t.equal(r.logs.filter(m => /no deny list endpoint/.test(m)).length, 1)
  r.svc.denylist = () => ({ status: 503, body: { error: { code: 'UNAVAILABLE', message: '' } } })
  t.match(await r.refresher.refreshOnce(), { kind: 'unavailable' })
  t.equal(r.link.mode, 'offline')
})

t.test('heartbeat: the body ops see, signed; a 404 from an older service is said once', async t => {
  const r = await rig(t)
  const call = signedCall({ serviceUrl: r.svc.url, terminalId: 'jn-bus-3', secret: SECRET })
  const logs: string[] = []
  const log = { info () {}, warn: (_o: object, m: string) => { logs.push(m) }, error () {} }
  const hb = new Heartbeat(call, () => heartbeatBody(r.queue, r.cache, r.link), log, { budgetMs: 1000 })
  t.match(await hb.beatOnce(), { kind: 'sent' })
  t.same(r.svc.heartbeats[0], { queueDepth: 0, oldestQueuedAt: null, denylistVersion: null, mode: 'online' })
  r.queue.enqueue({ tapId: 'a', atMs: Date.parse('2026-07-01T00:15:30.123Z'), body: Buffer.from('{}'), cardToken: 'c:x', riskToken: null, riskAmountFen: 0 })
  r.queue.enqueue({ tapId: 'b', atMs: Date.parse('2026-07-01T00:20:00.000Z'), body: Buffer.from('{}'), cardToken: 'c:x', riskToken: null, riskAmountFen: 0 })
  r.cache.apply({ version: 12, full: true, add: [], remove: [], tokenKey: KEY_B64 })
  r.link.markOffline()
  await hb.beatOnce()
  t.same(r.svc.heartbeats[1], { queueDepth: 2, oldestQueuedAt: '2026-07-01T00:15:30.123Z', denylistVersion: 12, mode: 'offline' })
  t.ok(r.svc.seen.filter(s => s.path === '/v1/terminal/heartbeat').every(s => s.signatureOk && s.method === 'POST'))
  r.svc.heartbeat = () => ({ status: 404, body: { error: { code: 'NOT_FOUND', message: '' } } })
  t.match(await hb.beatOnce(), { kind: 'unsupported' })
  t.match(await hb.beatOnce(), { kind: 'unsupported' })
  t.equal(logs.filter(m => /no heartbeat endpoint/.test(m)).length, 1)
  t.equal(new LinkState(true).mode, 'offline', 'a terminal set offline reports offline')
})

t.test('periodic jobs run on their interval (manual clock), never overlap, kick runs now', async t => {
  const timers = new ManualTimers()
  let runs = 0
  let release: (() => void) | undefined
  const task = new PeriodicTask('job', 1000, async () => {
    runs++
    await new Promise<void>(resolve => { release = resolve })
  }, () => {}, timers)
  task.start()
  await settle()
  t.equal(runs, 1, 'runs at start')
  await timers.advance(5000)
  t.equal(runs, 1, 'a run in progress is not overlapped')
  task.kick()
  release?.()
  await settle()
  t.equal(runs, 2, 'a kick during a run runs once more right after')
  release?.()
  await settle()
  t.same(timers.armedMs, [1000], 'then the next run is one interval away')
  await timers.advance(1000)
  t.equal(runs, 3)
  task.stop()
  release?.()
  await task.idle()
  t.same(timers.armedMs, [], 'stopped: nothing armed')
})
