// Bus module against the real fixtures: fares, concessions, Qingdao transfers, duplicate taps.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { bus, type BusTariff } from '../../src/rules/bus.js'
import { localTime } from '../../src/rules/local-time.js'
import type { CardFacts, CityCode, RuleDecision, RuleInput, ScenarioFacts } from '../../src/rules/types.js'

const fixture = (file: string): any => JSON.parse(readFileSync(new URL(`../../fixtures/${file}`, import.meta.url), 'utf8'))
const cities = fixture('cities.json').cities as Array<{ city: CityCode }>
const policies = fixture('policies.json')
const tariffs = fixture('tariffs/bus.json') as Record<CityCode, BusTariff>
const scenario = (fixture('scenarios.json').scenarios as ScenarioFacts[]).find(s => s.code === 'bus') as ScenarioFacts

const ISSUER: Record<CityCode, string> = { jinan: '370100', qingdao: '370200', zhengzhou: '410100' }
const epochOf = (iso: string): number => Date.parse(iso)

/** A holder living where the card was issued (residence is a holder category, src/rules/holder.ts). */
function card (issuerCity: CityCode, birthDate: string | null, categories: string[] = []): CardFacts {
  return { cardNo: 'B00000001', issuer: ISSUER[issuerCity], issuerCity, birthDate, categories: [...categories, `resident:${issuerCity}`], balances: { bank: 10_000, medical: 0 } }
}
const adult = (c: CityCode): CardFacts => card(c, '1985-04-12')
const senior = (c: CityCode): CardFacts => card(c, '1950-03-01')

interface Tap { city: CityCode, at: string, terminalId?: string, route?: string }
type Expect =
  | { decision: 'approved', amount: number, details?: Record<string, unknown>, writes?: Record<string, unknown> }
  | { decision: 'declined', reason: string }
interface Case { name: string, card: CardFacts, tap: Tap, state?: Record<string, unknown>, expect: Expect }

function decideBus (holder: CardFacts, tap: Tap, state: Record<string, unknown> = {}): RuleDecision {
  const input: RuleInput<BusTariff> = {
    tap: { tapId: 'bus-tap-1', at: localTime(epochOf(tap.at), 480), amount: null, context: {}, cardType: 'physical' },
    card: holder,
    terminal: {
      terminalId: tap.terminalId ?? `${tap.city}-bus-7`,
      city: tap.city,
      scenario: 'bus',
      operator: `${tap.city}-bus`,
      location: tap.route === undefined ? {} : { line: tap.route }
    },
    scenario,
    tariff: tariffs[tap.city],
    policies,
    city: cities.find(c => c.city === tap.city),
    state: { get: key => state[key] }
  }
  return bus.decide(input)
}

function expectDecision (c: Case): void {
  t.test(c.name, async t => {
    const result = decideBus(c.card, c.tap, c.state)
    t.equal(result.decision, c.expect.decision, 'decision')
    if (result.decision === 'declined' && c.expect.decision === 'declined') {
      t.equal(result.reason, c.expect.reason, 'reason')
      t.same(result.message, bus.reasons[result.reason], 'documented message')
    }
    if (result.decision === 'approved' && c.expect.decision === 'approved') {
      t.same(result.payments, [{ account: 'bank', amount: c.expect.amount }], 'one payment from the bank account')
      if (c.expect.details !== undefined) t.match(result.details, c.expect.details, 'details')
      if (c.expect.writes !== undefined) {
        t.match(Object.fromEntries((result.stateWrites ?? []).map(w => [w.key, w.value])), c.expect.writes, 'state writes')
      }
    }
  })
}

const WEEKDAY = '2026-07-01' // a Wednesday
const lastLeg = (mode: 'bus' | 'metro', at: string, transferred = false, city: CityCode = 'qingdao'): Record<string, unknown> =>
  ({ 'transit:lastLeg': { city, mode, atMs: epochOf(at), transferred } })

