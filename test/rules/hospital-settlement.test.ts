// Hospital settlement (registration, outpatient, inpatient, work injury) against the real tariffs.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { localTime } from '../../src/rules/local-time.js'
import { hospitalSettlement, type HospitalTariff } from '../../src/rules/hospital-settlement.js'
import type { AccountKind, CardFacts, CityCode, Payment, RuleInput } from '../../src/rules/types.js'

const SCENARIOS = ['hospital-registration', 'outpatient-settlement', 'inpatient-settlement', 'work-injury-settlement'] as const
type Scenario = typeof SCENARIOS[number]
const tariffs = Object.fromEntries(SCENARIOS.map(scenario => [scenario,
  JSON.parse(readFileSync(new URL(`../../fixtures/tariffs/${scenario}.json`, import.meta.url), 'utf8'))])) as Record<Scenario, Record<CityCode, HospitalTariff>>
const ISSUERS: Record<CityCode, string> = { jinan: '370100', qingdao: '370200', zhengzhou: '410100' }

function card (issuerCity: CityCode, balances: Record<AccountKind, number> = { bank: 50_000_000, medical: 30000 }): CardFacts {
  return { cardNo: 'JN0000001', issuer: ISSUERS[issuerCity], issuerCity, birthDate: '1985-04-12', categories: [], balances }
}

interface Tap { scenario: Scenario, city: CityCode, amount: number | null, context?: Record<string, unknown> }

function input (tap: Tap, holder: CardFacts): RuleInput<HospitalTariff | undefined> {
  return {
    tap: { tapId: 't', at: localTime(Date.parse('2026-07-01T10:00:00+08:00'), 480), amount: tap.amount, context: tap.context ?? {}, cardType: 'physical' },
    card: holder,
    terminal: { terminalId: 'his-1', city: tap.city, scenario: tap.scenario, operator: 'hospital-1', location: {} },
    scenario: { code: tap.scenario, domain: 'medical', module: 'hospital-settlement', pricedAtTerminal: tap.amount !== null, accounts: ['medical', 'bank'] },
    tariff: tariffs[tap.scenario][tap.city],
    policies: {},
    city: undefined,
    state: { get: () => undefined }
  }
}

const cases: Array<{ name: string, tap: Tap, card: CardFacts, payments: Payment[], details?: Record<string, unknown> }> = [
  {
    name: 'registration at the tariff fee, from the medical account',
    tap: { scenario: 'hospital-registration', city: 'jinan', amount: null },
    card: card('qingdao'),
    payments: [{ account: 'medical', amount: 1000 }],
    details: { totalFen: 1000, fundFen: 0 }
  },
  {
    name: 'registration priced by the terminal',
    tap: { scenario: 'hospital-registration', city: 'jinan', amount: 1500 },
    card: card('jinan'),
    payments: [{ account: 'medical', amount: 1500 }]
  },
  {
    name: 'registration with an empty medical account: bank',
    tap: { scenario: 'hospital-registration', city: 'zhengzhou', amount: null },
    card: card('jinan', { bank: 5000, medical: 0 }),
    payments: [{ account: 'bank', amount: 1000 }]
  },
  {
    // In scope 170.00: the outpatient pool pays half (85.00), medical 85.00, bank the 30.00 self part.
    name: 'outpatient: fund half of in scope, medical the rest, bank the self part',
    tap: { scenario: 'outpatient-settlement', city: 'jinan', amount: 20000, context: { selfPaidFen: 3000 } },
    card: card('jinan'),
    payments: [{ account: 'medical', amount: 8500 }, { account: 'bank', amount: 3000 }],
    details: { inScopeFen: 17000, fundFen: 8500, patientFen: 11500 }
  },
  {
    name: 'outpatient: the fund rounds down, the odd fen is the patient\'s',
    tap: { scenario: 'outpatient-settlement', city: 'qingdao', amount: 10001 },
    card: card('qingdao'),
    payments: [{ account: 'medical', amount: 5001 }],
    details: { fundFen: 5000 }
  },
  {
    // 28,000 in scope − 1,000 deductible = 27,000 × 85% = 22,950 fund; patient 7,050: medical 300, bank 6,750.
    name: 'inpatient: Jinan card in Qingdao, Jinan policy',
    tap: { scenario: 'inpatient-settlement', city: 'qingdao', amount: 3_000_000, context: { selfPaidFen: 200_000 } },
    card: card('jinan'),
    payments: [{ account: 'medical', amount: 30000 }, { account: 'bank', amount: 675_000 }],
    details: { deductibleFen: 100_000, fundFen: 2_295_000, patientFen: 705_000, insuredCity: 'jinan', treatmentCity: 'qingdao' }
  },
  {
    // 28,000 − 1,200 = 26,800 × 80% = 21,440 fund.
    name: 'inpatient: Zhengzhou card in Jinan, Zhengzhou policy',
    tap: { scenario: 'inpatient-settlement', city: 'jinan', amount: 3_000_000, context: { selfPaidFen: 200_000 } },
    card: card('zhengzhou'),
    payments: [{ account: 'medical', amount: 30000 }, { account: 'bank', amount: 826_000 }],
    details: { deductibleFen: 120_000, fundFen: 2_144_000 }
  },
  {
    name: 'inpatient: the fund stops at its cap',
    tap: { scenario: 'inpatient-settlement', city: 'jinan', amount: 60_000_000 },
    card: card('jinan'),
    payments: [{ account: 'medical', amount: 30000 }, { account: 'bank', amount: 19_970_000 }],
    details: { fundFen: 40_000_000 }
  },
  {
    name: 'inpatient: a bill under the deductible is all the patient\'s',
    tap: { scenario: 'inpatient-settlement', city: 'jinan', amount: 50_000 },
    card: card('jinan'),
    payments: [{ account: 'medical', amount: 30000 }, { account: 'bank', amount: 20_000 }],
    details: { deductibleFen: 50_000, fundFen: 0 }
  },
  {
    name: 'work injury: the fund pays all in scope, the card only the self part, never the medical account',
    tap: { scenario: 'work-injury-settlement', city: 'zhengzhou', amount: 500_000, context: { selfPaidFen: 20_000 } },
    card: card('qingdao'),
    payments: [{ account: 'bank', amount: 20_000 }],
    details: { fund: 'work-injury', fundFen: 480_000, medicalAccountFen: 0 }
  },
  {
    name: 'work injury all in scope: the card pays nothing',
    tap: { scenario: 'work-injury-settlement', city: 'jinan', amount: 500_000 },
    card: card('jinan'),
    payments: [{ account: 'bank', amount: 0 }],
    details: { fundFen: 500_000, patientFen: 0 }
  }
]

