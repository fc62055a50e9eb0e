// Settlement days below the API: the pure report and check (settlement-days.ts,
// settlement-day-check.ts), the CSV, and refunds (rows written straight into the ledger, as the
// refund endpoint of issue #10 part 1 will write them) on either engine.
import t from 'tap'
import { operatorsCsv } from '../../src/api/settlement-csv.js'
import { settlementDayProblems } from '../../src/ledger/settlement-day-check.js'
import {
  buildSettlementDay, daySql, isSettlementDate, settlementDayClosable, settlementDayEndMs, settlementDayOf, type SettlementJournalRow
} from '../../src/ledger/settlement-days.js'
import { SETTLEMENT_DAY_CLOSE_GRACE_MS } from '../../src/constants.js'
import { buildTestApp, localAt, physical, tapId } from '../helpers/app.js'

const CITIES: Record<string, string> = { 370100: 'jinan', 370200: 'qingdao', 410100: 'zhengzhou' }
const cityOf = (issuer: string): string => CITIES[issuer] ?? issuer
const row = (o: Partial<SettlementJournalRow>): SettlementJournalRow =>
  ({ operator: 'jinan-bus', city: 'jinan', scenario: 'bus', issuer: '370100', taps: 1, amount: 200, refunded: 0, ...o })

t.test('days are Shanghai calendar days; a day closes once over, and a grace later', async t => {
  t.equal(settlementDayOf(Date.parse('2026-07-01T15:59:59.999Z')), '2026-07-01')
  t.equal(settlementDayOf(Date.parse('2026-07-01T16:00:00.000Z')), '2026-07-02', 'Shanghai midnight is 16:00 UTC')
  t.equal(settlementDayEndMs('2026-07-01'), Date.parse('2026-07-01T16:00:00Z'))
  t.notOk(settlementDayClosable('2026-07-01', Date.parse('2026-07-01T16:00:00Z')), 'not at midnight')
  t.notOk(settlementDayClosable('2026-07-01', Date.parse('2026-07-01T16:00:00Z') + SETTLEMENT_DAY_CLOSE_GRACE_MS - 1))
  t.ok(settlementDayClosable('2026-07-01', Date.parse('2026-07-01T16:00:00Z') + SETTLEMENT_DAY_CLOSE_GRACE_MS))
  for (const good of ['2026-07-01', '2024-02-29']) t.ok(isSettlementDate(good), good)
  for (const bad of ['2026-02-29', '2026-02-30', '2026-13-01', '2026-7-1', '2026-07-01T00:00', '', 'x']) t.notOk(isSettlementDate(bad), bad)
})

t.test('one SQL text, each engine\'s placeholders', async t => {
  const sql = 'a >= :from AND a < :to AND b >= :from AND d = :day'
  t.same(daySql(sql, 'sqlite', { from: 'F', to: 'T', day: 'D' }), { text: 'a >= ? AND a < ? AND b >= ? AND d = ?', values: ['F', 'T', 'F', 'D'] })
  t.same(daySql(sql, 'postgres', { from: 'F', to: 'T', day: 'D' }), { text: 'a >= $1 AND a < $2 AND b >= $1 AND d = $3', values: ['F', 'T', 'D'] })
})

t.test('the report: operators over issuers, positions over operators, both the same nets', async t => {
  const report = buildSettlementDay('2026-07-01', {
    rows: [
      row({ issuer: '370100', taps: 2, amount: 400 }),
      row({ issuer: '410100', taps: 1, amount: 200, refunded: 200 }),
      row({ operator: 'qingdao-bus', city: 'qingdao', issuer: '370100', taps: 3, amount: 600 }),
      row({ operator: 'jinan-pharmacy', scenario: 'pharmacy', issuer: '370200', taps: 0, amount: 0, refunded: 6500 })
    ],
    operatorLegsNet: 400 + 0 + 600 - 6500
  }, cityOf)
  t.same(report.operators, [
    { operator: 'jinan-bus', city: 'jinan', scenario: 'bus', taps: 3, amount: 600, refunded: 200, net: 400 },
    { operator: 'jinan-pharmacy', city: 'jinan', scenario: 'pharmacy', taps: 0, amount: 0, refunded: 6500, net: -6500 },
    { operator: 'qingdao-bus', city: 'qingdao', scenario: 'bus', taps: 3, amount: 600, refunded: 0, net: 600 }
  ])
  t.same(report.positions, [
    { issuerCity: 'jinan', acquirerCity: 'jinan', amount: 400 },
    { issuerCity: 'jinan', acquirerCity: 'qingdao', amount: 600 },
    { issuerCity: 'qingdao', acquirerCity: 'jinan', amount: -6500 },
    { issuerCity: 'zhengzhou', acquirerCity: 'jinan', amount: 0 }
  ])
  t.same(report.reconciliation, { operatorLegsNet: -5500, matches: true })
  t.equal(report.status, 'open')
  t.same(buildSettlementDay('2026-07-01', { rows: [row({})], operatorLegsNet: 199 }, cityOf).reconciliation, { operatorLegsNet: 199, matches: false },
    'postings that disagree show as matches: false')
  t.throws(() => buildSettlementDay('2026-07-01', { rows: [row({ amount: 0.5 })], operatorLegsNet: 0 }, cityOf), { code: 'LEDGER_INVARIANT' }, 'fen are integers')
})

