import t from 'tap'
import { cardToken } from '../../terminals/agent/card-token.js'
import { loadConfig } from '../../terminals/agent/config.js'
import { MemoryPendingTaps } from '../../terminals/agent/pending-taps.js'
import { presentOutcome } from '../../terminals/agent/presenter.js'
import { prepareTap, type PreparedTap } from '../../terminals/agent/tap-body.js'
import { tapPoster } from '../../terminals/agent/tap-client.js'
import { rfc3339Local, TAP_ID, tapIdSource } from '../../terminals/agent/tap-id.js'
import { OnlineTapSink } from '../../terminals/agent/tap-sink.js'
import { approved, fakeService } from './helpers/fake-service.js'

const SECRET = 'terminal-secret'
const ENV = { YKT_TERMINAL_SECRET: SECRET }
const BASE = ['--terminal-id', 'jn-gate-1', '--service-url', 'http://127.0.0.1:9', '--port', '/dev/ttyUSB0']
const quietLog = { info () {}, warn () {}, error () {} }

function tap (n: number, cardToken = 'c:1'): PreparedTap {
  return prepareTap({ tapId: `t-${n}`, at: rfc3339Local(0), card: { type: 'physical', cardNo: 'JN0000001', issuer: '370100' }, context: {} }, cardToken, Date.now())
}

t.test('config: scenario flags become the tap context', async t => {
  t.same(loadConfig([...BASE, '--direction', 'in'], ENV).context, { direction: 'in' })
  const lib = loadConfig([...BASE, '--library-action', 'borrow', '--library-item', 'B001:3500', '--library-item', 'B002:1200'], ENV)
  t.same(lib.context, { action: 'borrow', items: [{ id: 'B001', value: 3500 }, { id: 'B002', value: 1200 }] })
  t.equal(lib.amount, undefined, 'a library tap is priced by the service')
  const ph = loadConfig([...BASE, '--pharmacy-item', 'X01:A:1500', '--pharmacy-item', 'X02:self:800'], ENV)
  t.same(ph.context, { items: [{ code: 'X01', class: 'A', amount: 1500 }, { code: 'X02', class: 'self', amount: 800 }] })
  t.equal(ph.amount, 2300, 'a pharmacy tap carries the basket total')
  t.equal(loadConfig([...BASE, '--amount', '4200'], ENV).amount, 4200)
  const cfg = loadConfig(BASE, ENV)
  t.same(cfg.context, {})
  t.equal(cfg.serviceBudgetMs, 800)
  t.equal(cfg.port.baudRate, 9600)
  t.equal(cfg.secret, SECRET)
})

t.test('config: bad values are refused with CONFIG_INVALID', async t => {
  const bad = (argv: string[], env: Record<string, string> = ENV): void => {
    t.throws(() => loadConfig(argv, env), { code: 'CONFIG_INVALID' }, argv.join(' '))
  }
  bad(BASE, {})
  bad([...BASE, '--direction', 'up'])
  bad([...BASE, '--pharmacy-item', 'X01:C:100'])
  bad([...BASE, '--library-action', 'steal'])
  bad([...BASE, '--budget-ms', '5'])
  bad([...BASE, '--service-url', 'ftp://x'])
  bad(['--terminal-id', 'x'.repeat(48), ...BASE.slice(2)])
  bad(['--terminal-id', 'bad id', ...BASE.slice(2)])
})

t.test('config: offline mode is off without a queue file; its flags, env and file settings', async t => {
  const off = loadConfig(BASE, ENV).offline
  t.equal(off.queuePath, undefined)
  t.equal(off.forcedOffline, false)
  t.equal(off.onlineBudgetMs, 800)
  t.equal(off.uploadBatchSize, 100)
  t.same(off.riskLimits.bus, { countMax: 3, amountFenMax: 600, estimateFen: 200 })
  const on = loadConfig([...BASE, '--queue-file', '/tmp/q.db', '--offline', '--online-budget-ms', '500', '--queue-max', '50', '--scenario', 'metro',
    '--risk-count-max', '2', '--risk-amount-max-fen', '900', '--risk-estimate-fen', '400', '--denylist-refresh-ms', '60000', '--heartbeat-ms', '15000',
    '--upload-interval-ms', '5000', '--upload-batch-size', '20'], ENV).offline
  t.match(on, {
    queuePath: '/tmp/q.db', forcedOffline: true, onlineBudgetMs: 500, queueDepthMax: 50, scenario: 'metro',
    riskOverride: { countMax: 2, amountFenMax: 900, estimateFen: 400 }, denylistRefreshMs: 60_000, heartbeatMs: 15_000, uploadIntervalMs: 5000, uploadBatchSize: 20
  })
  const env = loadConfig(BASE, { ...ENV, YKT_AGENT_QUEUE_FILE: '/tmp/e.db', YKT_AGENT_OFFLINE: '1' }).offline
  t.equal(env.queuePath, '/tmp/e.db')
  t.equal(env.forcedOffline, true)
  t.throws(() => loadConfig([...BASE, '--upload-batch-size', '101'], ENV), { code: 'CONFIG_INVALID' }, 'the api takes 100 per batch')
  t.throws(() => loadConfig([...BASE, '--online-budget-ms', '10'], ENV), { code: 'CONFIG_INVALID' })
})

