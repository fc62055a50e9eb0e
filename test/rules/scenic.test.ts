// Scenic entry: prices and concessions from the real fixtures/tariffs/scenic.json.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { localTime } from '../../src/rules/local-time.js'
import { scenic, type EntryTariff } from '../../src/rules/scenic.js'
import type { CardFacts, CityCode, RuleDecision, RuleInput } from '../../src/rules/types.js'

function fixture<T> (path: string): T {
  return JSON.parse(readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), 'utf8')) as T
}
const tariffs = fixture<Record<CityCode, EntryTariff>>('tariffs/scenic.json')

const TAP_AT = '2026-07-01T10:00:00+08:00'

function card (birthDate: string | null, categories: string[] = []): CardFacts {
  return { cardNo: 'JN0000001', issuer: '370100', issuerCity: 'jinan', birthDate, categories, balances: { bank: 50000, medical: 30000 } }
}

interface Tap { city: CityCode, venue?: string, at?: string, context?: Record<string, unknown> }

function input (tap: Tap, holder: CardFacts, state: Record<string, unknown> = {}, tariff?: EntryTariff): RuleInput<EntryTariff | undefined> {
  return {
    tap: { tapId: 't1', at: localTime(Date.parse(tap.at ?? TAP_AT), 480), amount: null, context: tap.context ?? {}, cardType: 'physical' },
    card: holder,
    terminal: { terminalId: 'gate-1', city: tap.city, scenario: 'scenic', operator: tap.venue ?? 'x', location: tap.venue === undefined ? {} : { venue: tap.venue } },
    scenario: { code: 'scenic', domain: 'culture', module: 'scenic', pricedAtTerminal: false, accounts: ['bank'] },
    tariff: tariff ?? tariffs[tap.city],
    policies: {},
    city: undefined,
    state: { get: key => state[key] }
  }
}

function charged (decision: RuleDecision): number | undefined {
  return decision.decision === 'approved' ? decision.payments.reduce((sum, p) => sum + p.amount, 0) : undefined
}

const baotu: Tap = { city: 'jinan', venue: 'jn-baotu-spring' }
const shaolin: Tap = { city: 'zhengzhou', venue: 'zz-shaolin' }
const laoshan: Tap = { city: 'qingdao', venue: 'qd-laoshan' }

const prices: Array<{ name: string, tap: Tap, card: CardFacts, priceFen: number, concession: string | null }> = [
  { name: 'Baotu Spring adult pays 40 yuan', tap: baotu, card: card('1985-04-12'), priceFen: 4000, concession: null },
  { name: 'Baotu Spring full-time student (aged 20) pays 20 yuan', tap: baotu, card: card('2006-03-01', ['student']), priceFen: 2000, concession: 'student' },
  { name: 'Baotu Spring 15-year-old pays half', tap: baotu, card: card('2011-02-01'), priceFen: 2000, concession: 'minor' },
  { name: 'Baotu Spring 72-year-old is free (Shandong, government-run)', tap: baotu, card: card('1954-03-01'), priceFen: 0, concession: 'senior-60' },
  { name: 'Baotu Spring 60th birthday on the day is free', tap: baotu, card: card('1966-07-01'), priceFen: 0, concession: 'senior-60' },
  { name: 'Baotu Spring the day before the 60th birthday pays in full', tap: baotu, card: card('1966-07-02'), priceFen: 4000, concession: null },
  { name: 'Baotu Spring child of 5 is free', tap: baotu, card: card('2021-05-20'), priceFen: 0, concession: 'child' },
  { name: 'Baotu Spring child of 6 is free', tap: baotu, card: card('2020-01-01'), priceFen: 0, concession: 'child' },
  { name: 'Baotu Spring child of 7 pays half', tap: baotu, card: card('2019-01-01'), priceFen: 2000, concession: 'minor' },
  { name: 'Baotu Spring unknown birth date pays in full', tap: baotu, card: card(null), priceFen: 4000, concession: null },
  { name: 'Baotu Spring unknown birth date, student, pays half', tap: baotu, card: card(null, ['student']), priceFen: 2000, concession: 'student' },
  { name: 'Songshan Shaolin adult pays 80 yuan', tap: shaolin, card: card('1985-04-12'), priceFen: 8000, concession: null },
  { name: 'Songshan Shaolin 65-year-old pays half (Henan)', tap: shaolin, card: card('1961-01-10'), priceFen: 4000, concession: 'senior-60' },
  { name: 'Songshan Shaolin 69-year-old pays half', tap: shaolin, card: card('1957-03-01'), priceFen: 4000, concession: 'senior-60' },
  { name: 'Songshan Shaolin 70-year-old is free', tap: shaolin, card: card('1956-07-01'), priceFen: 0, concession: 'senior-70' },
  { name: 'Laoshan default route', tap: laoshan, card: card('1985-04-12'), priceFen: 13000, concession: null },
  { name: 'Laoshan route chosen by context', tap: { ...laoshan, context: { ticket: 'yangkou' } }, card: card('1985-04-12'), priceFen: 9000, concession: null },
  { name: 'Laoshan 65-year-old is free (Shandong, government-run)', tap: laoshan, card: card('1961-01-10'), priceFen: 0, concession: 'senior-60' },
  // Issue 12 finding 4: veterans, serving soldiers, disabled visitors free at government-run venues (scenic.json _sources).
  { name: 'Baotu Spring (government-run) veteran is free', tap: baotu, card: card('1968-01-15', ['veteran']), priceFen: 0, concession: 'veteran' },
  { name: 'Laoshan (government-run) serving soldier is free', tap: laoshan, card: card('2001-01-15', ['soldier']), priceFen: 0, concession: 'soldier' },
  { name: 'Baotu Spring disabled visitor is free', tap: baotu, card: card('1978-06-30', ['disabled']), priceFen: 0, concession: 'disabled' },
  { name: 'Songshan Shaolin (privately run) veteran pays the list price', tap: shaolin, card: card('1968-01-15', ['veteran']), priceFen: 8000, concession: null },
  { name: 'Daming Lake is free for everyone', tap: { city: 'jinan', venue: 'jn-daming-lake' }, card: card('1985-04-12'), priceFen: 0, concession: null }
]

