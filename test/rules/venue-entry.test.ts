// Museum and sports-venue entry (module venue-entry) from the real tariff files.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { localTime } from '../../src/rules/local-time.js'
import type { EntryTariff } from '../../src/rules/scenic.js'
import { venueEntry } from '../../src/rules/venue-entry.js'
import type { CardFacts, CityCode, RuleInput } from '../../src/rules/types.js'

function fixture<T> (path: string): T {
  return JSON.parse(readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), 'utf8')) as T
}
const tariffs: Record<string, Record<CityCode, EntryTariff>> = {
  museum: fixture('tariffs/museum.json'),
  'sports-venue': fixture('tariffs/sports-venue.json')
}

function card (birthDate: string | null, categories: string[] = []): CardFacts {
  return { cardNo: 'QD0000001', issuer: '370200', issuerCity: 'qingdao', birthDate, categories, balances: { bank: 50000, medical: 30000 } }
}

interface Tap { scenario: 'museum' | 'sports-venue', city: CityCode, venue: string, context?: Record<string, unknown> }

function input (tap: Tap, holder: CardFacts, state: Record<string, unknown> = {}): RuleInput<EntryTariff | undefined> {
  return {
    tap: { tapId: 't1', at: localTime(Date.parse('2026-07-01T10:00:00+08:00'), 480), amount: null, context: tap.context ?? {}, cardType: 'physical' },
    card: holder,
    terminal: { terminalId: 'gate-1', city: tap.city, scenario: tap.scenario, operator: tap.venue, location: { venue: tap.venue } },
    scenario: { code: tap.scenario, domain: 'culture', module: 'venue-entry', pricedAtTerminal: false, accounts: ['bank'] },
    tariff: tariffs[tap.scenario]?.[tap.city],
    policies: {},
    city: undefined,
    state: { get: key => state[key] }
  }
}

const henanMuseum: Tap = { scenario: 'museum', city: 'zhengzhou', venue: 'zz-henan-museum' }
const beerMuseum: Tap = { scenario: 'museum', city: 'qingdao', venue: 'qd-tsingtao-beer-museum' }
const jinanSports: Tap = { scenario: 'sports-venue', city: 'jinan', venue: 'jn-olympic-sports-center' }

const cases: Array<{ name: string, tap: Tap, card: CardFacts, state?: Record<string, unknown>, priceFen: number, concession?: string | null }> = [
  { name: 'public museum is free', tap: henanMuseum, card: card('1985-04-12'), priceFen: 0, concession: null },
  { name: 'privately run museum, adult', tap: beerMuseum, card: card('1985-04-12'), priceFen: 6000, concession: null },
  { name: 'privately run (Shandong), 65-year-old pays half', tap: beerMuseum, card: card('1961-01-10'), priceFen: 3000, concession: 'senior-60' },
  { name: 'privately run (Shandong), 72-year-old is free', tap: beerMuseum, card: card('1954-03-01'), priceFen: 0, concession: 'senior-70' },
  { name: 'privately run, student pays half', tap: beerMuseum, card: card('2005-01-01', ['student']), priceFen: 3000, concession: 'student' },
  { name: 'sports venue default ticket (swimming)', tap: jinanSports, card: card('1985-04-12'), priceFen: 3000, concession: null },
  { name: 'sports venue ticket chosen by context', tap: { ...jinanSports, context: { ticket: 'fitness' } }, card: card('1985-04-12'), priceFen: 2000, concession: null },
  { name: 'sports venue, disabled holder is free', tap: jinanSports, card: card('1978-06-30', ['disabled']), priceFen: 0, concession: 'disabled' },
  { name: 'sports venue, senior pays half', tap: jinanSports, card: card('1950-03-01'), priceFen: 1500, concession: 'senior-60' },
  // Government-run venues free for veterans and serving soldiers (2019 preferential-treatment opinion, sports-venue.json _sources).
  { name: 'government-run sports venue, veteran free', tap: jinanSports, card: card('1968-01-15', ['veteran']), priceFen: 0, concession: 'veteran' },
  { name: 'government-run sports venue, serving soldier free', tap: jinanSports, card: card('2000-01-15', ['soldier']), priceFen: 0, concession: 'soldier' },
  { name: 'privately run museum: no veteran concession', tap: beerMuseum, card: card('1968-01-15', ['veteran']), priceFen: 6000, concession: null },
  { name: 'same-day re-tap is not charged', tap: beerMuseum, card: card('1985-04-12'), state: { 'venue:entry:qd-tsingtao-beer-museum:standard': '2026-07-01' }, priceFen: 0 },
  { name: 'a scenic entry the same day does not count', tap: beerMuseum, card: card('1985-04-12'), state: { 'scenic:entry:qd-tsingtao-beer-museum:standard': '2026-07-01' }, priceFen: 6000 },
  { name: 'yesterday\'s entry does not count', tap: beerMuseum, card: card('1985-04-12'), state: { 'venue:entry:qd-tsingtao-beer-museum:standard': '2026-06-30' }, priceFen: 6000 }
]

t.test('venue entry', async t => {
  for (const c of cases) {
    const decision = venueEntry.decide(input(c.tap, c.card, c.state))
    t.equal(decision.decision, 'approved', c.name)
    if (decision.decision !== 'approved') continue
    t.same(decision.payments, [{ account: 'bank', amount: c.priceFen }], `${c.name}: payment`)
    if (c.concession !== undefined) t.equal(decision.details?.concession, c.concession, `${c.name}: concession`)
  }
})

t.test('records the entry under the venue prefix', async t => {
  const decision = venueEntry.decide(input(henanMuseum, card('1985-04-12')))
  t.same(decision.decision === 'approved' && decision.stateWrites, [{ key: 'venue:entry:zz-henan-museum:standard', value: '2026-07-01' }])
})

t.test('declines', async t => {
  t.match(venueEntry.decide(input({ scenario: 'museum', city: 'qingdao', venue: 'zz-henan-museum' }, card(null))), { decision: 'declined', reason: 'VENUE_UNKNOWN' })
  t.match(venueEntry.decide(input({ ...jinanSports, context: { ticket: 'sauna' } }, card(null))), { decision: 'declined', reason: 'TICKET_UNKNOWN' })
})
