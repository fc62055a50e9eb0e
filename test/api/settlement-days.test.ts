// Settlement days (api-v1 1.1, docs/settlement.md) through the real app, on either engine
// (YKT_TEST_ENGINE=postgres scripts/with-postgres.sh npx tap test/api/settlement-days.test.ts).
// The service clock is injected: taps are recorded "yesterday", then the clock moves to today.
import t, { type Test } from 'tap'
import { signedHeaders } from '../../src/auth/signature.js'
import { demoSecret } from '../../src/service/demo-seed.js'
import { settlementDayOf } from '../../src/ledger/settlement-days.js'
import { ADMIN_TOKEN, buildTestApp, localAt, physical, tapId, type TestApp } from '../helpers/app.js'
import { execStoredLedger } from '../helpers/engine.js'

const DAY_MS = 86_400_000
const JN = '370100'
const QD = '370200'
const ZZ = '410100'
const noonOf = (date: string): number => Date.parse(`${date}T12:00:00+08:00`)
const YESTERDAY = settlementDayOf(Date.now() - DAY_MS)
const TODAY = settlementDayOf(Date.now())
const PHARMACY_ITEMS = [
  { code: 'X-J01CA04-amoxicillin', class: 'A', amount: 2000 },
  { code: 'X-C10AA05-atorvastatin', class: 'B', amount: 3000 },
  { code: 'X-vitamin-c-chewable', class: 'self', amount: 1500 }
]

interface Clocked { h: TestApp, clock: { nowMs: number } }

async function clockedApp (t: Test, o: { opsToken?: string } = {}): Promise<Clocked> {
  const clock = { nowMs: noonOf(YESTERDAY) }
  const h = await buildTestApp(t, { nowMs: () => clock.nowMs, ...o })
  return { h, clock }
}

async function tapAt ({ h, clock }: Clocked, terminalId: string, cardNo: string, issuer: string, extra: Record<string, unknown> = {}): Promise<any> {
  const body = { tapId: tapId('sd'), at: localAt(0, clock.nowMs), card: physical(cardNo, issuer), ...extra }
  const r = await h.tap(terminalId, body, { nowMs: clock.nowMs })
  return { ...r.json, tapId: body.tapId }
}

async function reverse ({ h, clock }: Clocked, terminalId: string, id: string): Promise<number> {
  const url = `/v1/terminal/taps/${id}/reversal`
  const r = await h.app.inject({ method: 'POST', url, headers: signedHeaders({ terminalId, secret: demoSecret(terminalId), method: 'POST', path: url, nowMs: clock.nowMs }) })
  return r.statusCode
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0)

