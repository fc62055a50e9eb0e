// Hospital settlement (registration, outpatient, inpatient, work injury) against the real tariffs.
// Figures of the policies are placeholders (fixtures mark them unconfirmed); the cases check the
// mechanism each source describes, computed from the tariff values named in each comment.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { localTime } from '../../src/rules/local-time.js'
import { hospitalSettlement, YEARS_KEPT, type HospitalTariff } from '../../src/rules/hospital-settlement.js'
import type { AccountKind, CardFacts, CityCode, Payment, RuleInput } from '../../src/rules/types.js'

const SCENARIOS = ['hospital-registration', 'outpatient-settlement', 'inpatient-settlement', 'work-injury-settlement'] as const
type Scenario = typeof SCENARIOS[number]
const tariffs = Object.fromEntries(SCENARIOS.map(scenario => [scenario,
  JSON.parse(readFileSync(new URL(`../../fixtures/tariffs/${scenario}.json`, import.meta.url), 'utf8'))])) as Record<Scenario, Record<CityCode, HospitalTariff>>
const ISSUERS: Record<CityCode, string> = { jinan: '370100', qingdao: '370200', zhengzhou: '410100' }

function card (issuerCity: CityCode, categories = ['insured:employee'], balances: Record<AccountKind, number> = { bank: 50_000_000, medical: 30000 }): CardFacts {
  return { cardNo: 'JN0000001', issuer: ISSUERS[issuerCity], issuerCity, birthDate: '1985-04-12', categories, balances }
}

interface Tap { scenario: Scenario, city: CityCode, amount: number | null, context?: Record<string, unknown>, on?: string }

function input (tap: Tap, holder: CardFacts, state: Record<string, unknown> = {}): RuleInput<HospitalTariff | undefined> {
  return {
    tap: { tapId: 't', at: localTime(Date.parse(`${tap.on ?? '2026-07-01'}T10:00:00+08:00`), 480), amount: tap.amount, context: tap.context ?? {}, cardType: 'physical' },
    card: holder,
    terminal: { terminalId: 'his-1', city: tap.city, scenario: tap.scenario, operator: 'hospital-1', location: {} },
    scenario: { code: tap.scenario, domain: 'medical', module: 'hospital-settlement', pricedAtTerminal: tap.amount !== null, accounts: ['medical', 'bank'] },
    tariff: tariffs[tap.scenario][tap.city],
    policies: {},
    city: undefined,
    state: { get: key => state[key] }
  }
}

const CASE = { 'case:work-injury': { openedOn: '2026-06-01', city: 'jinan', reference: 'WI-1' } }
const inpatientYears = 'medical:inpatient-settlement:years'