t.test('CSV: a header, RFC 4180 quoting, no formula from an operator name', async t => {
  const csv = operatorsCsv([
    { operator: 'jinan-bus', city: 'jinan', scenario: 'bus', taps: 1, amount: 200, refunded: 0, net: 200 },
    { operator: 'a,"b"', city: 'jinan', scenario: 'bus', taps: 0, amount: 0, refunded: 10, net: -10 },
    { operator: '=HYPERLINK("x")', city: 'jinan', scenario: 'bus', taps: 1, amount: 1, refunded: 0, net: 1 }
  ])
  t.equal(csv, 'operator,city,scenario,taps,amount,refunded,net\r\n' +
    'jinan-bus,jinan,bus,1,200,0,200\r\n' +
    '"a,""b""",jinan,bus,0,0,10,-10\r\n' +
    '"\'=HYPERLINK(""x"")",jinan,bus,1,1,0,1\r\n')
  t.equal(operatorsCsv([]), 'operator,city,scenario,taps,amount,refunded,net\r\n', 'an empty day: the header alone')
})

t.test('the check of closed days, on rows', async t => {
  const journal = { stored: undefined, rows: [row({ operator: 'qingdao-bus', city: 'qingdao', amount: 300 })], operatorLegsNet: 300 }
  const report = { ...buildSettlementDay('2026-07-01', journal, cityOf), status: 'closed', closedAt: 'x', issuerCities: CITIES }
  const closed = [{ day: '2026-07-01', report: JSON.stringify(report), journal }]
  const legs = (amount: number) => [
    { id: 7, ref: 'settlement:2026-07-01:jinan:qingdao', code: 'clearing:jinan', amount },
    { id: 7, ref: 'settlement:2026-07-01:jinan:qingdao', code: 'clearing:qingdao', amount: -amount }
  ]
  t.same(settlementDayProblems(closed, legs(300)), [])
  t.match(settlementDayProblems(closed, legs(299)), [/^settlement day 2026-07-01: position jinan→qingdao is 300 but its settlement postings are \[clearing:jinan 299, clearing:qingdao -299\]/])
  t.match(settlementDayProblems(closed, []), [/^settlement day 2026-07-01: position jinan→qingdao is 300 but its settlement postings are missing/])
  t.match(settlementDayProblems(closed, [...legs(300), ...legs(300).map(l => ({ ...l, id: 8 }))]), [/postings are \[.*\] \[.*\]/], 'posted twice')
  t.match(settlementDayProblems([], legs(300)), [/^settlement transfer settlement:2026-07-01:jinan:qingdao: names no closed settlement day/])
  const grown = [{ ...closed[0]!, journal: { ...journal, rows: [row({ operator: 'qingdao-bus', city: 'qingdao', amount: 300, taps: 2 })] } }]
  t.match(settlementDayProblems(grown, legs(300)), [/^settlement day 2026-07-01: its stored operators differ from the journal's/])
  t.match(settlementDayProblems([{ ...closed[0]!, report: '{' }], legs(300)), [/^settlement day 2026-07-01: its stored report cannot be read/])
})

t.test('refunds made today fall in today, also of a tap of a closed day (through the refund endpoint)', async t => {
  const DAY_MS = 86_400_000
  const yesterday = settlementDayOf(Date.now() - DAY_MS)
  const today = settlementDayOf(Date.now())
  const clock = { nowMs: Date.parse(`${yesterday}T12:00:00+08:00`) }
  const h = await buildTestApp(t, { nowMs: () => clock.nowMs })
  const items = [{ code: 'X-J01CA04-amoxicillin', class: 'A', amount: 2000 }, { code: 'X-vitamin-c-chewable', class: 'self', amount: 1500 }]
  const rx = async (cardNo: string, issuer: string): Promise<string> => {
    const id = tapId('rf')
    const r = await h.tap('jinan-pharmacy-01', { tapId: id, at: localAt(0, clock.nowMs), card: physical(cardNo, issuer), amount: 3500, context: { items } }, { nowMs: clock.nowMs })
    t.equal(r.json.decision, 'approved', `${id} approved`)
    return id
  }
  const refund = async (reference: string, _cardNo: string, tap: string, amountFen: number): Promise<void> => {
    const r = await h.admin('POST', `/v1/admin/taps/jinan-pharmacy-01/${tap}/refund`, { amount: amountFen, reference })
    t.equal(r.statusCode, 200, `refund ${reference}`)
  }

  const old = await rx('QD0000001', '370200')
  clock.nowMs = Date.parse(`${today}T12:00:00+08:00`)
  const closed = await h.admin('POST', `/v1/admin/settlement/days/${yesterday}/close`)
  t.equal(closed.statusCode, 200)
  const fresh = await rx('JN0000001', '370100')
  await refund('refund-old', 'QD0000001', old, 1000)
  await refund('refund-fresh-1', 'JN0000001', fresh, 500)
  await refund('refund-fresh-2', 'JN0000001', fresh, 300)

  t.same((await h.admin('GET', `/v1/admin/settlement/days/${yesterday}`)).json, closed.json, 'the closed day does not move')
  const day = (await h.admin('GET', `/v1/admin/settlement/days/${today}`)).json
  t.match(day.operators, [{ city: 'jinan', scenario: 'pharmacy', taps: 1, amount: 3500, refunded: 1000 + 500 + 300, net: 3500 - 1800 }])
  t.same(day.positions, [
    { issuerCity: 'jinan', acquirerCity: 'jinan', amount: 3500 - 800 },
    { issuerCity: 'qingdao', acquirerCity: 'jinan', amount: -1000 }
  ])
  t.same(day.reconciliation, { operatorLegsNet: 3500 - 1800, matches: true }, 'the refund transfers\' operator legs agree')
})
