// api-v1.1 offline taps and debt, written as the incidents: a bus out of coverage lets a rider
// through on a card that cannot pay; the rider tries to ride online next; the card is topped up.
import t from 'tap'
import { denylistToken } from '../../src/cards/denylist-token.js'
import { buildTestApp, localAt, physical, tapId } from '../helpers/app.js'
import { checkStoredLedger } from '../helpers/engine.js'
import { terminalGet, upload } from './helpers.js'

const JINAN = '370100'

t.test('an offline tap the card cannot pay is approved, and the unpaid part becomes debt', async t => {
  const h = await buildTestApp(t)
  // JN0000006 holds 50 fen; a Jinan bus ride is 100.
  const item = { tapId: tapId('off'), at: localAt(-3_600_000), card: physical('JN0000006', JINAN), offline: true }
  const r = await upload(h, 'jinan-bus-01', [item])
  t.equal(r.statusCode, 200)
  t.match(r.json.results[0], { status: 200, tap: { decision: 'approved', amount: 100, account: 'bank', balance: 0, debt: 50 } })
  const card = await h.admin('GET', '/v1/admin/cards/JN0000006')
  t.match(card.json, { balances: { bank: 0 }, debt: 50 })

  // Uploaded again (the agent crashed before it saw the answer): the same answer, no second charge.
  const again = await upload(h, 'jinan-bus-01', [item])
  t.same(again.json.results[0], r.json.results[0])
  t.equal((await h.admin('GET', '/v1/admin/cards/JN0000006')).json.debt, 50, 'charged once')

  // Online now: declined until paid, charging nothing.
  const online = await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: physical('JN0000006', JINAN) })
  t.match(online.json, { decision: 'declined', reason: 'CARD_IN_DEBT', amount: 0 })

  // Another offline ride adds to the debt (the terminal let the rider through).
  const second = await upload(h, 'jinan-bus-01', [{ tapId: tapId('off'), at: localAt(-1_800_000), card: physical('JN0000006', JINAN), offline: true }])
  t.match(second.json.results[0].tap, { decision: 'approved', amount: 100, balance: 0, debt: 100 })
  t.equal((await h.admin('GET', '/v1/admin/cards/JN0000006')).json.debt, 150)
  t.same((await checkStoredLedger(h)).problems, [], 'ledger check: debt legs balance')

  // A credit repays the debt first; the rest goes to the account.
  const credited = await h.admin('POST', '/v1/admin/cards/JN0000006/credits', { account: 'bank', amount: 1000, reference: 'topup-after-debt' })
  t.equal(credited.statusCode, 200)
  t.match(credited.json, { balances: { bank: 850 }, debt: 0 })
  const after = await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: physical('JN0000006', JINAN) })
  t.match(after.json, { decision: 'approved', amount: 100, balance: 750 })
  t.notOk('debt' in after.json, 'no debt field when fully paid')
  t.same((await checkStoredLedger(h)).problems, [])
})

t.test('a credit smaller than the debt repays part of it and the card stays listed', async t => {
  const h = await buildTestApp(t)
  await upload(h, 'jinan-bus-01', [{ tapId: tapId('off'), at: localAt(-60_000), card: physical('JN0000006', JINAN), offline: true }])
  const credited = await h.admin('POST', '/v1/admin/cards/JN0000006/credits', { account: 'bank', amount: 20, reference: 'small-topup' })
  t.match(credited.json, { balances: { bank: 0 }, debt: 30 })
  const list = await terminalGet(h, 'jinan-bus-01', '/v1/terminal/denylist')
  const token = denylistToken(Buffer.from(list.json.tokenKey, 'base64url'), JINAN, 'JN0000006')
  t.match(list.json.add.find((e: { token: string }) => e.token === token), { reason: 'debt' })
  t.same((await checkStoredLedger(h)).problems, [])
})

t.test('offline taps of lost, expired or unknown cards are recorded as declined and charge nothing', async t => {
  const h = await buildTestApp(t)
  const cases: Array<[string, string]> = [['JN0000004', 'CARD_BLOCKED'], ['JN0000005', 'CARD_EXPIRED'], ['JN9999999', 'CARD_UNKNOWN']]
  const r = await upload(h, 'jinan-bus-01', cases.map(([cardNo]) => ({ tapId: tapId('off'), at: localAt(-60_000), card: physical(cardNo, JINAN), offline: true })))
  cases.forEach(([cardNo, reason], i) => t.match(r.json.results[i], { status: 200, tap: { decision: 'declined', reason, amount: 0 } }, cardNo))
  t.equal((await h.admin('GET', '/v1/admin/cards/JN0000004')).json.debt, 0)
})

