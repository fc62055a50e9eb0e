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

const zhengzhouCard: CardFacts = { cardNo: 'ZZ0000001', issuer: '410100', issuerCity: 'zhengzhou', birthDate: '1950-03-01', categories: [], balances: { bank: 0, medical: 0 } }

interface Tap { scenario: string, city?: CityCode, on?: string, context?: Record<string, unknown> }

function input (tap: Tap, state: Record<string, unknown> = {}, tariff?: IdentityTariff): RuleInput<IdentityTariff | undefined> {
  const city = tap.city ?? 'jinan'
  return {
    tap: { tapId: 't', at: localTime(Date.parse(`${tap.on ?? '2026-07-01'}T10:00:00+08:00`), 480), amount: null, context: tap.context ?? {}, cardType: 'qr' },
    card: zhengzhouCard,
    terminal: { terminalId: 'hr-1', city, scenario: tap.scenario, operator: `${city}-hr`, location: {} },
    scenario: { code: tap.scenario, domain: 'hr', module: 'identity-check', pricedAtTerminal: false, accounts: ['bank'] },
    tariff: tariff ?? tariffs[tap.scenario]?.[city],
    policies: {},
    city: undefined,
    state: { get: key => state[key] }
  }
}

t.test('every identity scenario approves a valid card with nothing to pay', async t => {
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
