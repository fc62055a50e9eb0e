// The offline decision through the sink the agent loop uses (offline-sink.ts, offline-decider.ts),
// against a stand-in service on 127.0.0.1 (helpers/offline-service.ts).
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { denylistToken } from '../../src/cards/denylist-token.js'
import type { TapCard } from '../../src/reader/presented-card.js'
import { DEFAULTS, type OfflineConfig } from '../../terminals/agent/config.js'
import { OfflineMode } from '../../terminals/agent/offline-mode.js'
import { MemoryPendingTaps } from '../../terminals/agent/pending-taps.js'
import { presentOutcome } from '../../terminals/agent/presenter.js'
import { signedCall } from '../../terminals/agent/signed-call.js'
import { prepareTap, type PreparedTap } from '../../terminals/agent/tap-body.js'
import { tapPoster } from '../../terminals/agent/tap-client.js'
import { rfc3339Local } from '../../terminals/agent/tap-id.js'
import { OnlineTapSink } from '../../terminals/agent/tap-sink.js'
import { ManualTimers } from '../helpers/manual-timers.js'
import { approved } from './helpers/fake-service.js'
import { offlineService, type OfflineService } from './helpers/offline-service.js'

const SECRET = 'offline-secret'
const TERMINAL = 'jn-bus-7'
export const KEY = Buffer.alloc(32, 7)
const CARD = { type: 'physical', cardNo: 'JN0000001', issuer: '370100' } as const
const LOST = { type: 'physical', cardNo: 'JN0000009', issuer: '370100' } as const
const quietLog = { info () {}, warn () {}, error () {} }

interface Rig { svc: OfflineService, mode: OfflineMode, timers: ManualTimers, tap: (card: TapCard, amount?: number) => PreparedTap }

async function rig (t: Test, cfg: Partial<OfflineConfig> = {}, opts: { denylist?: boolean, budgetMs?: number } = {}): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'ykt-agent-off-'))
  const svc = await offlineService(SECRET)
  const timers = new ManualTimers()
  const post = tapPoster({ serviceUrl: svc.url, terminalId: TERMINAL, secret: SECRET, budgetMs: opts.budgetMs ?? 500 }) // room for an answer on a loaded machine
  const online = new OnlineTapSink(post, new MemoryPendingTaps(), { attemptsWhileWaitingMax: 1, attemptsMax: 6, retryDelayMs: 0, backgroundDelayMsMax: 0, keepUnanswered: false }, quietLog)
  const mode = new OfflineMode({
    cfg: { ...DEFAULTS.offline, scenario: 'bus', ...cfg, queuePath: join(dir, 'agent.db') },
    call: signedCall({ serviceUrl: svc.url, terminalId: TERMINAL, secret: SECRET }),
    online,
    log: quietLog,
    timers
  })
  t.teardown(async () => { await mode.stop(); await svc.close(); rmSync(dir, { recursive: true, force: true }) })
  if (opts.denylist !== false) {
    mode.denylist.apply({ version: 1, full: true, add: [{ token: denylistToken(KEY, LOST.issuer, LOST.cardNo), reason: 'lost' }], remove: [], tokenKey: KEY.toString('base64url') })
  }
  let n = 0
  const tap = (card: TapCard, amount?: number): PreparedTap => {
    const at = rfc3339Local(Date.now())
    return prepareTap({ tapId: `${TERMINAL}-x-${++n}`, at, card, ...(amount === undefined ? {} : { amount }), context: {} }, `c:${card.type}`, Date.now())
  }
  return { svc, mode, timers, tap }
}