const cases: Array<{ name: string, tap: Tap, card: CardFacts, state?: Record<string, unknown>, payments: Payment[], details?: Record<string, unknown>, writes?: unknown }> = [
  // Registration: fund 0 %, the employee's personal account pays (tariff hospital-registration.json).
  { name: 'registration at the tariff fee, from the medical account', tap: { scenario: 'hospital-registration', city: 'jinan', amount: null }, card: card('qingdao'), payments: [{ account: 'medical', amount: 1000 }], details: { totalFen: 1000, fundFen: 0, cashDueFen: 0 } },
  { name: 'registration with an empty medical account: bank', tap: { scenario: 'hospital-registration', city: 'zhengzhou', amount: null }, card: card('jinan', ['insured:employee'], { bank: 5000, medical: 0 }), payments: [{ account: 'bank', amount: 1000 }] },
  // Source: resident insurance has no personal account (domain.md second review).
  { name: 'resident insurance: no personal account, the bank pays', tap: { scenario: 'hospital-registration', city: 'jinan', amount: null }, card: card('jinan', ['insured:resident']), payments: [{ account: 'bank', amount: 1000 }], details: { scheme: 'resident', medicalAccountFen: 0 } },
  // Outpatient, employee, Jinan card at home, grade 2: 800 yuan annual deductible, 60 %.
  // 2,000 in scope: 800 deductible, 1,200 × 60 % = 720 fund; patient in scope 1,280 from the account (300 there), rest bank.
  { name: 'outpatient: annual deductible first, then the grade-2 percent', tap: { scenario: 'outpatient-settlement', city: 'jinan', amount: 200_000, context: { hospitalGrade: 2 } }, card: card('jinan'), payments: [{ account: 'medical', amount: 30000 }, { account: 'bank', amount: 98_000 }], details: { deductibleFen: 80_000, fundPercent: 60, fundFen: 72_000, filed: true }, writes: [{ key: 'medical:outpatient-settlement:years', value: { 2026: { deductibleFen: 80_000, fundFen: 72_000 } } }] },
  // The same bill after the deductible was met earlier this year: 2,000 × 60 % = 1,200 fund.
  { name: 'outpatient: deductible already met this year (state)', tap: { scenario: 'outpatient-settlement', city: 'jinan', amount: 200_000, context: { hospitalGrade: 2 } }, card: card('jinan'), state: { 'medical:outpatient-settlement:years': { 2026: { deductibleFen: 80_000, fundFen: 72_000 } } }, payments: [{ account: 'medical', amount: 30000 }, { account: 'bank', amount: 50_000 }], details: { deductibleFen: 0, fundFen: 120_000, yearFundFen: 192_000 } },
  // Last year's totals do not count: a new calendar year starts a new deductible.
  { name: 'outpatient: last year\'s deductible does not carry over', tap: { scenario: 'outpatient-settlement', city: 'jinan', amount: 200_000, context: { hospitalGrade: 2 }, on: '2027-01-05' }, card: card('jinan'), state: { 'medical:outpatient-settlement:years': { 2026: { deductibleFen: 80_000, fundFen: 72_000 } } }, payments: [{ account: 'medical', amount: 30000 }, { account: 'bank', amount: 98_000 }], details: { deductibleFen: 80_000 } },
  // Annual cap 3,000 yuan, 2,900 paid already: the fund pays the last 100 yuan.
  { name: 'outpatient: the annual fund cap (state)', tap: { scenario: 'outpatient-settlement', city: 'jinan', amount: 200_000, context: { hospitalGrade: 1 } }, card: card('jinan'), state: { 'medical:outpatient-settlement:years': { 2026: { deductibleFen: 80_000, fundFen: 290_000 } } }, payments: [{ account: 'medical', amount: 30000 }, { account: 'bank', amount: 160_000 }], details: { fundFen: 10_000, yearFundFen: 300_000 } },
  // Source: 医保发〔2022〕22号 — treatment elsewhere without 备案 at a lower ratio. Jinan card in Qingdao,
  // grade 3 inpatient: 85 % − 10 points = 75 %. 28,000 in scope − 1,000 deductible = 27,000 × 75 % = 20,250.
  { name: 'inpatient in another city without 备案: 10 points lower', tap: { scenario: 'inpatient-settlement', city: 'qingdao', amount: 3_000_000, context: { selfPaidFen: 200_000, hospitalGrade: 3 } }, card: card('jinan'), payments: [{ account: 'medical', amount: 30000 }, { account: 'bank', amount: 945_000 }], details: { filed: false, fundPercent: 75, fundFen: 2_025_000, insuredCity: 'jinan', treatmentCity: 'qingdao' } },
  { name: 'inpatient in another city with 备案: the home ratio', tap: { scenario: 'inpatient-settlement', city: 'qingdao', amount: 3_000_000, context: { selfPaidFen: 200_000, hospitalGrade: 3 } }, card: card('jinan', ['insured:employee', 'filed:qingdao']), payments: [{ account: 'medical', amount: 30000 }, { account: 'bank', amount: 675_000 }], details: { filed: true, fundPercent: 85, fundFen: 2_295_000 } },
  { name: 'a filing for another city does not count here', tap: { scenario: 'inpatient-settlement', city: 'qingdao', amount: 3_000_000, context: { selfPaidFen: 200_000, hospitalGrade: 3 } }, card: card('jinan', ['insured:employee', 'filed:zhengzhou']), payments: [{ account: 'medical', amount: 30000 }, { account: 'bank', amount: 945_000 }], details: { filed: false } },
  // Zhengzhou policy, grade 1 (92 %), filed in Jinan: 28,000 − 1,200 = 26,800 × 92 % = 24,656.
  { name: 'inpatient: Zhengzhou card in Jinan, Zhengzhou policy by grade', tap: { scenario: 'inpatient-settlement', city: 'jinan', amount: 3_000_000, context: { selfPaidFen: 200_000, hospitalGrade: 1 } }, card: card('zhengzhou', ['insured:employee', 'filed:jinan']), payments: [{ account: 'medical', amount: 30000 }, { account: 'bank', amount: 504_400 }], details: { deductibleFen: 120_000, fundFen: 2_465_600 } },
  // Issue 12 finding 2: the bank cannot cover the patient's part → the fund's share is settled and the rest is cash due.
  // Resident, Jinan at home, grade 3: 30,000 − 800 = 29,200 × 55 % = 16,060 fund; patient 13,940, bank has 5,000.
  { name: 'inpatient: a short bank account leaves cash due, never a decline', tap: { scenario: 'inpatient-settlement', city: 'jinan', amount: 3_000_000, context: { hospitalGrade: 3 } }, card: card('jinan', ['insured:resident'], { bank: 500_000, medical: 30000 }), payments: [{ account: 'bank', amount: 500_000 }], details: { fundFen: 1_606_000, patientFen: 1_394_000, medicalAccountFen: 0, bankFen: 500_000, cashDueFen: 894_000 }, writes: [{ key: inpatientYears, value: { 2026: { deductibleFen: 80_000, fundFen: 1_606_000 } } }] },
  { name: 'inpatient: a bill under the deductible is all the patient\'s', tap: { scenario: 'inpatient-settlement', city: 'jinan', amount: 50_000, context: { hospitalGrade: 2 } }, card: card('jinan'), payments: [{ account: 'medical', amount: 30000 }, { account: 'bank', amount: 20_000 }], details: { deductibleFen: 50_000, fundFen: 0 } },
  // Bounded state: two years kept; a third prunes the oldest.
  { name: 'annual totals keep two years', tap: { scenario: 'inpatient-settlement', city: 'jinan', amount: 50_000, context: { hospitalGrade: 2 }, on: '2027-03-01' }, card: card('jinan'), state: { [inpatientYears]: { 2025: { deductibleFen: 1, fundFen: 1 }, 2026: { deductibleFen: 2, fundFen: 2 } } }, payments: [{ account: 'medical', amount: 30000 }, { account: 'bank', amount: 20_000 }], writes: [{ key: inpatientYears, value: { 2026: { deductibleFen: 2, fundFen: 2 }, 2027: { deductibleFen: 50_000, fundFen: 0 } } }] },
  // Work injury (工伤保险条例 art. 30): the fund pays all in scope; the card only the self part, never the medical account.
  { name: 'work injury with an open case', tap: { scenario: 'work-injury-settlement', city: 'zhengzhou', amount: 500_000, context: { selfPaidFen: 20_000 } }, card: card('qingdao'), state: CASE, payments: [{ account: 'bank', amount: 20_000 }], details: { fund: 'work-injury', fundFen: 480_000, medicalAccountFen: 0 } },
  { name: 'work injury all in scope: the card pays nothing', tap: { scenario: 'work-injury-settlement', city: 'jinan', amount: 500_000 }, card: card('jinan', []), state: CASE, payments: [{ account: 'bank', amount: 0 }], details: { fundFen: 500_000, patientFen: 0 } }
]