t.test('prices and concessions', async t => {
  for (const c of prices) {
    const decision = scenic.decide(input(c.tap, c.card))
    t.match(decision, { decision: 'approved', payments: [{ account: 'bank', amount: c.priceFen }], details: { priceFen: c.priceFen, concession: c.concession } }, c.name)
  }
})

t.test('one entry per card per venue per day', async t => {
  const adult = card('1985-04-12')
  const first = scenic.decide(input(baotu, adult))
  t.same(first.decision === 'approved' && first.stateWrites, [{ key: 'scenic:entry:jn-baotu-spring:standard', value: '2026-07-01' }], 'records the entry date')
  const enteredToday = { 'scenic:entry:jn-baotu-spring:standard': '2026-07-01' }
  const again = scenic.decide(input(baotu, adult, enteredToday))
  t.equal(charged(again), 0, 'a same-day re-tap is approved and not charged again')
  t.match(again, { decision: 'approved', details: { alreadyEnteredToday: true } })
  t.notOk(again.decision === 'approved' && again.stateWrites, 'nothing to write on a re-tap')
  t.equal(charged(scenic.decide(input({ ...baotu, at: '2026-07-02T09:00:00+08:00' }, adult, enteredToday))), 4000, 'the next day is a new ticket')
  t.equal(charged(scenic.decide(input({ ...baotu, at: '2026-07-01T23:59:59+08:00' }, adult, enteredToday))), 0, 'local midnight decides the day')
  const laoshanToday = { 'scenic:entry:qd-laoshan:taiqing': '2026-07-01' }
  t.equal(charged(scenic.decide(input({ ...laoshan, context: { ticket: 'jufeng' } }, adult, laoshanToday))), 11000, 'another route the same day is another ticket')
  const declining = { ...tariffs.jinan, sameDayReentry: 'decline' as const }
  t.match(scenic.decide(input(baotu, adult, enteredToday, declining)), { decision: 'declined', reason: 'ALREADY_ENTERED' }, 'or declined when the tariff says so')
})

t.test('declines', async t => {
  const adult = card('1985-04-12')
  const cases: Array<{ name: string, tap: Tap, tariff?: EntryTariff, reason: string }> = [
    { name: 'terminal without a venue', tap: { city: 'jinan' }, reason: 'VENUE_UNKNOWN' },
    { name: 'venue of another city', tap: { city: 'jinan', venue: 'qd-laoshan' }, reason: 'VENUE_UNKNOWN' },
    { name: 'unknown route', tap: { ...laoshan, context: { ticket: 'route-z' } }, reason: 'TICKET_UNKNOWN' },
    { name: 'inherited key as route', tap: { ...laoshan, context: { ticket: 'constructor' } }, reason: 'TICKET_UNKNOWN' },
    { name: 'no tariff in the city', tap: baotu, tariff: undefined, reason: 'NOT_OFFERED_HERE' }
  ]
  for (const c of cases) {
    const built = input(c.tap, adult)
    if ('tariff' in c) built.tariff = c.tariff
    const decision = scenic.decide(built)
    t.match(decision, { decision: 'declined', reason: c.reason }, c.name)
    if (decision.decision === 'declined') t.ok(scenic.reasons[decision.reason], `${c.reason} is documented`)
  }
})

t.test('context schema', async t => {
  const validate = new Ajv({ strict: false }).compile(scenic.contextSchema)
  t.ok(validate({}), 'empty context')
  t.ok(validate({ ticket: 'yangkou' }), 'a ticket')
  t.notOk(validate({ ticket: 'Bad Ticket' }), 'ticket id pattern')
  t.notOk(validate({ price: 1 }), 'unknown fields rejected')
})

t.test('fixtures: every entry venue has a tariff and every tariff venue is registered', async t => {
  const venues = fixture<{ venues: Record<CityCode, Array<{ id: string, scenario: string }>> }>('venues.json').venues
  for (const scenario of ['scenic', 'museum', 'sports-venue']) {
    const byCity = fixture<Record<CityCode, EntryTariff>>(`tariffs/${scenario}.json`)
    for (const city of ['jinan', 'qingdao', 'zhengzhou'] as const) {
      const registered = venues[city].filter(v => v.scenario === scenario).map(v => v.id).sort()
      const priced = Object.keys(byCity[city].venues).sort()
      t.same(priced, registered, `${scenario} in ${city}`)
      for (const [id, venue] of Object.entries(byCity[city].venues)) {
        t.ok(Object.hasOwn(venue.tickets, venue.defaultTicket), `${id} default ticket exists`)
        t.ok(byCity[city].concessions[venue.operatorType], `${id} has concessions for ${venue.operatorType}`)
      }
    }
  }
  const ids = Object.values(venues).flat().map(v => v.id)
  t.equal(new Set(ids).size, ids.length, 'venue ids are unique')
  t.ok(ids.every(id => /^[a-z0-9-]{1,64}$/.test(id)), 'venue ids match the pattern')
})