t.test('tap ids are unique, ordered per boot, and fit the API pattern', async t => {
  const next = tapIdSource('jn-bus-0001', 1_780_000_000_000)
  const ids = Array.from({ length: 1000 }, next)
  t.equal(new Set(ids).size, 1000)
  t.ok(ids.every(id => TAP_ID.test(id) && id.startsWith('jn-bus-0001-')))
  t.not(tapIdSource('jn-bus-0001', 1_780_000_000_001)(), ids[0], 'a restart does not repeat ids')
  t.ok(TAP_ID.test(tapIdSource('x'.repeat(47))()), 'the longest terminal id still fits')
})

t.test('tap time is RFC 3339 local time with the +08:00 offset', async t => {
  t.equal(rfc3339Local(Date.UTC(2026, 6, 1, 0, 15, 30, 123)), '2026-07-01T08:15:30.123+08:00')
  t.equal(rfc3339Local(Date.UTC(2026, 11, 31, 16, 0, 0, 5)), '2027-01-01T00:00:00.005+08:00', 'across midnight and the year')
})

t.test('card tokens hide the card number and depend on the key', async t => {
  const card = { type: 'physical' as const, cardNo: 'JN0000001', issuer: '370100' }
  const a = cardToken(card, 'k1')
  t.match(a, /^c:[0-9a-f]{12}$/)
  t.notMatch(a, /JN0000001/)
  t.not(cardToken(card, 'k2'), a)
  t.match(cardToken({ type: 'qr', qr: 'payload' }, 'k1'), /^q:[0-9a-f]{12}$/)
})

t.test('tap client: signed over the exact body bytes, answers parsed', async t => {
  const svc = await fakeService(SECRET, s => ({ status: 200, body: approved(s.tapId) }))
  t.teardown(svc.close)
  const post = tapPoster({ serviceUrl: svc.url, terminalId: 'jn-gate-1', secret: SECRET, budgetMs: 500 })
  const p = tap(1)
  const r = await post(p.body)
  t.match(r, { kind: 'answer', answer: { decision: 'approved', amount: 100 } })
  t.equal(svc.taps[0]?.signatureOk, true, 'HMAC recomputed by the server over the bytes it received')
  t.equal(svc.taps[0]?.path, '/v1/taps')
  t.same(svc.taps[0]?.raw, p.body)
  const wrongKey = tapPoster({ serviceUrl: svc.url, terminalId: 'jn-gate-1', secret: 'other', budgetMs: 500 })
  await wrongKey(p.body)
  t.equal(svc.taps[1]?.signatureOk, false, 'the check does tell signatures apart')
})

t.test('tap client: timeouts, error codes and what is worth retrying', async t => {
  const svc = await fakeService(SECRET, (_s, n) => n === 1
    ? 'hang'
    : n === 2
      ? { status: 503, body: { error: { code: 'OVERLOADED', message: 'busy' } } }
      : n === 3
        ? { status: 401, body: { error: { code: 'UNAUTHENTICATED', message: 'bad signature' } } }
        : { status: 200, body: { nonsense: true } })
  t.teardown(svc.close)
  const post = tapPoster({ serviceUrl: svc.url, terminalId: 'jn-gate-1', secret: SECRET, budgetMs: 100 })
  // The first request hangs for ever: only the 100 ms budget can end this call (no wall-clock window asserted).
  t.same(await post(tap(1).body), { kind: 'timeout', budgetMs: 100 }, 'the budget ends a call the service never answers')
  t.match(await post(tap(2).body), { kind: 'error', status: 503, code: 'OVERLOADED', retryable: true })
  t.match(await post(tap(3).body), { kind: 'error', status: 401, code: 'UNAUTHENTICATED', retryable: false })
  t.match(await post(tap(4).body), { kind: 'error', code: 'BAD_ANSWER', retryable: false })
  const down = tapPoster({ serviceUrl: 'http://127.0.0.1:9', terminalId: 'x', secret: SECRET, budgetMs: 300 })
  t.match(await down(tap(5).body), { kind: 'network' })
})

