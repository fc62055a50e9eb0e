// Payments priced at the terminal (tolls, ferries, utility bills, bank payments), real tariff files.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { localTime } from '../../src/rules/local-time.js'
import { terminalPayment, type PaymentTariff } from '../../src/rules/terminal-payment.js'
import type { CardFacts, CityCode, RuleInput } from '../../src/rules/types.js'

const SCENARIOS = ['highway-etc', 'ferry', 'utility-water', 'utility-electricity', 'utility-gas', 'bank-payment']
const tariffs = Object.fromEntries(SCENARIOS.map(scenario => [scenario,
  JSON.parse(readFileSync(new URL(`../../fixtures/tariffs/${scenario}.json`, import.meta.url), 'utf8'))])) as Record<string, Record<CityCode, PaymentTariff>>

const holder: CardFacts = { cardNo: 'QD0000001', issuer: '370200', issuerCity: 'qingdao', birthDate: '1985-04-12', categories: [], balances: { bank: 50000, medical: 30000 } }

interface Tap { scenario: string, city?: CityCode, amount: number | null, on?: string, context?: Record<string, unknown>, receivedAtMs?: number }

function input (tap: Tap, state: Record<string, unknown> = {}): RuleInput<PaymentTariff | undefined> {
  const city = tap.city ?? 'qingdao'
  return {
    tap: { tapId: 't', at: localTime(Date.parse(`${tap.on ?? '2026-07-01'}T10:00:00+08:00`), 480), amount: tap.amount, context: tap.context ?? {}, cardType: 'physical', ...(tap.receivedAtMs === undefined ? {} : { receivedAtMs: tap.receivedAtMs }) },
    card: holder,
    terminal: { terminalId: 'pay-1', city, scenario: tap.scenario, operator: `${city}-${tap.scenario}`, location: {} },
    scenario: { code: tap.scenario, domain: 'government', module: 'terminal-payment', pricedAtTerminal: true, accounts: ['bank'] },
    tariff: tariffs[tap.scenario]?.[city],
    policies: {},
    city: undefined,
    state: { get: key => state[key] }
  }
}