t.test('settlements', async t => {
  for (const c of cases) {
    const decision = hospitalSettlement.decide(input(c.tap, c.card, c.state))
    t.equal(decision.decision, 'approved', c.name)
    if (decision.decision !== 'approved') continue
    t.same(decision.payments, c.payments, `${c.name}: payments`)
    if (c.details !== undefined) t.match(decision.details, c.details, `${c.name}: details`)
    if ('writes' in c) t.same(decision.stateWrites, c.writes, `${c.name}: state`)
    const cardFen = decision.payments.reduce((sum, p) => sum + p.amount, 0)
    t.equal(cardFen + Number(decision.details?.fundFen) + Number(decision.details?.cashDueFen), decision.details?.totalFen, `${c.name}: card + fund + cash due = total`)
  }
})

const declines: Array<{ name: string, tap: Tap, card: CardFacts, state?: Record<string, unknown>, reason: string }> = [
  { name: 'self part over the total', tap: { scenario: 'outpatient-settlement', city: 'jinan', amount: 1000, context: { selfPaidFen: 1001, hospitalGrade: 1 } }, card: card('jinan'), reason: 'SELF_PAID_OVER_TOTAL' },
  { name: 'no amount and no tariff fee', tap: { scenario: 'outpatient-settlement', city: 'jinan', amount: null, context: { hospitalGrade: 1 } }, card: card('jinan'), reason: 'AMOUNT_REQUIRED' },
  { name: 'a grade-dependent bill without the hospital grade', tap: { scenario: 'inpatient-settlement', city: 'jinan', amount: 1000 }, card: card('jinan'), reason: 'HOSPITAL_GRADE_REQUIRED' },
  { name: 'no basic medical insurance on the card', tap: { scenario: 'outpatient-settlement', city: 'jinan', amount: 1000, context: { hospitalGrade: 1 } }, card: card('jinan', ['retiree']), reason: 'NOT_INSURED' },
  // Issue 12 finding 1: work-injury settlement requires the case work-injury determination opens.
  { name: 'work injury without a determination', tap: { scenario: 'work-injury-settlement', city: 'jinan', amount: 1000 }, card: card('qingdao'), reason: 'NO_WORK_INJURY_CASE' }
]