const fareCases: Case[] = [
  { name: 'Jinan adult, ordinary bus', card: adult('jinan'), tap: { city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00` }, expect: { decision: 'approved', amount: 100 } },
  { name: 'Jinan adult, air-conditioned route', card: adult('jinan'), tap: { city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00`, route: 'K51' }, expect: { decision: 'approved', amount: 200, details: { baseFareFen: 200 } } },
  { name: 'Jinan adult, BRT', card: adult('jinan'), tap: { city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00`, route: 'BRT1' }, expect: { decision: 'approved', amount: 200 } },
  { name: 'unlisted route pays the ordinary fare', card: adult('jinan'), tap: { city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00`, route: '999' }, expect: { decision: 'approved', amount: 100 } },
  { name: 'Zhengzhou adult', card: adult('qingdao'), tap: { city: 'zhengzhou', at: `${WEEKDAY}T08:00:00+08:00` }, expect: { decision: 'approved', amount: 100 } },
  { name: 'bus:last recorded', card: adult('jinan'), tap: { city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00`, terminalId: 'jn-bus-42' }, expect: { decision: 'approved', amount: 100, writes: { 'bus:last': { terminalId: 'jn-bus-42', atMs: epochOf(`${WEEKDAY}T08:00:00+08:00`) } } } }
]

const concessionCases: Case[] = [
  { name: 'Jinan senior free', card: senior('jinan'), tap: { city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00`, route: 'K51' }, expect: { decision: 'approved', amount: 0, details: { concession: 'shandong-senior' } } },
  { name: 'Qingdao senior free', card: senior('qingdao'), tap: { city: 'qingdao', at: `${WEEKDAY}T08:00:00+08:00` }, expect: { decision: 'approved', amount: 0 } },
  { name: 'Zhengzhou senior free in Qingdao', card: senior('zhengzhou'), tap: { city: 'qingdao', at: `${WEEKDAY}T08:00:00+08:00` }, expect: { decision: 'approved', amount: 0 } },
  { name: 'Jinan disabled free', card: card('jinan', '1978-06-30', ['disabled']), tap: { city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00` }, expect: { decision: 'approved', amount: 0, details: { concession: 'jinan-disabled' } } },
  { name: 'Jinan veteran free', card: card('jinan', '1968-01-15', ['veteran']), tap: { city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00` }, expect: { decision: 'approved', amount: 0, details: { concession: 'jinan-veteran' } } },
  { name: 'Zhengzhou senior pays at 08:00 on a weekday', card: senior('zhengzhou'), tap: { city: 'zhengzhou', at: `${WEEKDAY}T08:00:00+08:00` }, expect: { decision: 'approved', amount: 100, details: { concession: null } } },
  {
    name: 'Zhengzhou senior free at 10:00, allowance counted',
    card: senior('zhengzhou'),
    tap: { city: 'zhengzhou', at: `${WEEKDAY}T10:00:00+08:00` },
    state: { 'transit:freeRides': { '2026-07': 12 } },
    expect: { decision: 'approved', amount: 0, details: { concession: 'zhengzhou-senior' }, writes: { 'transit:freeRides': { '2026-07': 13 } } }
  },
  {
    name: 'Zhengzhou senior 80th free ride',
    card: senior('zhengzhou'),
    tap: { city: 'zhengzhou', at: `${WEEKDAY}T10:00:00+08:00` },
    state: { 'transit:freeRides': { '2026-07': 79 } },
    expect: { decision: 'approved', amount: 0, writes: { 'transit:freeRides': { '2026-07': 80 } } }
  },
  {
    name: 'Zhengzhou senior pays on the 81st ride of the month',
    card: senior('zhengzhou'),
    tap: { city: 'zhengzhou', at: `${WEEKDAY}T10:00:00+08:00` },
    state: { 'transit:freeRides': { '2026-07': 80 } },
    expect: { decision: 'approved', amount: 100, details: { concession: null, allowanceExhausted: true } }
  },
  { name: 'Zhengzhou senior free all day on a holiday', card: senior('zhengzhou'), tap: { city: 'zhengzhou', at: '2026-10-01T08:00:00+08:00' }, expect: { decision: 'approved', amount: 0 } },
  { name: 'Zhengzhou student half fare', card: card('zhengzhou', '2010-09-01', ['student']), tap: { city: 'zhengzhou', at: `${WEEKDAY}T08:00:00+08:00` }, expect: { decision: 'approved', amount: 50, details: { concession: 'zhengzhou-student' } } },
  { name: 'Zhengzhou student half of a BRT fare', card: card('zhengzhou', '2010-09-01', ['student']), tap: { city: 'zhengzhou', at: `${WEEKDAY}T08:00:00+08:00`, route: 'B1' }, expect: { decision: 'approved', amount: 100 } },
  { name: 'Jinan student pays full in Jinan', card: card('jinan', '2010-09-01', ['student']), tap: { city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00` }, expect: { decision: 'approved', amount: 100 } }
]

const transferCases: Case[] = [
  { name: 'Qingdao bus→bus at 60 min: 1 yuan off, ordinary bus free', card: adult('qingdao'), tap: { city: 'qingdao', at: `${WEEKDAY}T09:00:00+08:00` }, state: lastLeg('bus', `${WEEKDAY}T08:00:00+08:00`), expect: { decision: 'approved', amount: 0, details: { transferDiscountFen: 100 } } },
  { name: 'Qingdao bus→air-conditioned bus within 60 min: 1 yuan cheaper', card: adult('qingdao'), tap: { city: 'qingdao', at: `${WEEKDAY}T08:40:00+08:00`, route: '501' }, state: lastLeg('bus', `${WEEKDAY}T08:00:00+08:00`), expect: { decision: 'approved', amount: 100 } },
  { name: 'Qingdao transfer after 61 min: full fare', card: adult('qingdao'), tap: { city: 'qingdao', at: `${WEEKDAY}T09:01:00+08:00`, route: '501' }, state: lastLeg('bus', `${WEEKDAY}T08:00:00+08:00`), expect: { decision: 'approved', amount: 200, details: { transferDiscountFen: 0 } } },
  { name: 'Qingdao metro exit → bus within 60 min', card: adult('qingdao'), tap: { city: 'qingdao', at: `${WEEKDAY}T08:30:00+08:00`, route: '501' }, state: lastLeg('metro', `${WEEKDAY}T08:10:00+08:00`), expect: { decision: 'approved', amount: 100 } },
  { name: 'one transfer per chain: a discounted leg starts none', card: adult('qingdao'), tap: { city: 'qingdao', at: `${WEEKDAY}T08:30:00+08:00`, route: '501' }, state: lastLeg('bus', `${WEEKDAY}T08:10:00+08:00`, true), expect: { decision: 'approved', amount: 200 } },
  { name: 'a leg in another city is no transfer', card: adult('qingdao'), tap: { city: 'qingdao', at: `${WEEKDAY}T08:30:00+08:00` }, state: lastLeg('bus', `${WEEKDAY}T08:10:00+08:00`, false, 'jinan'), expect: { decision: 'approved', amount: 100 } },
  { name: 'Jinan has no transfer discount', card: adult('jinan'), tap: { city: 'jinan', at: `${WEEKDAY}T08:30:00+08:00` }, state: lastLeg('bus', `${WEEKDAY}T08:10:00+08:00`, false, 'jinan'), expect: { decision: 'approved', amount: 100 } },
  {
    name: 'Qingdao records the leg and whether it was a transfer',
    card: adult('qingdao'),
    tap: { city: 'qingdao', at: `${WEEKDAY}T08:30:00+08:00` },
    state: lastLeg('bus', `${WEEKDAY}T08:10:00+08:00`),
    expect: { decision: 'approved', amount: 0, writes: { 'transit:lastLeg': { city: 'qingdao', mode: 'bus', atMs: epochOf(`${WEEKDAY}T08:30:00+08:00`), transferred: true } } }
  },
  {
    name: 'a free senior leg is not a used transfer',
    card: senior('qingdao'),
    tap: { city: 'qingdao', at: `${WEEKDAY}T08:30:00+08:00` },
    state: lastLeg('bus', `${WEEKDAY}T08:10:00+08:00`),
    expect: { decision: 'approved', amount: 0, details: { transferDiscountFen: 0 }, writes: { 'transit:lastLeg': { transferred: false } } }
  }
]

const lastTap = (terminalId: string, at: string): Record<string, unknown> => ({ 'bus:last': { terminalId, atMs: epochOf(at) } })
const duplicateCases: Case[] = [
  { name: 'second tap on the same bus within 2 min declined', card: adult('jinan'), tap: { city: 'jinan', at: `${WEEKDAY}T08:01:59+08:00`, terminalId: 'jn-bus-42' }, state: lastTap('jn-bus-42', `${WEEKDAY}T08:00:00+08:00`), expect: { decision: 'declined', reason: 'DUPLICATE_TAP' } },
  { name: 'a senior\'s double tap is declined too', card: senior('jinan'), tap: { city: 'jinan', at: `${WEEKDAY}T08:00:05+08:00`, terminalId: 'jn-bus-42' }, state: lastTap('jn-bus-42', `${WEEKDAY}T08:00:00+08:00`), expect: { decision: 'declined', reason: 'DUPLICATE_TAP' } },
  { name: 'late upload of an earlier tap within the window is a duplicate', card: adult('jinan'), tap: { city: 'jinan', at: `${WEEKDAY}T07:59:00+08:00`, terminalId: 'jn-bus-42' }, state: lastTap('jn-bus-42', `${WEEKDAY}T08:00:00+08:00`), expect: { decision: 'declined', reason: 'DUPLICATE_TAP' } },
  { name: 'same bus after 2 min is a new ride', card: adult('jinan'), tap: { city: 'jinan', at: `${WEEKDAY}T08:02:00+08:00`, terminalId: 'jn-bus-42' }, state: lastTap('jn-bus-42', `${WEEKDAY}T08:00:00+08:00`), expect: { decision: 'approved', amount: 100 } },
  { name: 'another bus within 2 min is a new ride', card: adult('jinan'), tap: { city: 'jinan', at: `${WEEKDAY}T08:01:00+08:00`, terminalId: 'jn-bus-43' }, state: lastTap('jn-bus-42', `${WEEKDAY}T08:00:00+08:00`), expect: { decision: 'approved', amount: 100 } },
  { name: 'corrupt bus:last is ignored', card: adult('jinan'), tap: { city: 'jinan', at: `${WEEKDAY}T08:01:00+08:00`, terminalId: 'jn-bus-42' }, state: { 'bus:last': 'junk' }, expect: { decision: 'approved', amount: 100 } }
]

for (const c of [...fareCases, ...concessionCases, ...transferCases, ...duplicateCases]) expectDecision(c)

t.test('a month of Zhengzhou senior rides in sequence: 80 free, then full fare', async t => {
  const state: Record<string, unknown> = {}
  const holder = senior('zhengzhou')
  const paid: number[] = []
  // Three off-peak rides a day through July 2026: 93 rides, on working and rest days alike.
  for (let day = 1; day <= 31; day++) {
    for (const hour of ['10', '12', '15']) {
      const result = decideBus(holder, { city: 'zhengzhou', at: `2026-07-${String(day).padStart(2, '0')}T${hour}:00:00+08:00` }, state)
      if (result.decision !== 'approved') throw new Error('declined')
      paid.push(result.payments[0]?.amount ?? -1)
      for (const w of result.stateWrites ?? []) state[w.key] = w.value
    }
  }
  t.equal(paid.filter(p => p === 0).length, 80, '80 free rides')
  t.same(paid.slice(80), Array(13).fill(100), 'the 81st ride on pays the full fare')
  t.same(state['transit:freeRides'], { '2026-07': 80 }, 'the counter stops at the allowance')
})

t.test('no state is written on a declined tap', async t => {
  const result = decideBus(adult('jinan'), { city: 'jinan', at: `${WEEKDAY}T08:00:30+08:00`, terminalId: 'x' }, lastTap('x', `${WEEKDAY}T08:00:00+08:00`))
  t.equal(result.decision, 'declined')
  t.notOk('stateWrites' in result)
})

t.test('every city has a bus tariff with a positive ordinary fare', async t => {
  for (const city of ['jinan', 'qingdao', 'zhengzhou'] as const) {
    t.ok(Number.isSafeInteger(tariffs[city].fareFen) && tariffs[city].fareFen > 0, city)
    t.ok(tariffs[city].duplicateTapMinutes > 0, `${city} duplicate window`)
    for (const fareClass of Object.values(tariffs[city].routes ?? {})) t.ok(tariffs[city].fareClasses?.[fareClass] !== undefined, `${city}: class ${fareClass} priced`)
  }
})
