// api-v1.1 deny list: what a terminal gets, by versioned deltas, and that it never names a card.
import t from 'tap'
import { denylistToken } from '../../src/cards/denylist-token.js'
import { buildTestApp, localAt, physical, tapId } from '../helpers/app.js'
import { checkStoredLedger } from '../helpers/engine.js'
import { terminalGet, terminalPost, upload } from './helpers.js'

const JINAN = '370100'

t.test('the full list, then deltas as cards are frozen, fall into debt and are cleared', async t => {
  const h = await buildTestApp(t)
  const full = await terminalGet(h, 'jinan-bus-01', '/v1/terminal/denylist')
  t.equal(full.statusCode, 200)
  t.equal(full.json.full, true)
  const key = Buffer.from(full.json.tokenKey, 'base64url')
  t.equal(key.length, 32)
  const token = (issuer: string, cardNo: string): string => denylistToken(key, issuer, cardNo)
  // The demo's lost cards (…04 of each issuer) are listed from the start.
  t.match(full.json.add, [{ token: String, reason: 'lost' }])
  t.ok(full.json.add.some((e: { token: string, reason: string }) => e.token === token(JINAN, 'JN0000004') && e.reason === 'lost'))
  t.notMatch(JSON.stringify(full.json), /JN0|QD0|ZZ0/, 'no card number in the list')
  const v0 = full.json.version

  t.same((await terminalGet(h, 'jinan-bus-01', `/v1/terminal/denylist?since=${v0}`)).json, { version: v0, full: false, add: [], remove: [], tokenKey: full.json.tokenKey }, 'up to date: nothing')

  await h.admin('PATCH', '/v1/admin/cards/JN0000001', { status: 'frozen' })
  await upload(h, 'jinan-bus-01', [{ tapId: tapId('off'), at: localAt(-60_000), card: physical('JN0000006', JINAN), offline: true }])
  const delta = await terminalGet(h, 'jinan-bus-01', `/v1/terminal/denylist?since=${v0}`)
  t.equal(delta.json.full, false)
  t.equal(delta.json.version, v0 + 2)
  t.same(new Set(delta.json.add.map((e: { token: string, reason: string }) => `${e.token}:${e.reason}`)), new Set([`${token(JINAN, 'JN0000001')}:frozen`, `${token(JINAN, 'JN0000006')}:debt`]))

  // Lost while in debt: the stronger reason. Then found, still in debt: back to debt. Then paid: off.
  await h.admin('PATCH', '/v1/admin/cards/JN0000006', { status: 'lost' })
  await h.admin('PATCH', '/v1/admin/cards/JN0000006', { status: 'active' })
  await h.admin('PATCH', '/v1/admin/cards/JN0000001', { status: 'active' })
  const v2 = v0 + 2
  const mid = await terminalGet(h, 'jinan-bus-01', `/v1/terminal/denylist?since=${v2}`)
  t.same(mid.json.add, [{ token: token(JINAN, 'JN0000006'), reason: 'debt' }], 'the last change of a token wins')
  t.same(mid.json.remove, [token(JINAN, 'JN0000001')])
  await h.admin('POST', '/v1/admin/cards/JN0000006/credits', { account: 'bank', amount: 500, reference: 'pay-debt' })
  const end = await terminalGet(h, 'jinan-bus-01', `/v1/terminal/denylist?since=${v2}`)
  t.same(end.json.remove.sort(), [token(JINAN, 'JN0000001'), token(JINAN, 'JN0000006')].sort())
  t.same(end.json.add, [])
  t.same((await checkStoredLedger(h)).problems, [], 'the check agrees the list matches the cards')
})

t.test('an unknown or future version gets the full list; bad input a 400', async t => {
  const h = await buildTestApp(t)
  const v = (await terminalGet(h, 'jinan-bus-01', '/v1/terminal/denylist')).json.version
  t.equal((await terminalGet(h, 'jinan-bus-01', `/v1/terminal/denylist?since=${v + 1000}`)).json.full, true)
  for (const q of ['since=-1', 'since=abc', 'since=1.5', 'since=', 'other=1', 'since=1&since=2']) {
    t.equal((await terminalGet(h, 'jinan-bus-01', `/v1/terminal/denylist?${q}`)).statusCode, 400, q)
  }
  // Terminal auth like every terminal route.
  const anonymous = await h.app.inject({ method: 'GET', url: '/v1/terminal/denylist' })
  t.equal(anonymous.statusCode, 401)
})

t.test('heartbeats: recorded per terminal, shown to ops, bad bodies refused', async t => {
  const h = await buildTestApp(t, { opsToken: 'test-ops-token' })
  const beat = { queueDepth: 12, oldestQueuedAt: localAt(-600_000), denylistVersion: 7, mode: 'offline' }
  t.equal((await terminalPost(h, 'jinan-bus-01', '/v1/terminal/heartbeat', beat)).statusCode, 204)
  for (const bad of [{ ...beat, queueDepth: -1 }, { ...beat, mode: 'sleeping' }, { ...beat, extra: 1 }, { ...beat, oldestQueuedAt: 'not a time at all, honestly' }]) {
    t.equal((await terminalPost(h, 'jinan-bus-01', '/v1/terminal/heartbeat', bad)).statusCode, 400, JSON.stringify(bad))
  }
  const seen = await h.app.inject({ method: 'GET', url: '/v1/admin/heartbeats', headers: { authorization: 'Bearer test-ops-token' } })
  t.equal(seen.statusCode, 200)
  const json = JSON.parse(seen.body)
  t.match(json.summary, { terminals: 1, offline: 1, queuedTaps: 12 })
  t.ok(json.summary.oldestQueuedAgeSMax >= 600)
  t.match(json.terminals, [{ terminalId: 'jinan-bus-01', queueDepth: 12, denylistVersion: 7, mode: 'offline' }])
  const consoleStats = await h.app.inject({ method: 'GET', url: '/console/api/stats', headers: { authorization: 'Bearer test-ops-token' } })
  t.match(JSON.parse(consoleStats.body).terminals, [{ terminal: 'jinan-bus-01', denyListVersion: 7, offlineQueue: 12 }], 'the console\'s terminal table shows it')
  const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /^yikatong_terminals_offline 1$/m)
  t.match(metrics, /^yikatong_offline_queued_taps 12$/m)
})