t.test('sink: retries while the holder waits send the same tapId and bytes', async t => {
  const svc = await fakeService(SECRET, (s, n) => n === 1 ? { status: 200, body: approved(s.tapId), delayMs: 300 } : { status: 200, body: approved(s.tapId) })
  t.teardown(svc.close)
  const post = tapPoster({ serviceUrl: svc.url, terminalId: 'g', secret: SECRET, budgetMs: 100 })
  const store = new MemoryPendingTaps()
  const sink = new OnlineTapSink(post, store, { attemptsWhileWaitingMax: 2, attemptsMax: 5, retryDelayMs: 10, backgroundDelayMsMax: 100 }, quietLog)
  const retries: number[] = []
  const p = tap(1)
  const out = await sink.submit(p, { onRetry: a => retries.push(a) })
  t.match(out, { kind: 'decision', attempts: 2 })
  t.same(retries, [2])
  t.equal(svc.taps.length, 2)
  t.same(svc.taps[1]?.raw, svc.taps[0]?.raw, 'byte-identical resend')
  t.equal(store.size, 0)
})

t.test('sink: unanswered taps are kept, retried in the background, then given up', async t => {
  let up = false
  const svc = await fakeService(SECRET, s => up ? { status: 200, body: approved(s.tapId) } : 'hang')
  t.teardown(svc.close)
  const post = tapPoster({ serviceUrl: svc.url, terminalId: 'g', secret: SECRET, budgetMs: 50 })
  const store = new MemoryPendingTaps(2)
  const logs: string[] = []
  const log = { info: (_o: object, m: string) => logs.push(m), warn: () => {}, error: (_o: object, m: string) => logs.push(m) }
  const sink = new OnlineTapSink(post, store, { attemptsWhileWaitingMax: 1, attemptsMax: 3, retryDelayMs: 0, backgroundDelayMsMax: 0 }, log)
  t.match(await sink.submit(tap(1, 'c:a')), { kind: 'unavailable', kept: true })
  t.match(await sink.submit(tap(2, 'c:b')), { kind: 'unavailable', kept: true })
  t.match(await sink.submit(tap(3, 'c:c')), { kind: 'unavailable' })
  t.equal(store.size, 2, 'the store is bounded')
  t.ok(logs.includes('pending tap dropped: store full'))
  up = true
  while (await sink.retryPendingOnce()) { /* drain */ }
  t.equal(store.size, 0)
  t.equal(logs.filter(m => m === 'pending tap decided').length, 2)
  const ids = svc.taps.map(s => s.tapId)
  t.same(ids.filter(id => id === 't-2'), ['t-2', 't-2'], 'the kept tap went again under its own id')
  up = false
  const lone = tap(9)
  lone.attempts = 2
  t.match(await sink.submit(lone), { kind: 'unavailable', kept: false }, 'no attempts left: given up')
  t.ok(logs.includes('tap given up: no answer from the service'))
})

t.test('pending store: a returning card finds its own unanswered tap', async t => {
  const store = new MemoryPendingTaps()
  const old = tap(1, 'c:x')
  old.createdAtMs = 1000
  store.put(old)
  store.put(tap(2, 'c:y'))
  t.equal(store.takeByCard('c:x', 2000), undefined, 'too old to reuse')
  t.equal(store.takeByCard('c:x', 500)?.tapId, 't-1')
  t.equal(store.size, 1)
})

t.test('presentations: decision text, amounts in yuan, colours', async t => {
  const ok = presentOutcome({ kind: 'decision', attempts: 1, answer: approved('t', 150, 49_850) as never })
  t.equal(ok.text, '刷卡成功\n¥1.50 余额¥498.50')
  t.match(ok.led, { green: true })
  const free = presentOutcome({ kind: 'decision', attempts: 1, answer: approved('t', 0, 50_000) as never })
  t.equal(free.text, '刷卡成功\n余额¥500.00', 'nothing charged: no ¥0.00')
  const no = presentOutcome({ kind: 'decision', attempts: 1, answer: { tapId: 't', decision: 'declined', reason: 'CARD_BLOCKED', amount: 0, message: { zh: '卡片已挂失', en: 'Card blocked' } } })
  t.equal(no.text, '卡片已挂失\nCard blocked')
  t.match(no, { led: { red: true }, beep: { count: 3 } })
  t.match(presentOutcome({ kind: 'unavailable', reason: 'x', kept: true }).text, /网络异常/)
  t.match(presentOutcome({ kind: 'rejected', status: 401, code: 'UNAUTHENTICATED', message: '' }).text, /UNAUTHENTICATED/)
})