t.test('declines', async t => {
  for (const c of declines) {
    const decision = hospitalSettlement.decide(input(c.tap, c.card, c.state))
    t.match(decision, { decision: 'declined', reason: c.reason }, c.name)
    t.ok(hospitalSettlement.reasons[c.reason], `${c.reason} documented`)
  }
  const noTariff = input({ scenario: 'inpatient-settlement', city: 'jinan', amount: 1 }, card('jinan'))
  noTariff.tariff = undefined
  t.match(hospitalSettlement.decide(noTariff), { decision: 'declined', reason: 'NOT_OFFERED_HERE' })
  t.equal(hospitalSettlement.checkRequest?.({ amount: 1000, context: { selfPaidFen: 1001 } }), 'context.selfPaidFen 1001 is more than the amount 1000', 'a 400 before any decision')
  t.equal(hospitalSettlement.reversible, true)
  t.equal(YEARS_KEPT, 2)
})

t.test('fixtures: every city carries the same insured-place policies, for both schemes', async t => {
  for (const scenario of SCENARIOS) {
    const byCity = tariffs[scenario]
    t.same(Object.keys(byCity.jinan.insuredPolicies).sort(), ['jinan', 'qingdao', 'zhengzhou'], scenario)
    t.same(byCity.qingdao.insuredPolicies, byCity.jinan.insuredPolicies, `${scenario} qingdao`)
    t.same(byCity.zhengzhou.insuredPolicies, byCity.jinan.insuredPolicies, `${scenario} zhengzhou`)
    const schemes = scenario === 'work-injury-settlement' ? ['employee'] : ['employee', 'resident']
    for (const insured of ['jinan', 'qingdao', 'zhengzhou'] as const) t.same(Object.keys(byCity.jinan.insuredPolicies[insured] ?? {}).sort(), schemes, `${scenario} ${insured} schemes`)
  }
})

t.test('context schema', async t => {
  const validate = new Ajv({ strict: false }).compile(hospitalSettlement.contextSchema)
  t.ok(validate({}))
  t.ok(validate({ selfPaidFen: 0, hospitalGrade: 3, reference: 'ADM-2026-0001' }))
  t.notOk(validate({ selfPaidFen: -1 }))
  t.notOk(validate({ selfPaidFen: 1.5 }))
  t.notOk(validate({ hospitalGrade: 4 }))
  t.notOk(validate({ fundFen: 1 }), 'unknown fields rejected')
})
