// Cardholder offers (cruise ticket, partner merchants) against the real tariff files.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { localTime } from '../../src/rules/local-time.js'
import { cardholderOffer, type OfferTariff } from '../../src/rules/cardholder-offer.js'
import type { CardFacts, CityCode, RuleDecision, RuleInput } from '../../src/rules/types.js'

function tariffFile (scenario: string): Record<CityCode, OfferTariff> {
  return JSON.parse(readFileSync(new URL(`../../fixtures/tariffs/${scenario}.json`, import.meta.url), 'utf8')) as Record<CityCode, OfferTariff>
}
const tariffs: Record<string, Record<CityCode, OfferTariff>> = { 'cruise-ticket': tariffFile('cruise-ticket'), 'merchant-offer': tariffFile('merchant-offer') }

const holder: CardFacts = { cardNo: 'ZZ0000001', issuer: '410100', issuerCity: 'zhengzhou', birthDate: '1985-04-12', categories: [], balances: { bank: 1_000_000, medical: 0 } }

interface Tap { scenario: string, city: CityCode, amount: number | null, on?: string, context?: Record<string, unknown> }

function input (tap: Tap, state: Map<string, unknown>, tariff?: OfferTariff): RuleInput<OfferTariff | undefined> {
  return {
    tap: { tapId: 't', at: localTime(Date.parse(`${tap.on ?? '2026-07-01'}T10:00:00+08:00`), 480), amount: tap.amount, context: tap.context ?? {}, cardType: 'physical' },
    card: holder,
    terminal: { terminalId: 'pos-1', city: tap.city, scenario: tap.scenario, operator: 'cruise-agency', location: {} },
    scenario: { code: tap.scenario, domain: 'finance', module: 'cardholder-offer', pricedAtTerminal: true, accounts: ['bank'] },
    tariff: tariff ?? tariffs[tap.scenario]?.[tap.city],
    policies: {},
    city: undefined,
    state: { get: key => state.get(key) }
  }
}

function run (taps: Tap[], state = new Map<string, unknown>(), tariff?: OfferTariff): RuleDecision[] {
  return taps.map(tap => {
    const decision = cardholderOffer.decide(input(tap, state, tariff))
    if (decision.decision === 'approved') for (const write of decision.stateWrites ?? []) state.set(write.key, write.value)
    return decision
  })
}

const paid = (amount: number): Record<string, unknown> => ({ decision: 'approved', payments: [{ account: 'bank', amount }] })
/** A cruise ticket for the sailing `voyage` (default: the launch voyage of 2026-07-01), bought on `on`. */
const cruise = (amount: number, city: CityCode = 'qingdao', on?: string, voyage: string | null = '2026-07-01'): Tap =>
  ({ scenario: 'cruise-ticket', city, amount, ...(on === undefined ? {} : { on }), ...(voyage === null ? {} : { context: { voyage } }) })

const cases: Array<{ name: string, taps: Tap[], tariff?: OfferTariff, expect: Array<Record<string, unknown>> }> = [
  {
    name: 'cruise offer applied once, then not again',
    taps: [cruise(500_000), cruise(500_000)],
    expect: [
      { ...paid(405_000), details: { amountFen: 500_000, reductionFen: 95_000, offer: 'cruise-ideal-2026' } },
      { ...paid(500_000), details: { reductionFen: 0, offer: null, offersAlreadyUsed: ['cruise-ideal-2026'] } }
    ]
  },
  {
    name: 'used in Qingdao, not again in Jinan',
    taps: [cruise(400_000), cruise(400_000, 'jinan')],
    expect: [paid(305_000), paid(400_000)]
  },
  // Source: the seed article — 立减950元起 on the two 理想号 voyages, 2026-07-01 and 2026-07-05; no threshold.
  {
    name: 'the second voyage has the offer too; any ticket price',
    taps: [cruise(120_000, 'zhengzhou', '2026-06-20', '2026-07-05')],
    expect: [{ ...paid(25_000), details: { reductionFen: 95_000, voyage: '2026-07-05' } }]
  },
  {
    name: 'a sailing the article does not name: full price, offer unused',
    taps: [cruise(500_000, 'qingdao', '2026-07-01', '2026-07-09'), cruise(500_000)],
    expect: [{ ...paid(500_000), details: { offer: null } }, paid(405_000)]
  },
  {
    name: 'no voyage named: full price',
    taps: [cruise(500_000, 'qingdao', undefined, null)],
    expect: [{ ...paid(500_000), details: { offer: null, voyage: null } }]
  },
  {
    name: 'a ticket bought after its sailing day: full price',
    taps: [cruise(500_000, 'qingdao', '2026-07-02', '2026-07-01')],
    expect: [paid(500_000)]
  },
  {
    name: 'bought weeks before the sailing: the offer applies (no invented sale window)',
    taps: [cruise(500_000, 'qingdao', '2026-05-15', '2026-07-05')],
    expect: [paid(405_000)]
  },
  {
    name: 'merchant offer: 20 off from 100',
    taps: [{ scenario: 'merchant-offer', city: 'jinan', amount: 9999 }, { scenario: 'merchant-offer', city: 'jinan', amount: 10000 }, { scenario: 'merchant-offer', city: 'jinan', amount: 10000 }],
    expect: [paid(9999), paid(8000), paid(10000)]
  },
  {
    name: 'merchant offers are per city',
    taps: [{ scenario: 'merchant-offer', city: 'jinan', amount: 10000 }, { scenario: 'merchant-offer', city: 'qingdao', amount: 10000 }],
    expect: [paid(8000), paid(8000)]
  },
  {
    name: 'an offer for other operators does not apply',
    taps: [cruise(500_000)],
    tariff: { ...tariffs['cruise-ticket']!.qingdao, offers: tariffs['cruise-ticket']!.qingdao.offers.map(offer => ({ ...offer, operators: ['another-agency'] })) },
    expect: [paid(500_000)]
  },
  {
    name: 'over the per-payment limit',
    taps: [cruise(10_000_001)],
    expect: [{ decision: 'declined', reason: 'AMOUNT_LIMIT' }]
  },
  {
    name: 'no amount',
    taps: [{ scenario: 'cruise-ticket', city: 'qingdao', amount: null }],
    expect: [{ decision: 'declined', reason: 'AMOUNT_REQUIRED' }]
  }
]

t.test('offers', async t => {
  for (const c of cases) {
    const decisions = run(c.taps, new Map(), c.tariff)
    decisions.forEach((decision, i) => t.match(decision, c.expect[i] ?? {}, `${c.name}: tap ${i + 1}`))
  }
})

t.test('the offer is recorded in state by id', async t => {
  const state = new Map<string, unknown>()
  run([cruise(500_000)], state)
  t.same([...state], [['offer:cruise-ideal-2026', '2026-07-01']])
})

t.test('context schema', async t => {
  const validate = new Ajv({ strict: false }).compile(cardholderOffer.contextSchema)
  t.ok(validate({}))
  t.ok(validate({ reference: 'ORDER-1' }))
  t.notOk(validate({ offer: 'x' }), 'the terminal cannot pick an offer')
  t.ok(validate({ voyage: '2026-07-05' }))
  t.notOk(validate({ voyage: 'July 5' }), 'a voyage is a local date')
})