t.test('a day: open figures, CSV, a reversal the next day, close, close again, a late tap, the check', async t => {
  const c = await clockedApp(t)
  const { h, clock } = c
  // Yesterday: taps in Jinan and Qingdao, cards of three issuers; one declined (a lost card).
  const jnHome = await tapAt(c, 'jinan-bus-01', 'JN0000001', JN)
  const jnAway = await tapAt(c, 'qingdao-bus-01', 'JN0000001', JN)
  const qdHome = await tapAt(c, 'qingdao-bus-01', 'QD0000001', QD)
  const zzAway = await tapAt(c, 'jinan-bus-01', 'ZZ0000001', ZZ)
  const rx = await tapAt(c, 'jinan-pharmacy-01', 'QD0000002', QD, { amount: 6500, context: { items: PHARMACY_ITEMS } })
  const lost = await tapAt(c, 'jinan-bus-01', 'JN0000004', JN)
  for (const tap of [jnHome, jnAway, qdHome, zzAway, rx]) t.equal(tap.decision, 'approved', `${tap.tapId} approved`)
  t.equal(lost.decision, 'declined')
  t.ok(jnHome.amount > 0 && jnAway.amount > 0, 'bus taps charge')

  const open = await h.admin('GET', `/v1/admin/settlement/days/${YESTERDAY}`)
  t.equal(open.statusCode, 200)
  t.equal(open.json.status, 'open')
  t.equal(open.json.date, YESTERDAY)
  const op = (operator: string, city: string, scenario: string): any => open.json.operators.find((o: any) => o.city === city && o.scenario === scenario && (operator === '' || o.operator === operator))
  t.match(op('', 'jinan', 'bus'), { taps: 2, amount: jnHome.amount + zzAway.amount, refunded: 0, net: jnHome.amount + zzAway.amount })
  t.match(op('', 'qingdao', 'bus'), { taps: 2, amount: jnAway.amount + qdHome.amount, refunded: 0 })
  t.match(op('', 'jinan', 'pharmacy'), { taps: 1, amount: 6500, refunded: 0, net: 6500 })
  const pos = (report: any, issuerCity: string, acquirerCity: string): number | undefined =>
    report.positions.find((p: any) => p.issuerCity === issuerCity && p.acquirerCity === acquirerCity)?.amount
  t.equal(pos(open.json, 'jinan', 'jinan'), jnHome.amount, 'same city pairs are included')
  t.equal(pos(open.json, 'jinan', 'qingdao'), jnAway.amount)
  t.equal(pos(open.json, 'zhengzhou', 'jinan'), zzAway.amount)
  t.equal(pos(open.json, 'qingdao', 'jinan'), 6500)
  t.equal(pos(open.json, 'qingdao', 'qingdao'), qdHome.amount)
  const dayNet = sum(open.json.operators.map((o: any) => o.net))
  t.equal(sum(open.json.positions.map((p: any) => p.amount)), dayNet, 'operators and positions agree')
  t.same(open.json.reconciliation, { operatorLegsNet: dayNet, matches: true }, 'the postings agree')

  const csv = await h.app.inject({ method: 'GET', url: `/v1/admin/settlement/days/${YESTERDAY}?format=csv`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  t.equal(csv.statusCode, 200)
  t.match(csv.headers['content-type'], /^text\/csv/)
  const lines = csv.body.trimEnd().split('\r\n')
  t.equal(lines[0], 'operator,city,scenario,taps,amount,refunded,net')
  t.equal(lines.length, open.json.operators.length + 1, 'one line per operator row')
  const pharmacyLine = lines.find(l => l.includes(',jinan,pharmacy,'))!
  t.match(pharmacyLine, /,jinan,pharmacy,1,6500,0,6500$/)

  // Not over yet: today and the future are refused; bad dates are bad input.
  t.equal((await h.admin('POST', `/v1/admin/settlement/days/${YESTERDAY}/close`)).statusCode, 409, 'the service clock is still in that day')
  t.equal((await h.admin('POST', `/v1/admin/settlement/days/${TODAY}/close`)).statusCode, 409, 'a future day')
  for (const bad of ['2026-02-30', '2026-13-01', '20260101', 'yesterday']) {
    t.equal((await h.admin('POST', `/v1/admin/settlement/days/${bad}/close`)).statusCode, 400, `close ${bad}`)
    t.equal((await h.admin('GET', `/v1/admin/settlement/days/${bad}`)).statusCode, 400, `read ${bad}`)
  }
  t.equal((await h.admin('GET', `/v1/admin/settlement/days/${YESTERDAY}?format=xml`)).statusCode, 400)

  // Today: the pharmacy tap of yesterday is reversed. The money goes back today, not yesterday.
  clock.nowMs = noonOf(TODAY)
  t.equal(await reverse(c, 'jinan-pharmacy-01', rx.tapId), 200)
  t.same((await h.admin('GET', `/v1/admin/settlement/days/${YESTERDAY}`)).json, open.json, 'yesterday unchanged by a reversal made today')
  const today = (await h.admin('GET', `/v1/admin/settlement/days/${TODAY}`)).json
  t.match(today.operators, [{ city: 'jinan', scenario: 'pharmacy', taps: 0, amount: 0, refunded: 6500, net: -6500 }])
  t.same(today.positions, [{ issuerCity: 'qingdao', acquirerCity: 'jinan', amount: -6500 }])
  t.same(today.reconciliation, { operatorLegsNet: -6500, matches: true })

  // Close yesterday: settlement transfers between the clearing accounts, the day frozen.
  const closed = await h.admin('POST', `/v1/admin/settlement/days/${YESTERDAY}/close`)
  t.equal(closed.statusCode, 200)
  t.match(closed.json, { date: YESTERDAY, status: 'closed', closedAt: new Date(clock.nowMs).toISOString() })
  t.same(closed.json.operators, open.json.operators)
  t.same(closed.json.positions, open.json.positions)
  const transfers = await h.query(`SELECT tr.ref, a.code, p.amount FROM transfers tr JOIN postings p ON p.transfer_id = tr.id
    JOIN accounts a ON a.id = p.account_id WHERE tr.kind = 'settlement' ORDER BY tr.ref, a.code`)
  const cross = open.json.positions.filter((p: any) => p.issuerCity !== p.acquirerCity && p.amount !== 0)
  t.equal(transfers.length, 2 * cross.length, 'one two-legged transfer per cross-city position')
  for (const p of cross) {
    const ref = `settlement:${YESTERDAY}:${p.issuerCity}:${p.acquirerCity}`
    const legs = transfers.filter((r: any) => r.ref === ref).map((r: any) => [r.code, Number(r.amount)])
    t.same(legs.sort(), [[`clearing:${p.acquirerCity}`, -p.amount], [`clearing:${p.issuerCity}`, p.amount]].sort(), ref)
  }
  t.same((await h.admin('POST', `/v1/admin/settlement/days/${YESTERDAY}/close`)).json, closed.json, 'closing twice answers the same')
  t.equal((await h.query("SELECT COUNT(*) AS n FROM transfers WHERE kind = 'settlement'"))[0].n.toString(), String(cross.length), 'and posts nothing more')
  t.same((await h.admin('GET', `/v1/admin/settlement/days/${YESTERDAY}`)).json, closed.json, 'a closed day answers its stored report')
  t.match((await h.admin('GET', '/v1/admin/ledger/check')).json, { ok: true, problems: [] })

  // A late tap (its `at` yesterday) recorded today falls in today; yesterday never changes.
  const late = await h.tap('qingdao-bus-01', { tapId: tapId('late'), at: localAt(-DAY_MS + 3 * 3_600_000, clock.nowMs), card: physical('JN0000001', JN) }, { nowMs: clock.nowMs })
  t.equal(late.json.decision, 'approved', JSON.stringify(late.json))
  t.same((await h.admin('GET', `/v1/admin/settlement/days/${YESTERDAY}`)).json, closed.json, 'the closed day is frozen')
  const todayAfter = (await h.admin('GET', `/v1/admin/settlement/days/${TODAY}`)).json
  t.equal(todayAfter.positions.find((p: any) => p.issuerCity === 'jinan' && p.acquirerCity === 'qingdao')?.amount, late.json.amount, 'the late tap is today\'s')
  t.match((await h.admin('GET', '/v1/admin/ledger/check')).json, { ok: true })
})

t.test('the check names a closed day whose report or settlement posting was tampered with', async t => {
  const c = await clockedApp(t)
  const { h, clock } = c
  t.equal((await tapAt(c, 'qingdao-bus-01', 'JN0000001', JN)).decision, 'approved')
  t.equal((await tapAt(c, 'jinan-bus-01', 'ZZ0000001', ZZ)).decision, 'approved')
  clock.nowMs = noonOf(TODAY)
  t.equal((await h.admin('POST', `/v1/admin/settlement/days/${YESTERDAY}/close`)).statusCode, 200)
  t.match((await h.admin('GET', '/v1/admin/ledger/check')).json, { ok: true })
  const where = { dbPath: h.dbPath, databaseUrl: h.databaseUrl }
  const day = `settlement day ${YESTERDAY}`

  // The stored report says 2 taps where the journal has 1.
  await execStoredLedger(where, `UPDATE settlement_days SET report = REPLACE(report, '"taps":1,', '"taps":2,') WHERE day = '${YESTERDAY}'`)
  const reportTampered = (await h.admin('GET', '/v1/admin/ledger/check')).json
  t.equal(reportTampered.ok, false)
  t.ok(reportTampered.problems.some((p: string) => p.startsWith(day) && p.includes('operators')), 'names the day and what differs')
  await execStoredLedger(where, `UPDATE settlement_days SET report = REPLACE(report, '"taps":2,', '"taps":1,') WHERE day = '${YESTERDAY}'`)
  t.match((await h.admin('GET', '/v1/admin/ledger/check')).json, { ok: true }, 'put back')

  // One settlement leg moved by a fen.
  await execStoredLedger(where, `UPDATE postings SET amount = amount + 1 WHERE amount > 0 AND transfer_id =
    (SELECT MIN(id) FROM transfers WHERE kind = 'settlement' AND ref LIKE 'settlement:${YESTERDAY}:%')`)
  const postingTampered = (await h.admin('GET', '/v1/admin/ledger/check')).json
  t.equal(postingTampered.ok, false)
  t.ok(postingTampered.problems.some((p: string) => p.startsWith(day) && p.includes('settlement postings')), 'names the day and the position')
})

t.test('ops may read a day, not close it', async t => {
  const c = await clockedApp(t, { opsToken: 'test-ops-token' })
  const ops = async (method: 'GET' | 'POST', url: string): Promise<number> =>
    (await c.h.app.inject({ method, url, headers: { authorization: 'Bearer test-ops-token' } })).statusCode
  t.equal(await ops('GET', `/v1/admin/settlement/days/${YESTERDAY}`), 200)
  t.equal(await ops('GET', `/v1/admin/settlement/days/${YESTERDAY}?format=csv`), 200)
  c.clock.nowMs = noonOf(TODAY)
  t.equal(await ops('POST', `/v1/admin/settlement/days/${YESTERDAY}/close`), 403)
  const empty = await c.h.admin('POST', `/v1/admin/settlement/days/${YESTERDAY}/close`)
  t.match(empty.json, { status: 'closed', operators: [], positions: [], reconciliation: { operatorLegsNet: 0, matches: true } }, 'a day with no taps closes empty')
})

t.test('two closes of one day at once: one posts, both answer the same', async t => {
  const c = await clockedApp(t)
  t.equal((await tapAt(c, 'qingdao-bus-01', 'JN0000001', JN)).decision, 'approved')
  t.equal((await tapAt(c, 'zhengzhou-bus-01', 'QD0000001', QD)).decision, 'approved')
  c.clock.nowMs = noonOf(TODAY)
  // On PostgreSQL two admin lanes: the day's advisory lock makes the second wait and find it closed.
  const [a, b] = await Promise.all([1, 2].map(async () => await c.h.admin('POST', `/v1/admin/settlement/days/${YESTERDAY}/close`)))
  t.equal(a!.statusCode, 200)
  t.same(b!.json, a!.json)
  t.equal(String((await c.h.query("SELECT COUNT(*) AS n FROM transfers WHERE kind = 'settlement'"))[0].n), '2', 'jinan→qingdao and qingdao→zhengzhou, once each')
  t.match((await c.h.admin('GET', '/v1/admin/ledger/check')).json, { ok: true })
})
