import t from 'tap'
import { buildTestApp, localAt, physical, tapId } from '../helpers/app.js'

const JINAN = '370100'
const QINGDAO = '370200'

t.test('a bus tap is approved, charged once, and replayed byte for byte', async t => {
  const h = await buildTestApp(t)
  const body = { tapId: tapId(), at: localAt(), card: physical('JN0000001', JINAN) }
  const first = await h.tap('jinan-bus-01', body)
  t.equal(first.statusCode, 200)
  t.match(first.json, { tapId: body.tapId, decision: 'approved', amount: 100, account: 'bank', balance: 49900 })
  t.type(first.json.authCode, 'string')
  t.notOk('reason' in first.json, 'no reason on approval')
  t.match(first.json.message, { zh: String, en: String })

  const replay = await h.tap('jinan-bus-01', body)
  t.equal(replay.statusCode, 200)
  t.equal(replay.body, first.body, 'same bytes')
  const card = await h.admin('GET', '/v1/admin/cards/JN0000001')
  t.equal(card.json.balances.bank, 49900, 'charged once')

  const other = await h.tap('jinan-bus-01', { ...body, at: localAt(-1000) })
  t.equal(other.statusCode, 409)
  t.equal(other.json.error.code, 'TAP_ID_CONFLICT')

  const second = await h.admin('POST', '/v1/admin/terminals', { terminalId: 'jinan-bus-77', city: 'jinan', scenario: 'bus', operator: 'jinan-bus' })
  t.equal(second.statusCode, 201)
  const sameIdOtherTerminal = await h.tap('jinan-bus-77', body, { secret: second.json.secret })
  t.equal(sameIdOtherTerminal.json.decision, 'approved', 'tapId is unique per terminal only')
})

t.test('a card of any of the three issuers works in another city', async t => {
  const h = await buildTestApp(t)
  const r = await h.tap('zhengzhou-bus-01', { tapId: tapId(), at: localAt(), card: physical('QD0000001', QINGDAO) })
  t.equal(r.json.decision, 'approved')
})

t.test('declines with the fixed reason codes, charging nothing', async t => {
  const h = await buildTestApp(t)
  const cases: Array<[string, unknown, string]> = [
    ['unknown card', physical('JN9999999', JINAN), 'CARD_UNKNOWN'],
    ['issuer mismatch', physical('JN0000001', QINGDAO), 'CARD_UNKNOWN'],
    ['lost card', physical('JN0000004', JINAN), 'CARD_BLOCKED'],
    ['expired card', physical('JN0000005', JINAN), 'CARD_EXPIRED'],
    ['foreign issuer', physical('JN0000001', '110100'), 'ISSUER_NOT_ACCEPTED'],
    ['low balance', physical('JN0000006', JINAN), 'INSUFFICIENT_FUNDS']
  ]
  for (const [name, card, reason] of cases) {
    const r = await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card })
    t.equal(r.statusCode, 200, name)
    t.match(r.json, { decision: 'declined', reason, amount: 0 }, name)
    t.notOk('authCode' in r.json, `${name}: no auth code`)
  }
  t.equal((await h.admin('GET', '/v1/admin/cards/JN0000006')).json.balances.bank, 50, 'low balance card untouched')
  const taps = await h.admin('GET', '/v1/admin/cards/JN0000004/taps')
  t.equal(taps.json.taps.length, 1, 'declined taps are recorded')
  t.match(taps.json.taps[0], { terminalId: 'jinan-bus-01', decision: 'declined', reason: 'CARD_BLOCKED', amount: 0 })
})

t.test('a frozen card is blocked, and active again after unfreezing', async t => {
  const h = await buildTestApp(t)
  t.equal((await h.admin('PATCH', '/v1/admin/cards/JN0000001', { status: 'frozen' })).json.status, 'frozen')
  t.equal((await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: physical('JN0000001', JINAN) })).json.reason, 'CARD_BLOCKED')
  await h.admin('PATCH', '/v1/admin/cards/JN0000001', { status: 'active' })
  t.equal((await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: physical('JN0000001', JINAN) })).json.decision, 'approved')
})

