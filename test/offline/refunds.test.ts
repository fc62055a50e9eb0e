// api-v1.1 refunds, as a pharmacy till and a back office would use them (and misuse them).
import t from 'tap'
import { buildTestApp, localAt, physical, tapId } from '../helpers/app.js'
import { checkStoredLedger } from '../helpers/engine.js'
import { terminalPost, upload } from './helpers.js'

const JINAN = '370100'
const BASKET = { amount: 3000, context: { items: [{ code: 'X-J01CA04-amoxicillin', class: 'A', amount: 1000 }, { code: 'X-vitamin-c-chewable', class: 'self', amount: 2000 }] } }

async function basket (h: Awaited<ReturnType<typeof buildTestApp>>): Promise<{ tapId: string, answer: any }> {
  const id = tapId('rx')
  const r = await h.tap('jinan-pharmacy-01', { tapId: id, at: localAt(), card: physical('JN0000001', JINAN), ...BASKET })
  return { tapId: id, answer: r.json }
}

t.test('a partial refund, its replay, a conflicting reuse, the rest, and nothing beyond the charge', async t => {
  const h = await buildTestApp(t)
  const { tapId: id, answer } = await basket(h)
  t.equal(answer.decision, 'approved')
  const paid = Object.fromEntries((answer.payments ?? [{ account: answer.account, amount: answer.amount }]).map((p: { account: string, amount: number }) => [p.account, p.amount]))
  const before = (await h.admin('GET', '/v1/admin/cards/JN0000001')).json.balances
  const url = `/v1/admin/taps/jinan-pharmacy-01/${id}/refund`

  const part = await h.admin('POST', url, { amount: 500, reference: 'rx-return-1' })
  t.equal(part.statusCode, 200)
  t.same(part.json, { refunded: 500, payments: [{ account: 'bank', amount: 500 }], debtCancelled: 0 }, 'the holder\'s own money first')
  t.same(await h.admin('POST', url, { amount: 500, reference: 'rx-return-1' }).then(r => r.json), part.json, 'replayed, not paid twice')
  t.same(await h.admin('POST', url, { reference: 'rx-return-1' }).then(r => r.json), part.json, 'replayed without its amount too')
  t.equal((await h.admin('POST', url, { amount: 700, reference: 'rx-return-1' })).statusCode, 409, 'same reference, other amount')
  t.equal((await h.admin('POST', url, { amount: 2501, reference: 'rx-return-2' })).statusCode, 409, 'more than is left')
  const rest = await h.admin('POST', url, { reference: 'rx-return-3' })
  t.equal(rest.json.refunded, 3000, 'the rest, by default')
  const after = (await h.admin('GET', '/v1/admin/cards/JN0000001')).json.balances
  t.equal(after.bank - before.bank, paid.bank ?? 0, 'bank part back')
  t.equal(after.medical - before.medical, paid.medical ?? 0, 'medical part back')
  t.equal((await h.admin('POST', url, { amount: 1, reference: 'rx-return-4' })).statusCode, 409, 'refunded in full already')
  // A reversal of a refunded tap would give the money back twice.
  const reversal = await terminalPost(h, 'jinan-pharmacy-01', `/v1/terminal/taps/${id}/reversal`)
  t.equal(reversal.statusCode, 409)
  t.same((await checkStoredLedger(h)).problems, [])
})

t.test('refund refusals change nothing', async t => {
  const h = await buildTestApp(t)
  const { tapId: id } = await basket(h)
  const declined = tapId('rx')
  await h.tap('jinan-pharmacy-01', { tapId: declined, at: localAt(), card: physical('JN0000004', JINAN), ...BASKET })
  const before = await h.admin('GET', '/v1/admin/cards/JN0000001')
  const cases: Array<[string, unknown, number]> = [
    [`/v1/admin/taps/jinan-pharmacy-01/${id}/refund`, { amount: 0, reference: 'r0' }, 400],
    [`/v1/admin/taps/jinan-pharmacy-01/${id}/refund`, { amount: 1.5, reference: 'r1' }, 400],
    [`/v1/admin/taps/jinan-pharmacy-01/${id}/refund`, { amount: 10 }, 400],
    [`/v1/admin/taps/jinan-pharmacy-01/${id}/refund`, { amount: 10, reference: 'has space' }, 400],
    [`/v1/admin/taps/jinan-pharmacy-01/${id}/refund`, { amount: 10, reference: 'r2', extra: 1 }, 400],
    ['/v1/admin/taps/jinan-pharmacy-01/no-such-tap/refund', { reference: 'r3' }, 404],
    [`/v1/admin/taps/jinan-bus-01/${id}/refund`, { reference: 'r4' }, 404],
    [`/v1/admin/taps/jinan-pharmacy-01/${declined}/refund`, { reference: 'r5' }, 409]
  ]
  for (const [url, body, status] of cases) t.equal((await h.admin('POST', url, body)).statusCode, status, `${JSON.stringify(body)} → ${status}`)
  t.same((await h.admin('GET', '/v1/admin/cards/JN0000001')).json, before.json, 'nothing moved')
  const rows = await h.query('SELECT COUNT(*) AS n FROM refunds')
  t.equal(Number(rows[0].n), 0)
})

t.test('a refund of an offline tap cancels its unpaid part before it returns money', async t => {
  const h = await buildTestApp(t)
  const id = tapId('off')
  const r = await upload(h, 'jinan-bus-01', [{ tapId: id, at: localAt(-60_000), card: physical('JN0000006', JINAN), offline: true }])
  t.match(r.json.results[0].tap, { amount: 100, debt: 50 })
  const refund = await h.admin('POST', `/v1/admin/taps/jinan-bus-01/${id}/refund`, { amount: 70, reference: 'fare-dispute-1' })
  t.same(refund.json, { refunded: 70, payments: [{ account: 'bank', amount: 20 }], debtCancelled: 50 })
  t.match((await h.admin('GET', '/v1/admin/cards/JN0000006')).json, { balances: { bank: 20 }, debt: 0 })
  // Off the deny list, and online again.
  const online = await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: physical('JN0000006', JINAN) })
  t.not(online.json.reason, 'CARD_IN_DEBT')
  t.same((await checkStoredLedger(h)).problems, [])
})

t.test('the refund is audited by tap, never by card number', async t => {
  const h = await buildTestApp(t)
  const { tapId: id } = await basket(h)
  await h.admin('POST', `/v1/admin/taps/jinan-pharmacy-01/${id}/refund`, { amount: 100, reference: 'JN0000001-return' })
  const trail = await h.admin('GET', '/v1/admin/audit')
  const row = trail.json.entries.find((e: { action: string }) => e.action === 'tap.refund')
  t.match(row, { action: 'tap.refund', target: { kind: 'terminal', id: 'jinan-pharmacy-01' } })
  t.notMatch(JSON.stringify(trail.json), /JN0000001/, 'no card number in the trail')
})