t.test('an online tap cannot claim to be offline', async t => {
  const h = await buildTestApp(t)
  const r = await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: physical('JN0000006', JINAN), offline: true })
  t.equal(r.statusCode, 400, 'offline is a batch item field only')
  t.equal((await h.admin('GET', '/v1/admin/cards/JN0000006')).json.debt, 0)
})

t.test('a tap sent online whose answer was lost, then uploaded as offline, is the same tap', async t => {
  const h = await buildTestApp(t)
  const body = { tapId: tapId(), at: localAt(-1000), card: physical('JN0000001', JINAN) }
  const online = await h.tap('jinan-bus-01', body)
  const uploaded = await upload(h, 'jinan-bus-01', [{ ...body, offline: true }])
  t.same(uploaded.json.results[0], { status: 200, tap: online.json }, 'the recorded answer, no 409, no second charge')
  t.equal((await h.admin('GET', '/v1/admin/cards/JN0000001')).json.balances.bank, 49900)
})

t.test('a batch mixing good, malformed and duplicate items answers each on its own, never a 5xx', async t => {
  const h = await buildTestApp(t)
  const good = { tapId: tapId('mix'), at: localAt(-120_000), card: physical('JN0000001', JINAN), offline: true }
  const conflicting = { ...good, at: localAt(-100_000) }
  const items = [
    good,
    { tapId: tapId('mix'), at: '2026-13-45T99:99:99+08:00', card: physical('JN0000002', JINAN), offline: true },
    { tapId: tapId('mix'), at: localAt(-40 * 86_400_000), card: physical('JN0000002', JINAN), offline: true },
    good,
    conflicting,
    { tapId: tapId('mix'), at: localAt(-90_000), card: physical('JN0000006', JINAN), offline: true }
  ]
  const r = await upload(h, 'jinan-bus-01', items)
  t.equal(r.statusCode, 200)
  const statuses = r.json.results.map((x: { status: number }) => x.status)
  t.same(statuses, [200, 400, 400, 200, 409, 200])
  t.same(r.json.results[3], r.json.results[0], 'the duplicate replays the first answer')
  t.equal(r.json.results[4].error.code, 'TAP_ID_CONFLICT')
  t.match(r.json.results[5].tap, { decision: 'approved', debt: 50 })
  t.equal((await h.admin('GET', '/v1/admin/cards/JN0000001')).json.balances.bank, 49900, 'charged once')
  t.equal((await h.admin('GET', '/v1/admin/cards/JN0000002/taps')).json.taps.length, 0, 'malformed items recorded nothing')

  // A malformed item among schema-valid ones is refused as a whole upload (schema): 400, nothing recorded.
  const bad = await upload(h, 'jinan-bus-01', [{ tapId: tapId('mix'), at: localAt(), card: physical('JN0000003', JINAN), offline: 'yes' }])
  t.equal(bad.statusCode, 400)
  t.same((await checkStoredLedger(h)).problems, [])
})

t.test('a batch is decided in at order per card, whatever the upload order', async t => {
  const h = await buildTestApp(t)
  // 150 fen on the card: the earlier ride is paid in full, the later one leaves 50 owed, though
  // the terminal uploaded the later one first.
  await h.admin('POST', '/v1/admin/cards', { cardNo: 'JN0000099', issuer: JINAN, accounts: { bank: 150 } })
  const later = { tapId: tapId('late'), at: localAt(-600_000), card: physical('JN0000099', JINAN), offline: true }
  const earlier = { tapId: tapId('early'), at: localAt(-3_600_000), card: physical('JN0000099', JINAN), offline: true }
  const r = await upload(h, 'jinan-bus-01', [later, earlier])
  t.match(r.json.results[0].tap, { tapId: later.tapId, amount: 100, balance: 0, debt: 50 }, 'answers stay in upload order')
  t.match(r.json.results[1].tap, { tapId: earlier.tapId, amount: 100, balance: 50 })
  t.notOk('debt' in r.json.results[1].tap)
})