t.test('electronic card QR: valid once, then QR_REUSED; forged QR_INVALID; expired QR_EXPIRED', async t => {
  let now = Date.now()
  const h = await buildTestApp(t, { nowMs: () => now })
  const minted = await h.admin('POST', '/v1/admin/cards/QD0000001/qr', { ttlSeconds: 30 })
  t.equal(minted.statusCode, 200)
  t.match(minted.json, { qr: /^YKT1\./, expiresAt: String })
  const qrCard = { type: 'qr', qr: minted.json.qr }
  const ok = await h.tap('qingdao-bus-01', { tapId: tapId(), at: localAt(0, now), card: qrCard })
  t.match(ok.json, { decision: 'approved', amount: 100 })
  const again = await h.tap('qingdao-bus-01', { tapId: tapId(), at: localAt(0, now), card: qrCard })
  t.match(again.json, { decision: 'declined', reason: 'QR_REUSED' })

  const forged = minted.json.qr.slice(0, -4) + (minted.json.qr.endsWith('AAAA') ? 'BBBB' : 'AAAA')
  t.match((await h.tap('qingdao-bus-01', { tapId: tapId(), at: localAt(0, now), card: { type: 'qr', qr: forged } })).json, { reason: 'QR_INVALID' })
  t.match((await h.tap('qingdao-bus-01', { tapId: tapId(), at: localAt(0, now), card: { type: 'qr', qr: 'not-a-qr' } })).json, { reason: 'QR_INVALID' })

  const short = await h.admin('POST', '/v1/admin/cards/QD0000001/qr', { ttlSeconds: 5 })
  now += 6_000
  t.match((await h.tap('qingdao-bus-01', { tapId: tapId(), at: localAt(0, now), card: { type: 'qr', qr: short.json.qr } })).json, { reason: 'QR_EXPIRED' })
})

t.test('request checks: 400 and nothing recorded', async t => {
  const h = await buildTestApp(t)
  const card = physical('JN0000001', JINAN)
  const bad: Array<[string, unknown]> = [
    ['unknown top-level field', { tapId: tapId(), at: localAt(), card, extra: 1 }],
    ['unknown card field', { tapId: tapId(), at: localAt(), card: { ...card, pin: '1234' } }],
    ['bad card number', { tapId: tapId(), at: localAt(), card: physical('jn000001', JINAN) }],
    ['bad tapId', { tapId: 'has space', at: localAt(), card }],
    ['at without offset', { tapId: tapId(), at: '2026-07-01T08:15:30', card }],
    ['at too old', { tapId: tapId(), at: localAt(-8 * 86_400_000), card }],
    ['at in the future', { tapId: tapId(), at: localAt(6 * 60_000), card }],
    ['amount on a tariff-priced scenario', { tapId: tapId(), at: localAt(), card, amount: 100 }],
    ['negative amount', { tapId: tapId(), at: localAt(), card, amount: -1 }],
    ['fractional amount', { tapId: tapId(), at: localAt(), card, amount: 1.5 }],
    ['unknown context field for bus', { tapId: tapId(), at: localAt(), card, context: { foo: 1 } }],
    ['missing card', { tapId: tapId(), at: localAt() }]
  ]
  for (const [name, body] of bad) {
    const r = await h.tap('jinan-bus-01', body)
    t.equal(r.statusCode, 400, name)
    t.equal(r.json?.error?.code, 'BAD_REQUEST', name)
    t.type(r.json?.error?.message, 'string', name)
  }
  t.equal((await h.admin('GET', '/v1/admin/cards/JN0000001/taps')).json.taps.length, 0)
  t.equal((await h.admin('GET', '/v1/admin/cards/JN0000001')).json.balances.bank, 50000)
})

t.test('batch upload: results in order, each as /v1/taps would answer', async t => {
  const h = await buildTestApp(t)
  const card = physical('JN0000001', JINAN)
  const taps = [
    { tapId: tapId('b'), at: localAt(-3 * 86_400_000), card },
    { tapId: tapId('b'), at: localAt(-60_000), card: physical('JN0000004', JINAN) },
    { tapId: tapId('b'), at: '2026-13-45T99:00:00+08:00', card }
  ]
  const r = await h.tap('jinan-bus-01', { taps }, { url: '/v1/taps/batch' })
  t.equal(r.statusCode, 200)
  t.equal(r.json.results.length, 3)
  t.match(r.json.results[0], { status: 200, tap: { decision: 'approved', amount: 100 } })
  t.match(r.json.results[1], { status: 200, tap: { decision: 'declined', reason: 'CARD_BLOCKED' } })
  t.match(r.json.results[2], { status: 400, error: { code: 'BAD_REQUEST' } })
  const replay = await h.tap('jinan-bus-01', taps[0])
  t.equal(replay.json.authCode, r.json.results[0].tap.authCode, 'a batch tap replays through /v1/taps')
  const tooMany = await h.tap('jinan-bus-01', { taps: Array.from({ length: 101 }, () => taps[0]) }, { url: '/v1/taps/batch' })
  t.equal(tooMany.statusCode, 400)
})