const dayKey = 'payment:bank-payment:days'
const cases: Array<{ name: string, tap: Tap, state?: Record<string, unknown>, expect: Record<string, unknown>, writes?: unknown }> = [
  { name: 'ETC toll from the bank account', tap: { scenario: 'highway-etc', amount: 4500, context: { reference: 'LU-B12345' } }, expect: { decision: 'approved', payments: [{ account: 'bank', amount: 4500 }], details: { reference: 'LU-B12345' } }, writes: undefined },
  { name: 'ferry ticket', tap: { scenario: 'ferry', amount: 800 }, expect: { decision: 'approved', payments: [{ account: 'bank', amount: 800 }] } },
  { name: 'toll over the per-tap limit', tap: { scenario: 'highway-etc', amount: 500001 }, expect: { decision: 'declined', reason: 'AMOUNT_LIMIT', details: { amountFenMax: 500000 } } },
  { name: 'a 0-fen payment', tap: { scenario: 'ferry', amount: 0 }, expect: { decision: 'declined', reason: 'AMOUNT_LIMIT' } },
  { name: 'no amount', tap: { scenario: 'ferry', amount: null }, expect: { decision: 'declined', reason: 'AMOUNT_REQUIRED' } },
  { name: 'water bill without a customer number', tap: { scenario: 'utility-water', amount: 12000 }, expect: { decision: 'declined', reason: 'REFERENCE_REQUIRED' } },
  { name: 'water bill', tap: { scenario: 'utility-water', city: 'zhengzhou', amount: 12000, context: { reference: '0371-889900' } }, expect: { decision: 'approved', payments: [{ account: 'bank', amount: 12000 }] } },
  { name: 'electricity bill at the limit', tap: { scenario: 'utility-electricity', city: 'jinan', amount: 1000000, context: { reference: 'E1' } }, expect: { decision: 'approved' } },
  { name: 'gas bill over the limit', tap: { scenario: 'utility-gas', amount: 1000001, context: { reference: 'G1' } }, expect: { decision: 'declined', reason: 'AMOUNT_LIMIT' } },
  { name: 'bank payment over the no-PIN limit', tap: { scenario: 'bank-payment', amount: 100001 }, expect: { decision: 'declined', reason: 'AMOUNT_LIMIT' } },
  // Daily cap: one total per local date, under one key (source: tariff bank-payment.json dailyAmountFenMax).
  { name: 'bank payment starts the day total', tap: { scenario: 'bank-payment', amount: 30000 }, expect: { decision: 'approved' }, writes: [{ key: dayKey, value: { '2026-07-01': 30000 } }] },
  { name: 'bank payment up to the daily cap', tap: { scenario: 'bank-payment', amount: 50000 }, state: { [dayKey]: { '2026-07-01': 450000 } }, expect: { decision: 'approved' }, writes: [{ key: dayKey, value: { '2026-07-01': 500000 } }] },
  { name: 'bank payment over the daily cap', tap: { scenario: 'bank-payment', amount: 50001 }, state: { [dayKey]: { '2026-07-01': 450000 } }, expect: { decision: 'declined', reason: 'DAILY_LIMIT', details: { paidTodayFen: 450000 } } },
  { name: 'yesterday\'s total does not count today', tap: { scenario: 'bank-payment', amount: 50001 }, state: { [dayKey]: { '2026-06-30': 450000 } }, expect: { decision: 'approved' }, writes: [{ key: dayKey, value: { '2026-06-30': 450000, '2026-07-01': 50001 } }] },
  // Issue 13 item 3, the attack: alternate `at` between today and yesterday. Once today is counted, a
  // tap dated yesterday counts today, so it gains no headroom.
  { name: 'backdated to yesterday after today is counted: counted today', tap: { scenario: 'bank-payment', amount: 100000, on: '2026-06-30' }, state: { [dayKey]: { '2026-06-30': 0, '2026-07-01': 450000 } }, expect: { decision: 'declined', reason: 'DAILY_LIMIT', details: { countedOn: '2026-07-01', paidTodayFen: 450000 } } },
  { name: 'backdated within the cap: added to today\'s total', tap: { scenario: 'bank-payment', amount: 10000, on: '2026-06-30' }, state: { [dayKey]: { '2026-07-01': 100000 } }, expect: { decision: 'approved' }, writes: [{ key: dayKey, value: { '2026-07-01': 110000 } }] },
  { name: 'dated two days before the newest counted date: too old', tap: { scenario: 'bank-payment', amount: 100, on: '2026-06-29' }, state: { [dayKey]: { '2026-07-01': 100 } }, expect: { decision: 'declined', reason: 'TAP_TOO_OLD', details: { newestCountedOn: '2026-07-01', backdateDaysMax: 1 } } },
  { name: 'received long after its `at` (backdateMinutesMax): too old', tap: { scenario: 'bank-payment', amount: 100, receivedAtMs: Date.parse('2026-07-01T10:30:00+08:00') }, expect: { decision: 'declined', reason: 'TAP_TOO_OLD', details: { backdateMinutesMax: 10 } } },
  { name: 'received within backdateMinutesMax', tap: { scenario: 'bank-payment', amount: 100, receivedAtMs: Date.parse('2026-07-01T10:05:00+08:00') }, expect: { decision: 'approved' } },
  { name: 'bounded: a fourth date prunes the oldest', tap: { scenario: 'bank-payment', amount: 100, on: '2026-07-04' }, state: { [dayKey]: { '2026-07-01': 1, '2026-07-02': 2, '2026-07-03': 3 } }, expect: { decision: 'approved' }, writes: [{ key: dayKey, value: { '2026-07-02': 2, '2026-07-03': 3, '2026-07-04': 100 } }] },
  { name: 'malformed state counts as nothing', tap: { scenario: 'bank-payment', amount: 100 }, state: { [dayKey]: { '2026-07-01': 'x', junk: 5 } }, expect: { decision: 'approved' }, writes: [{ key: dayKey, value: { '2026-07-01': 100 } }] },
  { name: 'no tariff in the city', tap: { scenario: 'no-such-scenario', amount: 100 }, expect: { decision: 'declined', reason: 'NOT_OFFERED_HERE' } }
]

t.test('payments', async t => {
  for (const c of cases) {
    const decision = terminalPayment.decide(input(c.tap, c.state))
    t.match(decision, c.expect, c.name)
    if ('writes' in c) t.same(decision.decision === 'approved' ? decision.stateWrites : undefined, c.writes, `${c.name}: state`)
    if (decision.decision === 'declined') t.ok(terminalPayment.reasons[decision.reason], `${decision.reason} documented`)
  }
})

t.test('fixtures: every payment scenario has all three cities with sane limits', async t => {
  for (const scenario of SCENARIOS) {
    for (const city of ['jinan', 'qingdao', 'zhengzhou'] as const) {
      const tariff = tariffs[scenario]?.[city]
      t.ok(tariff !== undefined && tariff.amountFenMin >= 1 && tariff.amountFenMax >= tariff.amountFenMin, `${scenario} ${city}`)
    }
  }
})

t.test('context schema', async t => {
  const validate = new Ajv({ strict: false }).compile(terminalPayment.contextSchema)
  t.ok(validate({}))
  t.ok(validate({ reference: 'ABC-123' }))
  t.notOk(validate({ reference: 'has spaces' }))
  t.notOk(validate({ amount: 1 }), 'unknown fields rejected')
})

t.test('the alternating-date attack of issue 13 item 3, played tap by tap', async t => {
  // 9,000 yuan "today" against a 5,000 cap was approved when one date per card was kept.
  const state: Record<string, unknown> = {}
  let approvedFen = 0
  for (let i = 0; i < 18; i++) {
    const on = i % 2 === 0 ? '2026-07-01' : '2026-06-30'
    const decision = terminalPayment.decide(input({ scenario: 'bank-payment', amount: 50000, on }, state))
    if (decision.decision !== 'approved') continue
    approvedFen += 50000
    for (const write of decision.stateWrites ?? []) state[write.key] = write.value
  }
  t.equal(approvedFen, 500000, 'at most the daily cap across both dates')
})