t.test('settlements', async t => {
  for (const c of cases) {
    const decision = hospitalSettlement.decide(input(c.tap, c.card))
    t.equal(decision.decision, 'approved', c.name)
    if (decision.decision !== 'approved') continue
    t.same(decision.payments, c.payments, `${c.name}: payments`)
    if (c.details !== undefined) t.match(decision.details, c.details, `${c.name}: details`)
    const cardFen = decision.payments.reduce((sum, p) => sum + p.amount, 0)
    t.equal(cardFen + Number(decision.details?.fundFen), decision.details?.totalFen, `${c.name}: card + fund = total`)
  }
})

t.test('declines', async t => {
  t.match(hospitalSettlement.decide(input({ scenario: 'outpatient-settlement', city: 'jinan', amount: 1000, context: { selfPaidFen: 1001 } }, card('jinan'))),
    { decision: 'declined', reason: 'AMOUNT_MISMATCH' }, 'self part over the total')
  t.match(hospitalSettlement.decide(input({ scenario: 'outpatient-settlement', city: 'jinan', amount: null }, card('jinan'))),
    { decision: 'declined', reason: 'AMOUNT_REQUIRED' }, 'no amount and no tariff fee')
  const noTariff = input({ scenario: 'inpatient-settlement', city: 'jinan', amount: 1 }, card('jinan'))
  noTariff.tariff = undefined
  t.match(hospitalSettlement.decide(noTariff), { decision: 'declined', reason: 'NOT_OFFERED_HERE' })
  for (const reason of ['AMOUNT_MISMATCH', 'AMOUNT_REQUIRED', 'NOT_OFFERED_HERE', 'POLICY_UNKNOWN']) t.ok(hospitalSettlement.reasons[reason], `${reason} documented`)
  t.equal(hospitalSettlement.reversible, true)
})

t.test('fixtures: every city carries the same insured-place policies', async t => {
  for (const scenario of SCENARIOS) {
    const byCity = tariffs[scenario]
    t.same(Object.keys(byCity.jinan.insuredPolicies).sort(), ['jinan', 'qingdao', 'zhengzhou'], scenario)
    t.same(byCity.qingdao.insuredPolicies, byCity.jinan.insuredPolicies, `${scenario} qingdao`)
    t.same(byCity.zhengzhou.insuredPolicies, byCity.jinan.insuredPolicies, `${scenario} zhengzhou`)
  }
})

t.test('context schema', async t => {
  const validate = new Ajv({ strict: false }).compile(hospitalSettlement.contextSchema)
  t.ok(validate({}))
  t.ok(validate({ selfPaidFen: 0, reference: 'ADM-2026-0001' }))
  t.notOk(validate({ selfPaidFen: -1 }))
  t.notOk(validate({ selfPaidFen: 1.5 }))
  t.notOk(validate({ fundFen: 1 }), 'unknown fields rejected')
})