t.test('set offline: approved locally, shown as offline, queued with "offline": true and otherwise the same bytes', async t => {
  const r = await rig(t, { forcedOffline: true })
  const tap = r.tap(CARD)
  const outcome = await r.mode.sink.submit(tap)
  t.match(outcome, { kind: 'offline', decision: 'approved', amount: 200 }, 'bus: the tariff estimate is counted')
  t.match(presentOutcome(outcome).text, /离线通过/)
  t.equal(r.svc.seen.filter(s => s.path === '/v1/taps').length, 0, 'the service was not asked')
  const row = r.mode.queue.get(tap.tapId)
  t.same(JSON.parse(row?.body.toString() ?? '{}'), { ...JSON.parse(tap.body.toString()), offline: true })
  t.equal(row?.body.toString(), tap.body.toString().slice(0, -1) + ',"offline":true}')
  t.notMatch(JSON.stringify(r.mode.db.prepare('SELECT * FROM card_risk').all()), /JN0000001/, 'usage is kept by token, never the card number')
  t.equal(r.mode.link.mode, 'offline')
})

t.test('the service does not answer within the online budget: decided locally', async t => {
  const r = await rig(t, {}, { budgetMs: 100 })
  r.svc.tap = () => 'hang'
  const outcome = await r.mode.sink.submit(r.tap(CARD))
  t.match(outcome, { kind: 'offline', decision: 'approved', reasonOnline: /no answer within 100 ms/ })
  t.equal(r.mode.link.mode, 'offline')
  t.equal(r.mode.queue.depth, 1)
  r.svc.tap = () => ({ status: 503, body: { error: { code: 'UNAVAILABLE', message: '' } } })
  t.match(await r.mode.sink.submit(r.tap(CARD)), { kind: 'offline', decision: 'approved' }, 'a 503 too')
})

t.test('a 4xx answer is the service\'s word: shown as such, not decided offline', async t => {
  const r = await rig(t)
  r.svc.tap = () => ({ status: 400, body: { error: { code: 'VALIDATION', message: 'bad' } } })
  t.match(await r.mode.sink.submit(r.tap(CARD)), { kind: 'rejected', status: 400 })
  t.equal(r.mode.queue.depth, 0)
})

t.test('a deny-listed card is declined offline', async t => {
  const r = await rig(t, { forcedOffline: true })
  const outcome = await r.mode.sink.submit(r.tap(LOST))
  t.match(outcome, { kind: 'offline', decision: 'declined', reason: 'OFFLINE_DENYLISTED' })
  t.match(presentOutcome(outcome).text, /卡片受限/)
  t.equal(r.mode.queue.depth, 0)
})

t.test('risk limit: the card is declined offline once its count or amount is used; other cards are not', async t => {
  const r = await rig(t, { forcedOffline: true })
  for (let i = 0; i < 3; i++) t.match(await r.mode.sink.submit(r.tap(CARD)), { decision: 'approved' }, `bus ride ${i + 1}`)
  const fourth = await r.mode.sink.submit(r.tap(CARD))
  t.match(fourth, { decision: 'declined', reason: 'OFFLINE_RISK_LIMIT' })
  t.match(presentOutcome(fourth).text, /离线次数已满/)
  t.match(await r.mode.sink.submit(r.tap({ type: 'physical', cardNo: 'JN0000002', issuer: '370100' })), { decision: 'approved' })
  t.equal(r.mode.queue.depth, 4)
})

t.test('risk limit by amount for a terminal-priced scenario: the tap\'s own amount counts', async t => {
  const r = await rig(t, { forcedOffline: true, scenario: 'pharmacy', riskOverride: { countMax: 5 } })
  t.match(await r.mode.sink.submit(r.tap(CARD, 4000)), { decision: 'approved', amount: 4000 })
  t.match(await r.mode.sink.submit(r.tap(CARD, 1500)), { decision: 'declined', reason: 'OFFLINE_RISK_LIMIT' }, '4000 + 1500 > 5000')
  t.match(await r.mode.sink.submit(r.tap(CARD, 1000)), { decision: 'approved' }, '4000 + 1000 fits')
})

