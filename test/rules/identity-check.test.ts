// Identity checks at counters (seven scenarios, one module) against the real tariff files.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { localTime } from '../../src/rules/local-time.js'
import { identityCheck, type IdentityTariff } from '../../src/rules/identity-check.js'
import type { CardFacts, CityCode, RuleInput } from '../../src/rules/types.js'

const SCENARIOS = ['employment-registration', 'insurance-registration', 'insurance-transfer', 'benefit-certification',
  'work-injury-determination', 'medical-identity', 'government-identity']
const tariffs = Object.fromEntries(SCENARIOS.map(scenario => [scenario,
  JSON.parse(readFileSync(new URL(`../../fixtures/tariffs/${scenario}.json`, import.meta.url), 'utf8'))])) as Record<string, Record<CityCode, IdentityTariff>>

const zhengzhouCard: CardFacts = { cardNo: 'ZZ0000001', issuer: '410100', issuerCity: 'zhengzhou', birthDate: '1950-03-01', categories: ['retiree', 'insured:employee'], balances: { bank: 0, medical: 0 } }
const worker: CardFacts = { ...zhengzhouCard, birthDate: '1990-05-01', categories: ['insured:employee'] }
/** The holder each scenario is for (its tariff's eligibility). */
const ELIGIBLE: Record<string, CardFacts> = {
  'employment-registration': worker,
  'insurance-registration': worker,
  'insurance-transfer': worker,
  'benefit-certification': zhengzhouCard,
  'work-injury-determination': worker,
  'medical-identity': zhengzhouCard,
  'government-identity': zhengzhouCard
}

interface Tap { scenario: string, city?: CityCode, on?: string, context?: Record<string, unknown>, card?: CardFacts }

function input (tap: Tap, state: Record<string, unknown> = {}, tariff?: IdentityTariff): RuleInput<IdentityTariff | undefined> {
  const city = tap.city ?? 'jinan'
  return {
    tap: { tapId: 't', at: localTime(Date.parse(`${tap.on ?? '2026-07-01'}T10:00:00+08:00`), 480), amount: null, context: tap.context ?? {}, cardType: 'qr' },
    card: tap.card ?? ELIGIBLE[tap.scenario] ?? zhengzhouCard,
    terminal: { terminalId: 'hr-1', city, scenario: tap.scenario, operator: `${city}-hr`, location: {} },
    scenario: { code: tap.scenario, domain: 'hr', module: 'identity-check', pricedAtTerminal: false, accounts: ['bank'] },
    tariff: tariff ?? tariffs[tap.scenario]?.[city],
    policies: {},
    city: undefined,
    state: { get: key => state[key] }
  }
}

t.test('every identity scenario approves an eligible card with nothing to pay', async t => {
  for (const scenario of SCENARIOS) {
    const decision = identityCheck.decide(input({ scenario, context: { reference: 'CASE-1' } }))
    t.match(decision, { decision: 'approved', payments: [{ account: 'bank', amount: 0 }], details: { scenario, crossCity: true, insuredCity: 'zhengzhou', reference: 'CASE-1' } }, scenario)
  }
  const plain = identityCheck.decide(input({ scenario: 'employment-registration' }))
  t.notOk(plain.decision === 'approved' && plain.stateWrites, 'no period: nothing kept in state')
})

const certification = 'benefit-certification'
const cases: Array<{ name: string, tap: Tap, state?: Record<string, unknown>, tariff?: IdentityTariff, expect: Record<string, unknown>, writes?: unknown }> = [
  { name: 'first certification is kept', tap: { scenario: certification }, expect: { decision: 'approved' }, writes: [{ key: 'identity:benefit-certification', value: '2026-07-01' }] },
  { name: 'again the same year: approved, first date kept', tap: { scenario: certification, on: '2026-12-31' }, state: { 'identity:benefit-certification': '2026-07-01' }, expect: { decision: 'approved', details: { alreadyCheckedOn: '2026-07-01' } }, writes: undefined },
  { name: 'the next year is a new certification', tap: { scenario: certification, on: '2027-01-01' }, state: { 'identity:benefit-certification': '2026-07-01' }, expect: { decision: 'approved' }, writes: [{ key: 'identity:benefit-certification', value: '2027-01-01' }] },
  { name: 'a repeat declined when the tariff says so', tap: { scenario: certification }, state: { 'identity:benefit-certification': '2026-03-01' }, tariff: { ...tariffs[certification]!.jinan, repeatInPeriod: 'decline' }, expect: { decision: 'declined', reason: 'ALREADY_CHECKED', details: { lastCheckedOn: '2026-03-01' } } },
  { name: 'monthly period', tap: { scenario: certification, on: '2026-08-01' }, state: { 'identity:benefit-certification': '2026-07-31' }, tariff: { ...tariffs[certification]!.jinan, period: 'month', repeatInPeriod: 'decline' }, expect: { decision: 'approved' } },
  { name: 'another city\'s terminal sees the same certification', tap: { scenario: certification, city: 'qingdao' }, state: { 'identity:benefit-certification': '2026-02-01' }, expect: { decision: 'approved', details: { alreadyCheckedOn: '2026-02-01' } } }
]

t.test('once-a-period checks', async t => {
  for (const c of cases) {
    const decision = identityCheck.decide(input(c.tap, c.state, c.tariff))
    t.match(decision, c.expect, c.name)
    if ('writes' in c) t.same(decision.decision === 'approved' ? decision.stateWrites : undefined, c.writes, `${c.name}: state`)
  }
})

