// A metro exit gate uploads before the entry gate did (issue #10): the exit is charged the maximum
// fare for now and settled when its entry arrives, not charged the maximum for good.
import t from 'tap'
import { buildTestApp, localAt, physical, tapId } from '../helpers/app.js'
import { checkStoredLedger } from '../helpers/engine.js'
import { upload } from './helpers.js'

const JINAN = '370100'
const MAX_FARE_JINAN = 900

t.test('the exit first: provisional maximum; the entry later: the real fare, the difference refunded', async t => {
  const h = await buildTestApp(t)
  const card = physical('JN0000001', JINAN)
  const exitId = tapId('gate-out')
  const exit = await upload(h, 'jinan-metro-02', [{ tapId: exitId, at: localAt(-20 * 60_000), card, context: { direction: 'out' }, offline: true }])
  t.match(exit.json.results[0].tap, { decision: 'approved', amount: MAX_FARE_JINAN, details: { provisional: true, awaiting: 'entry' } })

  // Meanwhile the rider is inside again, online, at another station: that journey must stay open.
  const now = await h.tap('jinan-metro-03', { tapId: tapId('in'), at: localAt(), card, context: { direction: 'in' } })
  t.equal(now.json.decision, 'approved')

  const entryItem = { tapId: tapId('gate-in'), at: localAt(-40 * 60_000), card, context: { direction: 'in' }, offline: true }
  const entry = await upload(h, 'jinan-metro-01', [entryItem])
  const settled = entry.json.results[0].tap
  t.match(settled, { decision: 'approved', details: { lateEntryFor: exitId } })
  const fareFen = settled.details.exitFareFen
  t.ok(fareFen > 0 && fareFen < MAX_FARE_JINAN, `priced as a journey: ${fareFen} fen`)
  t.equal(settled.details.exitRefundFen, MAX_FARE_JINAN - fareFen)
  t.equal((await h.admin('GET', '/v1/admin/cards/JN0000001')).json.balances.bank, 50_000 - fareFen, 'the real fare, once')

  // The online journey begun at the third station is still open: its exit is priced, not refused.
  const out = await h.tap('jinan-metro-02', { tapId: tapId('out'), at: localAt(60_000), card, context: { direction: 'out' } })
  t.match(out.json, { decision: 'approved', details: { entryStation: String } })
  t.notMatch(out.json.details, { closedUnfinished: Object })
  // The entry uploaded again replays; the refund is not paid twice.
  const again = await upload(h, 'jinan-metro-01', [entryItem])
  t.same(again.json.results[0], entry.json.results[0], 'replayed')
  const refunds = await h.query(`SELECT amount FROM refunds WHERE tap_id = '${exitId}'`)
  t.same(refunds.map(r => Number(r.amount)), [MAX_FARE_JINAN - fareFen])
  t.same((await checkStoredLedger(h)).problems, [])
})

t.test('a card that could not pay the provisional fare: the refund cancels debt first', async t => {
  const h = await buildTestApp(t)
  await h.admin('POST', '/v1/admin/cards', { cardNo: 'JN0000098', issuer: JINAN, accounts: { bank: 300 } })
  const card = physical('JN0000098', JINAN)
  const exit = await upload(h, 'jinan-metro-02', [{ tapId: tapId('gate-out'), at: localAt(-20 * 60_000), card, context: { direction: 'out' }, offline: true }])
  t.match(exit.json.results[0].tap, { amount: MAX_FARE_JINAN, balance: 0, debt: MAX_FARE_JINAN - 300 })
  const entry = await upload(h, 'jinan-metro-01', [{ tapId: tapId('gate-in'), at: localAt(-40 * 60_000), card, context: { direction: 'in' }, offline: true }])
  const fareFen = entry.json.results[0].tap.details.exitFareFen
  const view = (await h.admin('GET', '/v1/admin/cards/JN0000098')).json
  // Paid 300, owed 600; the fare is fareFen: what is left owed is max(fare − 300, 0), the rest back.
  t.equal(view.debt, Math.max(fareFen - 300, 0))
  t.equal(view.balances.bank, Math.max(300 - fareFen, 0))
  t.same((await checkStoredLedger(h)).problems, [])
})

t.test('an exit whose entry never comes keeps the provisional fare; an online exit with no entry is still declined', async t => {
  const h = await buildTestApp(t)
  const card = physical('JN0000002', JINAN)
  const online = await h.tap('jinan-metro-02', { tapId: tapId('out'), at: localAt(), card, context: { direction: 'out' } })
  t.match(online.json, { decision: 'declined', reason: 'NO_ENTRY' })
  const offline = await upload(h, 'jinan-metro-02', [{ tapId: tapId('out'), at: localAt(-60_000), card, context: { direction: 'out' }, offline: true }])
  t.match(offline.json.results[0].tap, { decision: 'approved', details: { provisional: true } })
  // An entry dated after the exit does not settle it.
  const later = await upload(h, 'jinan-metro-01', [{ tapId: tapId('in'), at: localAt(-30_000), card, context: { direction: 'in' }, offline: true }])
  t.notMatch(later.json.results[0].tap.details ?? {}, { lateEntryFor: String })
  t.same((await checkStoredLedger(h)).problems, [])
})