t.test('an online answer resets the card\'s offline usage to what is still queued', async t => {
  const r = await rig(t)
  r.svc.tap = () => 'hang'
  await r.mode.sink.submit(r.tap(CARD))
  await r.mode.sink.submit(r.tap(CARD))
  const token = denylistToken(KEY, CARD.issuer, CARD.cardNo)
  t.same(r.mode.risk.use(token), { count: 2, amountFen: 400 })
  r.svc.tap = body => ({ status: 200, body: approved(String(body.tapId)) })
  t.match(await r.mode.sink.submit(r.tap(CARD)), { kind: 'decision' })
  t.same(r.mode.risk.use(token), { count: 2, amountFen: 400 }, 'the service has not seen the queued two yet')
  await r.mode.uploader.drain()
  t.equal(r.mode.queue.depth, 0)
  t.match(await r.mode.sink.submit(r.tap(CARD)), { kind: 'decision' })
  t.same(r.mode.risk.use(token), { count: 0, amountFen: 0 })
})

t.test('declined offline: a QR, no deny list yet, a full queue', async t => {
  const r = await rig(t, { forcedOffline: true, queueDepthMax: 1 })
  t.match(await r.mode.sink.submit(r.tap({ type: 'qr', qr: 'YKT1.x.y' })), { decision: 'declined', reason: 'OFFLINE_QR' })
  t.match(await r.mode.sink.submit(r.tap(CARD)), { decision: 'approved' })
  const full = await r.mode.sink.submit(r.tap({ type: 'physical', cardNo: 'JN0000003', issuer: '370100' }))
  t.match(full, { decision: 'declined', reason: 'OFFLINE_QUEUE_FULL' })
  t.equal(r.mode.queue.depth, 1)
  const r2 = await rig(t, { forcedOffline: true }, { denylist: false })
  t.match(await r2.mode.sink.submit(r2.tap(CARD)), { decision: 'declined', reason: 'OFFLINE_NO_DENYLIST' })
})

t.test('back online: the queue is uploaded and the deny list refreshed at once, not at the next interval', async t => {
  const r = await rig(t, { uploadIntervalMs: 600_000, denylistRefreshMs: 600_000, heartbeatMs: 600_000 })
  r.svc.tap = () => 'hang'
  r.mode.start()
  for (const task of r.mode.tasks) await task.idle()
  const batchesBefore = r.svc.batches.length
  const listsBefore = r.svc.seen.filter(s => s.path.startsWith('/v1/terminal/denylist')).length
  await r.mode.sink.submit(r.tap(CARD))
  t.equal(r.mode.link.mode, 'offline')
  r.svc.tap = body => ({ status: 200, body: approved(String(body.tapId)) })
  await r.mode.sink.submit(r.tap(CARD))
  for (const task of r.mode.tasks) await task.idle()
  t.equal(r.svc.batches.length, batchesBefore + 1, 'uploaded right away')
  t.equal(r.mode.queue.depth, 0)
  t.equal(r.svc.seen.filter(s => s.path.startsWith('/v1/terminal/denylist')).length, listsBefore + 1, 'deny list asked right away')
  t.equal(r.timers.nowMs, 0, 'no time passed on the manual clock')
})

t.test('a deny list the service has not confirmed within its age bound is not trusted offline', async t => {
  // The incident: a terminal unplugged for a week still let through a card reported lost meanwhile.
  const r = await rig(t, { forcedOffline: true, denylistAgeMsMax: 60_000 })
  r.mode.denylist.confirm(Date.now() - 120_000)
  const stale = await r.mode.sink.submit(r.tap(CARD))
  t.match(stale, { kind: 'offline', decision: 'declined', reason: 'OFFLINE_DENYLIST_STALE' })
  t.match(presentOutcome(stale).text, /Offline too long/)
  t.equal(r.mode.queue.depth, 0, 'nothing queued')
  // The service answers that the cached version is current: confirmed, trusted again.
  r.svc.denylist = () => ({ status: 200, body: { version: 1, full: false, add: [], remove: [] } })
  t.match(await r.mode.refresher.refreshOnce(), { kind: 'stale', version: 1 })
  t.match(await r.mode.sink.submit(r.tap(CARD)), { kind: 'offline', decision: 'approved' })
})