const child: CardFacts = { ...worker, birthDate: '2021-05-20', categories: [] }
const uninsured: CardFacts = { ...worker, categories: [] }
const thirty: CardFacts = { ...worker, birthDate: '1996-01-01', categories: ['insured:employee'] }
// Issue 12 finding 1: eligibility per scenario, source next to each case (also in each tariff's _sources).
const eligibility: Array<{ name: string, tap: Tap, expect: Record<string, unknown> }> = [
  // Labour Law art. 15: no employment under 16.
  { name: 'a 5-year-old does not register employment', tap: { scenario: 'employment-registration', card: child }, expect: { decision: 'declined', reason: 'NOT_ELIGIBLE', details: { requirement: 'ageMin', ageMin: 16 } } },
  { name: 'registering employment on the 16th birthday', tap: { scenario: 'employment-registration', on: '2026-05-20', card: { ...worker, birthDate: '2010-05-20' } }, expect: { decision: 'approved' } },
  { name: 'the day before the 16th birthday', tap: { scenario: 'employment-registration', on: '2026-05-19', card: { ...worker, birthDate: '2010-05-20' } }, expect: { decision: 'declined', reason: 'NOT_ELIGIBLE' } },
  // SPC labour-dispute interpretation (I) art. 32: a pensioner's new work is a labour-service relation.
  { name: 'a pensioner does not register employment', tap: { scenario: 'employment-registration', card: zhengzhouCard }, expect: { decision: 'declined', reason: 'NOT_ELIGIBLE', details: { requirement: 'categoriesNone', categoriesNone: ['retiree'] } } },
  { name: 'an unknown birth date cannot prove working age', tap: { scenario: 'employment-registration', card: { ...worker, birthDate: null } }, expect: { decision: 'declined', reason: 'NOT_ELIGIBLE', details: { requirement: 'birthDate' } } },
  // Resident medical insurance enrols newborns: anyone may register.
  { name: 'a child registers for insurance', tap: { scenario: 'insurance-registration', card: child }, expect: { decision: 'approved' } },
  // MOHRSS 人社厅发〔2018〕107号: certification is for benefit recipients.
  { name: 'a 30-year-old non-pensioner does not certify benefits', tap: { scenario: 'benefit-certification', card: thirty }, expect: { decision: 'declined', reason: 'NOT_ELIGIBLE', details: { requirement: 'categoriesAny', categoriesAny: ['retiree'] } } },
  { name: 'a pensioner certifies', tap: { scenario: 'benefit-certification', card: zhengzhouCard }, expect: { decision: 'approved' } },
  { name: 'an uninsured holder has nothing to transfer', tap: { scenario: 'insurance-transfer', card: uninsured }, expect: { decision: 'declined', reason: 'NOT_ELIGIBLE' } },
  { name: 'resident insurance transfers too', tap: { scenario: 'insurance-transfer', card: { ...worker, categories: ['insured:resident'] } }, expect: { decision: 'approved' } },
  // Regulation on Work-Related Injury Insurance art. 2: employees.
  { name: 'work-injury determination needs an employee', tap: { scenario: 'work-injury-determination', card: { ...worker, categories: ['insured:resident'] } }, expect: { decision: 'declined', reason: 'NOT_ELIGIBLE' } },
  { name: 'medical identity needs basic medical insurance', tap: { scenario: 'medical-identity', card: uninsured }, expect: { decision: 'declined', reason: 'NOT_ELIGIBLE' } },
  { name: 'government identity: anyone with a valid card', tap: { scenario: 'government-identity', card: child }, expect: { decision: 'approved' } }
]

t.test('eligibility', async t => {
  for (const c of eligibility) t.match(identityCheck.decide(input(c.tap)), c.expect, c.name)
})

t.test('work-injury determination opens the case settlement requires', async t => {
  const decision = identityCheck.decide(input({ scenario: 'work-injury-determination', city: 'qingdao', context: { reference: 'WI-77' } }))
  t.match(decision, { decision: 'approved', details: { caseOpened: 'work-injury' } })
  t.same(decision.decision === 'approved' ? decision.stateWrites : undefined, [{ key: 'case:work-injury', value: { openedOn: '2026-07-01', city: 'qingdao', reference: 'WI-77' } }])
  const other = identityCheck.decide(input({ scenario: 'employment-registration' }))
  t.notOk(other.decision === 'approved' && other.stateWrites, 'other checks open no case')
})

t.test('no tariff in the city', async t => {
  t.match(identityCheck.decide(input({ scenario: 'no-such-scenario' })), { decision: 'declined', reason: 'NOT_OFFERED_HERE' })
})

t.test('fixtures: every identity scenario has all three cities', async t => {
  for (const scenario of SCENARIOS) {
    for (const city of ['jinan', 'qingdao', 'zhengzhou'] as const) {
      const tariff = tariffs[scenario]?.[city]
      t.ok(tariff !== undefined && tariff.message.zh !== '' && tariff.message.en !== '', `${scenario} ${city}`)
    }
  }
})

t.test('context schema', async t => {
  const validate = new Ajv({ strict: false }).compile(identityCheck.contextSchema)
  t.ok(validate({}))
  t.ok(validate({ reference: 'CASE-2026:01' }))
  t.notOk(validate({ reference: '' }))
  t.notOk(validate({ other: 1 }))
})
