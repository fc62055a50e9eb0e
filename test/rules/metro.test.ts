// Metro module against the real fixtures: distance bands, concessions, Qingdao tiers and
// transfers, and every kind of unpaired tap.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { bus, type BusTariff } from '../../src/rules/bus.js'
import { fareForMetres, fareTableProblem, minimumFareFen, type FareTable } from '../../src/rules/fare-bands.js'
import { localTime } from '../../src/rules/local-time.js'
import { metro, type MetroTariff, type OpenJourney } from '../../src/rules/metro.js'
import { buildMetroNetwork, longestShortestMetres, shortestMetres } from '../../src/rules/metro-network.js'
import type { CardFacts, CityCode, RuleDecision, RuleInput, ScenarioFacts } from '../../src/rules/types.js'

const fixture = (file: string): any => JSON.parse(readFileSync(new URL(`../../fixtures/${file}`, import.meta.url), 'utf8'))
const cities = fixture('cities.json').cities as Array<{ city: CityCode }>
const policies = fixture('policies.json')
const tariffs = fixture('tariffs/metro.json') as Record<CityCode, MetroTariff>
const busTariffs = fixture('tariffs/bus.json') as Record<CityCode, BusTariff>
const scenarios = fixture('scenarios.json').scenarios as ScenarioFacts[]
const scenarioOf = (code: string): ScenarioFacts => scenarios.find(s => s.code === code) as ScenarioFacts
const cityOf = (code: CityCode): any => cities.find(c => c.city === code)

const ISSUER: Record<CityCode, string> = { jinan: '370100', qingdao: '370200', zhengzhou: '410100' }
const epochOf = (iso: string): number => Date.parse(iso)

/** A holder living where the card was issued (residence is a holder category, src/rules/holder.ts). */
function card (issuerCity: CityCode, birthDate: string | null, categories: string[] = [], bankFen = 10_000): CardFacts {
  return { cardNo: 'M00000001', issuer: ISSUER[issuerCity], issuerCity, birthDate, categories: [...categories, `resident:${issuerCity}`], balances: { bank: bankFen, medical: 0 } }
}
const adult = (c: CityCode, bankFen?: number): CardFacts => card(c, '1985-04-12', [], bankFen)
const senior = (c: CityCode, bankFen?: number): CardFacts => card(c, '1950-03-01', [], bankFen)

interface Gate { city: CityCode, station: string, direction: 'in' | 'out', at: string, pass?: string }
type Expect =
  | { decision: 'approved', amount: number, details?: Record<string, unknown>, writes?: Record<string, unknown> }
  | { decision: 'declined', reason: string }
interface Case { name: string, card: CardFacts, tap: Gate, state?: Record<string, unknown>, expect: Expect }

function decideMetro (holder: CardFacts, gate: Gate, state: Record<string, unknown> = {}, tariff: MetroTariff = tariffs[gate.city]): RuleDecision {
  const input: RuleInput<MetroTariff> = {
    tap: { tapId: `${gate.station}-${gate.at}`, at: localTime(epochOf(gate.at), 480), amount: null, context: { direction: gate.direction, ...(gate.pass === undefined ? {} : { pass: gate.pass }) }, cardType: 'physical' },
    card: holder,
    terminal: { terminalId: `${gate.station}-gate-1`, city: gate.city, scenario: 'metro', operator: `${gate.city}-metro`, location: { station: gate.station } },
    scenario: scenarioOf('metro'),
    tariff,
    policies,
    city: cityOf(gate.city),
    state: { get: key => state[key] }
  }
  return metro.decide(input)
}

/** An open journey as a tap-in at `station` would have recorded it. */
function opened (city: CityCode, station: string, at: string, extra: Partial<OpenJourney> = {}): Record<string, unknown> {
  const journey: OpenJourney = {
    city, station, atMs: epochOf(at), tapId: 'in-1', level: 'full', policyId: null, usesAllowance: false, transfer: false,
    unfinishedFareFen: tariffs[city].maxFareFen, ...extra
  }
  return { 'metro:open': journey }
}

function expectDecision (c: Case): void {
  t.test(c.name, async t => {
    const result = decideMetro(c.card, c.tap, c.state)
    t.equal(result.decision, c.expect.decision, 'decision')
    if (result.decision === 'declined' && c.expect.decision === 'declined') {
      t.equal(result.reason, c.expect.reason, 'reason')
      t.same(result.message, metro.reasons[result.reason], 'documented message')
      t.notOk('stateWrites' in result, 'a decline writes nothing')
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
const IN_AT = `${WEEKDAY}T08:00:00+08:00`
const OUT_AT = `${WEEKDAY}T08:40:00+08:00`
const exitJinan = (from: string, to: string, holder = adult('jinan')): Pick<Case, 'card' | 'tap' | 'state'> =>
  ({ card: holder, tap: { city: 'jinan', station: to, direction: 'out', at: OUT_AT }, state: opened('jinan', from, IN_AT) })

// Jinan bands: ≤5 km 2 yuan; ≤10 3; ≤15 4; ≤22 5; ≤29 6; +1 per 9 km beyond. Km from cities.json.
const jinanBandCases: Case[] = [
  { name: 'Jinan 方特→济南西站 2.0 km: 2 yuan', ...exitJinan('jn-fangte', 'jn-xizhan'), expect: { decision: 'approved', amount: 200, details: { distanceKm: 2 } } },
  { name: 'Jinan 方特→王府庄 6.9 km: 3 yuan', ...exitJinan('jn-fangte', 'jn-wangfuzhuang'), expect: { decision: 'approved', amount: 300, details: { distanceKm: 6.9 } } },
  { name: 'Jinan 济南西站→赵营 11.4 km: 4 yuan', ...exitJinan('jn-xizhan', 'jn-zhaoying'), expect: { decision: 'approved', amount: 400, details: { distanceKm: 11.4 } } },
  { name: 'Jinan 方特→紫薇路 17.0 km: 5 yuan', ...exitJinan('jn-fangte', 'jn-ziweilu'), expect: { decision: 'approved', amount: 500, details: { distanceKm: 17 } } },
  { name: 'Jinan 济南西站→济泺路 18.8 km via 王府庄: 5 yuan', ...exitJinan('jn-xizhan', 'jn-jiluolu'), expect: { decision: 'approved', amount: 500, details: { distanceKm: 18.8 } } },
  { name: 'Jinan 方特→创新谷 23.5 km: 6 yuan', ...exitJinan('jn-fangte', 'jn-chuangxingu'), expect: { decision: 'approved', amount: 600, details: { distanceKm: 23.5 } } },
  { name: 'Jinan 方特→姜家庄 33.8 km: 7 yuan (29 + one started 9 km)', ...exitJinan('jn-fangte', 'jn-jiangjiazhuang'), expect: { decision: 'approved', amount: 700, details: { distanceKm: 33.8 } } },
  { name: 'Jinan 方特→彭家庄 43.3 km: 8 yuan', ...exitJinan('jn-fangte', 'jn-pengjiazhuang'), expect: { decision: 'approved', amount: 800, details: { distanceKm: 43.3 } } },
  { name: 'Jinan 工研院→滩头 54.3 km over three lines: 9 yuan', ...exitJinan('jn-gongyanyuan', 'jn-tantou'), expect: { decision: 'approved', amount: 900, details: { distanceKm: 54.3 } } },
  { name: 'Jinan exit where you entered: minimum fare', ...exitJinan('jn-xizhan', 'jn-xizhan'), expect: { decision: 'approved', amount: 200, details: { distanceKm: 0 } } },
  { name: 'exit closes the journey', ...exitJinan('jn-fangte', 'jn-xizhan'), expect: { decision: 'approved', amount: 200, writes: { 'metro:open': null } } },
  { name: 'Jinan has no tiers: nothing counted', ...exitJinan('jn-fangte', 'jn-xizhan'), expect: { decision: 'approved', amount: 200, details: { tierDiscountPercent: 0 } } }
]

const exitAt = (city: CityCode, from: string, to: string, inAt: string, outAt: string, holder: CardFacts, extra: Partial<OpenJourney> = {}, more: Record<string, unknown> = {}): Pick<Case, 'card' | 'tap' | 'state'> =>
  ({ card: holder, tap: { city, station: to, direction: 'out', at: outAt }, state: { ...opened(city, from, inAt, extra), ...more } })

const otherCityCases: Case[] = [
  // Zhengzhou: ≤6 km 2; ≤13 3; ≤21 4; +1 per 9 km. 郑州火车站→郑州东站 12.5 km.
  { name: 'Zhengzhou adult 12.5 km: 3 yuan', ...exitAt('zhengzhou', 'zz-zhengzhouzhan', 'zz-dongzhan', IN_AT, OUT_AT, adult('zhengzhou')), expect: { decision: 'approved', amount: 300 } },
  { name: 'Zhengzhou 刘庄→南四环 20.3 km: 4 yuan', ...exitAt('zhengzhou', 'zz-liuzhuang', 'zz-nansihuan', IN_AT, OUT_AT, adult('zhengzhou')), expect: { decision: 'approved', amount: 400 } },
  // Qingdao: ≤5 2; ≤10 3; ≤17 4; ≤27 5; ≤38 6; +1 per 20 km — then the monthly tier (10% off from the first yuan).
  { name: 'Qingdao 青岛站→五四广场 6.5 km: 3 yuan less 10%', ...exitAt('qingdao', 'qd-qingdaozhan', 'qd-wusilu', IN_AT, OUT_AT, adult('qingdao')), expect: { decision: 'approved', amount: 270, details: { baseFareFen: 300, tierDiscountPercent: 10 } } },
  { name: 'Qingdao 王家港→东郭庄 59.0 km: 8 yuan less 10%', ...exitAt('qingdao', 'qd-wangjiagang', 'qd-dongguozhuang', IN_AT, OUT_AT, adult('qingdao')), expect: { decision: 'approved', amount: 720, details: { baseFareFen: 800 } } }
]

const concessionCases: Case[] = [
  { name: 'Qingdao senior rides free', ...exitAt('qingdao', 'qd-qingdaozhan', 'qd-wusilu', IN_AT, OUT_AT, senior('qingdao'), { level: 'free', policyId: 'shandong-senior', unfinishedFareFen: 0 }), expect: { decision: 'approved', amount: 0, details: { concession: 'shandong-senior' } } },
  { name: 'a free ride adds nothing to the month\'s spend', ...exitAt('qingdao', 'qd-qingdaozhan', 'qd-wusilu', IN_AT, OUT_AT, senior('qingdao'), { level: 'free', unfinishedFareFen: 0 }), expect: { decision: 'approved', amount: 0, writes: { 'metro:open': null } } },
  { name: 'Zhengzhou student half fare', ...exitAt('zhengzhou', 'zz-zhengzhouzhan', 'zz-dongzhan', IN_AT, OUT_AT, card('zhengzhou', '2010-09-01', ['student']), { level: 'half', policyId: 'zhengzhou-student' }), expect: { decision: 'approved', amount: 150 } },
  {
    name: 'Zhengzhou senior free ride counts toward the allowance at exit',
    ...exitAt('zhengzhou', 'zz-zhengzhouzhan', 'zz-dongzhan', `${WEEKDAY}T10:00:00+08:00`, `${WEEKDAY}T10:30:00+08:00`, senior('zhengzhou'), { level: 'free', policyId: 'zhengzhou-senior', usesAllowance: true, unfinishedFareFen: 0 }, { 'transit:freeRides': { '2026-07': 7 } }),
    expect: { decision: 'approved', amount: 0, writes: { 'transit:freeRides': { '2026-07': 8 } } }
  }
]

const inAt = (city: CityCode, station: string, at: string, holder: CardFacts, state: Record<string, unknown> = {}): Pick<Case, 'card' | 'tap' | 'state'> =>
  ({ card: holder, tap: { city, station, direction: 'in', at }, state })

const entryCases: Case[] = [
  { name: 'entry charges nothing and opens a journey', ...inAt('jinan', 'jn-xizhan', IN_AT, adult('jinan')), expect: { decision: 'approved', amount: 0, writes: { 'metro:open': { city: 'jinan', station: 'jn-xizhan', atMs: epochOf(IN_AT), level: 'full', unfinishedFareFen: 900 } } } },
  { name: 'Zhengzhou senior entering at 08:00 on a weekday pays at exit', ...inAt('zhengzhou', 'zz-erqi', `${WEEKDAY}T08:00:00+08:00`, senior('zhengzhou')), expect: { decision: 'approved', amount: 0, writes: { 'metro:open': { level: 'full', policyId: null } } } },
  { name: 'Zhengzhou senior entering at 10:00 rides free', ...inAt('zhengzhou', 'zz-erqi', `${WEEKDAY}T10:00:00+08:00`, senior('zhengzhou')), expect: { decision: 'approved', amount: 0, writes: { 'metro:open': { level: 'free', policyId: 'zhengzhou-senior', usesAllowance: true, unfinishedFareFen: 0 } } } },
  { name: 'Zhengzhou senior\'s 81st ride pays', ...inAt('zhengzhou', 'zz-erqi', `${WEEKDAY}T10:00:00+08:00`, senior('zhengzhou'), { 'transit:freeRides': { '2026-07': 80 } }), expect: { decision: 'approved', amount: 0, writes: { 'metro:open': { level: 'full', unfinishedFareFen: 700 } } } },
  { name: 'Jinan disabled enters free', ...inAt('jinan', 'jn-fangte', IN_AT, card('jinan', '1978-06-30', ['disabled'])), expect: { decision: 'approved', amount: 0, writes: { 'metro:open': { level: 'free', policyId: 'jinan-disabled' } } } },
  { name: 'Jinan veteran enters free', ...inAt('jinan', 'jn-fangte', IN_AT, card('jinan', '1968-01-15', ['veteran'])), expect: { decision: 'approved', amount: 0, writes: { 'metro:open': { level: 'free', policyId: 'jinan-veteran' } } } },
  { name: 'a student\'s unfinished fare is half the maximum', ...inAt('zhengzhou', 'zz-erqi', IN_AT, card('zhengzhou', '2010-09-01', ['student'])), expect: { decision: 'approved', amount: 0, writes: { 'metro:open': { level: 'half', unfinishedFareFen: 350 } } } },
  { name: 'entry with less than the minimum fare declined', ...inAt('jinan', 'jn-fangte', IN_AT, adult('jinan', 199)), expect: { decision: 'declined', reason: 'BELOW_MINIMUM_BALANCE' } },
  { name: 'entry with exactly the minimum fare', ...inAt('jinan', 'jn-fangte', IN_AT, adult('jinan', 200)), expect: { decision: 'approved', amount: 0 } },
  { name: 'a free rider needs no balance', ...inAt('jinan', 'jn-fangte', IN_AT, senior('jinan', 0)), expect: { decision: 'approved', amount: 0 } },
  { name: 'a half-fare rider needs half the minimum', ...inAt('zhengzhou', 'zz-erqi', IN_AT, card('zhengzhou', '2010-09-01', ['student'], 100)), expect: { decision: 'approved', amount: 0 } },
  { name: 'unknown station declined', ...inAt('jinan', 'jn-nowhere', IN_AT, adult('jinan')), expect: { decision: 'declined', reason: 'STATION_UNKNOWN' } },
  { name: 'a station of another city is unknown here', ...inAt('jinan', 'qd-wusilu', IN_AT, adult('jinan')), expect: { decision: 'declined', reason: 'STATION_UNKNOWN' } }
]

const unpairedCases: Case[] = [
  {
    name: 'entry while a journey is open charges the maximum fare and opens a new one',
    ...inAt('jinan', 'jn-xizhan', `${WEEKDAY}T18:00:00+08:00`, adult('jinan'), opened('jinan', 'jn-fangte', IN_AT)),
    expect: { decision: 'approved', amount: 900, details: { closedUnfinished: { station: 'jn-fangte', fareFen: 900 } }, writes: { 'metro:open': { station: 'jn-xizhan', atMs: epochOf(`${WEEKDAY}T18:00:00+08:00`) } } }
  },
  {
    name: 'an open journey in another city is closed at that city\'s maximum',
    ...inAt('jinan', 'jn-xizhan', `${WEEKDAY}T18:00:00+08:00`, adult('jinan'), opened('qingdao', 'qd-wusilu', IN_AT)),
    expect: { decision: 'approved', amount: 800, details: { closedUnfinished: { city: 'qingdao', fareFen: 800 } } }
  },
  { name: 'a senior\'s unfinished journey costs nothing', ...inAt('jinan', 'jn-xizhan', `${WEEKDAY}T18:00:00+08:00`, senior('jinan'), opened('jinan', 'jn-fangte', IN_AT, { level: 'free', unfinishedFareFen: 0 })), expect: { decision: 'approved', amount: 0 } },
  { name: 'entry while open needs the maximum plus the minimum', ...inAt('jinan', 'jn-xizhan', `${WEEKDAY}T18:00:00+08:00`, adult('jinan', 1000), opened('jinan', 'jn-fangte', IN_AT)), expect: { decision: 'declined', reason: 'BELOW_MINIMUM_BALANCE' } },
  { name: 'double tap at the same entry gate within 2 min', ...inAt('jinan', 'jn-fangte', `${WEEKDAY}T08:01:30+08:00`, adult('jinan'), opened('jinan', 'jn-fangte', IN_AT)), expect: { decision: 'declined', reason: 'DUPLICATE_TAP' } },
  { name: 'same station again after 10 min is a new journey', ...inAt('jinan', 'jn-fangte', `${WEEKDAY}T08:10:00+08:00`, adult('jinan'), opened('jinan', 'jn-fangte', IN_AT)), expect: { decision: 'approved', amount: 900 } },
  { name: 'exit without entry is declined, not free', card: adult('jinan'), tap: { city: 'jinan', station: 'jn-xizhan', direction: 'out', at: OUT_AT }, expect: { decision: 'declined', reason: 'NO_ENTRY' } },
  { name: 'exit in another city than the entry is no entry', ...exitAt('jinan', 'qd-wusilu', 'jn-xizhan', IN_AT, OUT_AT, adult('jinan')), state: opened('qingdao', 'qd-wusilu', IN_AT), expect: { decision: 'declined', reason: 'NO_ENTRY' } },
  { name: 'corrupt metro:open counts as no entry', card: adult('jinan'), tap: { city: 'jinan', station: 'jn-xizhan', direction: 'out', at: OUT_AT }, state: { 'metro:open': { station: 42 } }, expect: { decision: 'declined', reason: 'NO_ENTRY' } },
  { name: 'exit 4 h after entry: still priced by distance', ...exitAt('jinan', 'jn-fangte', 'jn-xizhan', IN_AT, `${WEEKDAY}T12:00:00+08:00`, adult('jinan')), expect: { decision: 'approved', amount: 200 } },
  { name: 'exit more than 4 h after entry: the maximum fare', ...exitAt('jinan', 'jn-fangte', 'jn-xizhan', IN_AT, `${WEEKDAY}T12:00:01+08:00`, adult('jinan')), expect: { decision: 'approved', amount: 900, details: { overtime: true, unfinished: true }, writes: { 'metro:open': null } } }
]

// Qingdao monthly tiers by what was paid this month before the trip: 10% / 20% from 100 yuan /
// 30% from 200 / 10% from 300. A 3-yuan trip (青岛站→五四广场, 6.5 km).
const spent = (fen: number): Record<string, unknown> => ({ 'metro:spent': { '2026-07': fen } })
const qingdaoTrip = (more: Record<string, unknown>, extra: Partial<OpenJourney> = {}): Pick<Case, 'card' | 'tap' | 'state'> =>
  exitAt('qingdao', 'qd-qingdaozhan', 'qd-wusilu', IN_AT, OUT_AT, adult('qingdao'), extra, more)
const tierCases: Case[] = [
  { name: 'tier: first trip of the month, 10% off', ...qingdaoTrip({}), expect: { decision: 'approved', amount: 270, writes: { 'metro:spent': { '2026-07': 270 } } } },
  { name: 'tier: 99.99 yuan spent, still 10%', ...qingdaoTrip(spent(9999)), expect: { decision: 'approved', amount: 270, writes: { 'metro:spent': { '2026-07': 10269 } } } },
  { name: 'tier: 100 yuan spent, 20% off', ...qingdaoTrip(spent(10000)), expect: { decision: 'approved', amount: 240, details: { tierDiscountPercent: 20 } } },
  { name: 'tier: 200 yuan spent, 30% off', ...qingdaoTrip(spent(20000)), expect: { decision: 'approved', amount: 210, details: { tierDiscountPercent: 30 } } },
  { name: 'tier: 300 yuan spent, back to 10%', ...qingdaoTrip(spent(30000)), expect: { decision: 'approved', amount: 270, details: { tierDiscountPercent: 10 } } },
  { name: 'tier: last month\'s spend does not count', ...qingdaoTrip({ 'metro:spent': { '2026-06': 25000 } }), expect: { decision: 'approved', amount: 270 } },
  // Transfer from a bus within 60 min (decided at entry): tiered fare, then 1 yuan off.
  { name: 'transfer: bus→metro 1 yuan cheaper after the tier', ...qingdaoTrip({}, { transfer: true }), expect: { decision: 'approved', amount: 170, details: { transferDiscountFen: 100 }, writes: { 'transit:lastLeg': { mode: 'metro', transferred: true } } } },
  { name: 'transfer with the 20% tier', ...qingdaoTrip(spent(10000), { transfer: true }), expect: { decision: 'approved', amount: 140 } }
]

for (const c of [...jinanBandCases, ...otherCityCases, ...concessionCases, ...entryCases, ...unpairedCases, ...tierCases]) expectDecision(c)

// ---- sequences through both modules, applying state writes as the ledger would ----

function runner (holder: CardFacts) {
  const state: Record<string, unknown> = {}
  const apply = (result: RuleDecision): RuleDecision => {
    if (result.decision === 'approved') for (const w of result.stateWrites ?? []) state[w.key] = w.value
    return result
  }
  const charged = (result: RuleDecision): number | string => result.decision === 'approved' ? result.payments[0]?.amount ?? -1 : result.reason
  return {
    state,
    gate: (gate: Gate): number | string => charged(apply(decideMetro(holder, gate, state))),
    bus: (city: CityCode, at: string, route?: string): number | string => charged(apply(bus.decide({
      tap: { tapId: `bus-${at}`, at: localTime(epochOf(at), 480), amount: null, context: {}, cardType: 'physical' },
      card: holder,
      terminal: { terminalId: `${city}-bus-1`, city, scenario: 'bus', operator: `${city}-bus`, location: route === undefined ? {} : { line: route } },
      scenario: scenarioOf('bus'),
      tariff: busTariffs[city],
      policies,
      city: cityOf(city),
      state: { get: key => state[key] }
    })))
  }
}

t.test('Qingdao: bus, then metro within 60 min is 1 yuan cheaper; not after 61 min', async t => {
  const rider = runner(adult('qingdao'))
  t.equal(rider.bus('qingdao', `${WEEKDAY}T07:20:00+08:00`), 100, 'bus')
  t.equal(rider.gate({ city: 'qingdao', station: 'qd-qingdaozhan', direction: 'in', at: `${WEEKDAY}T08:20:00+08:00` }), 0, 'enter at 60 min')
  t.equal(rider.gate({ city: 'qingdao', station: 'qd-wusilu', direction: 'out', at: `${WEEKDAY}T08:40:00+08:00` }), 170, '3 yuan, 10% tier, 1 yuan transfer')
  t.equal(rider.bus('qingdao', `${WEEKDAY}T08:50:00+08:00`), 100, 'a third leg gets no second transfer')

  const late = runner(adult('qingdao'))
  late.bus('qingdao', `${WEEKDAY}T07:20:00+08:00`)
  late.gate({ city: 'qingdao', station: 'qd-qingdaozhan', direction: 'in', at: `${WEEKDAY}T08:21:00+08:00` })
  t.equal(late.gate({ city: 'qingdao', station: 'qd-wusilu', direction: 'out', at: `${WEEKDAY}T08:40:00+08:00` }), 270, 'entered at 61 min: no transfer')
})

t.test('Qingdao: metro, then bus within 60 min of the exit', async t => {
  const rider = runner(adult('qingdao'))
  rider.gate({ city: 'qingdao', station: 'qd-qingdaozhan', direction: 'in', at: `${WEEKDAY}T08:00:00+08:00` })
  t.equal(rider.gate({ city: 'qingdao', station: 'qd-wusilu', direction: 'out', at: `${WEEKDAY}T08:20:00+08:00` }), 270)
  t.equal(rider.bus('qingdao', `${WEEKDAY}T09:10:00+08:00`, '501'), 100, 'air-conditioned 2 yuan, 1 yuan off')
})

t.test('Qingdao: a month of long commutes climbs every tier and falls back to 10%', async t => {
  const rider = runner(adult('qingdao'))
  const paid: number[] = []
  for (let day = 1; day <= 31; day++) {
    const date = `2026-07-${String(day).padStart(2, '0')}`
    for (const [from, to, hour] of [['qd-wangjiagang', 'qd-dongguozhuang', '07'], ['qd-dongguozhuang', 'qd-wangjiagang', '18']] as const) {
      rider.gate({ city: 'qingdao', station: from, direction: 'in', at: `${date}T${hour}:00:00+08:00` })
      paid.push(rider.gate({ city: 'qingdao', station: to, direction: 'out', at: `${date}T${hour}:59:00+08:00` }) as number)
    }
  }
  // 59.0 km: 8 yuan. 14 trips at 10% off reach 100.80 yuan; 16 at 20% reach 203.20; 18 at 30% reach 304.00; then 10%.
  const expected = [...Array(14).fill(720), ...Array(16).fill(640), ...Array(18).fill(560), ...Array(14).fill(720)]
  t.same(paid, expected)
  t.equal((rider.state['metro:spent'] as Record<string, number>)['2026-07'], expected.reduce((a, b) => a + b, 0), 'spend counter is the sum paid')
})

t.test('an unpaired entry never becomes a free ride', async t => {
  const rider = runner(adult('jinan'))
  rider.gate({ city: 'jinan', station: 'jn-fangte', direction: 'in', at: `${WEEKDAY}T08:00:00+08:00` })
  t.equal(rider.gate({ city: 'jinan', station: 'jn-xizhan', direction: 'in', at: `${WEEKDAY}T19:00:00+08:00` }), 900, 'next entry pays the maximum')
  t.equal(rider.gate({ city: 'jinan', station: 'jn-fangte', direction: 'out', at: `${WEEKDAY}T19:20:00+08:00` }), 200, 'and this journey is priced normally')
  t.equal(rider.gate({ city: 'jinan', station: 'jn-fangte', direction: 'out', at: `${WEEKDAY}T19:21:00+08:00` }), 'NO_ENTRY', 'a second exit has no entry')
})

t.test('Zhengzhou senior by metro: pays in the peak, free after, pays on the 81st ride', async t => {
  const rider = runner(senior('zhengzhou'))
  rider.gate({ city: 'zhengzhou', station: 'zz-erqi', direction: 'in', at: `${WEEKDAY}T08:00:00+08:00` })
  t.equal(rider.gate({ city: 'zhengzhou', station: 'zz-dongzhan', direction: 'out', at: `${WEEKDAY}T08:30:00+08:00` }), 300, 'peak: 11.6 km, 3 yuan')
  rider.gate({ city: 'zhengzhou', station: 'zz-dongzhan', direction: 'in', at: `${WEEKDAY}T10:00:00+08:00` })
  t.equal(rider.gate({ city: 'zhengzhou', station: 'zz-erqi', direction: 'out', at: `${WEEKDAY}T10:30:00+08:00` }), 0, 'off-peak: free')
  t.same(rider.state['transit:freeRides'], { '2026-07': 1 })
  rider.state['transit:freeRides'] = { '2026-07': 80 }
  rider.gate({ city: 'zhengzhou', station: 'zz-erqi', direction: 'in', at: `${WEEKDAY}T14:00:00+08:00` })
  t.equal(rider.gate({ city: 'zhengzhou', station: 'zz-dongzhan', direction: 'out', at: `${WEEKDAY}T14:30:00+08:00` }), 300, '81st ride pays')
  t.same(rider.state['transit:freeRides'], { '2026-07': 80 }, 'a paid ride uses no allowance')
})

t.test('context schema: direction in or out, nothing else', async t => {
  const validate = new Ajv({ strict: false }).compile(metro.contextSchema)
  t.ok(validate({ direction: 'in' }))
  t.ok(validate({ direction: 'out' }))
  t.notOk(validate({}), 'direction required')
  t.notOk(validate({ direction: 'sideways' }))
  t.notOk(validate({ direction: 'in', station: 'jn-fangte' }), 'unknown fields rejected')
  t.notOk(validate({ direction: 1 }))
})

t.test('metro tariffs: valid band tables; the maximum fare covers every trip', async t => {
  for (const city of ['jinan', 'qingdao', 'zhengzhou'] as const) {
    const tariff = tariffs[city]
    t.equal(fareTableProblem(tariff.fare), null, `${city} band table`)
    const network = buildMetroNetwork(cityOf(city))
    const longestFareFen = fareForMetres(tariff.fare, longestShortestMetres(network))
    t.equal(tariff.maxFareFen, longestFareFen, `${city}: maxFareFen is the longest trip's fare`)
    t.ok(minimumFareFen(tariff.fare) > 0 && tariff.maxJourneyMinutes > 0 && tariff.duplicateTapMinutes > 0, `${city} limits`)
    t.ok(shortestMetres(network, network.stationIds[0] as string, network.stationIds[1] as string) !== null)
  }
})

t.test('fare bands: edges are inclusive, beyond adds a step per started N km', async t => {
  const zhengzhou: FareTable = tariffs.zhengzhou.fare
  const table: Array<[number, number]> = [
    [0, 200], [6000, 200], [6001, 300], [13000, 300], [13001, 400], [21000, 400], [21001, 500], [30000, 500], [30001, 600], [39000, 600], [39001, 700]
  ]
  for (const [metres, fareFen] of table) t.equal(fareForMetres(zhengzhou, metres), fareFen, `Zhengzhou ${metres} m`)
  const jinan: FareTable = tariffs.jinan.fare
  for (const [metres, fareFen] of [[5000, 200], [5001, 300], [29000, 600], [29001, 700], [38000, 700], [38001, 800]] as Array<[number, number]>) {
    t.equal(fareForMetres(jinan, metres), fareFen, `Jinan ${metres} m`)
  }
  t.equal(fareForMetres({ bands: [{ upToKm: 5, fareFen: 200 }] }, 99_000), 200, 'no beyond rule: the last band caps')
  t.match(fareTableProblem({ bands: [{ upToKm: 5, fareFen: 200 }, { upToKm: 4, fareFen: 300 }] }), /ascend/)
  t.match(fareTableProblem({ bands: [] }), /no bands/)
})

// Issue 12 finding 5. Same-station exit: 10 minutes free (the rule of Shanghai, Tianjin, Nanchang metros;
// unconfirmed for the three cities, metro.json); later the 0 km minimum fare.
const passCases: Case[] = [
  { name: 'same-station exit within 10 minutes is free', ...exitAt('jinan', 'jn-xizhan', 'jn-xizhan', IN_AT, `${WEEKDAY}T08:10:00+08:00`, adult('jinan')), expect: { decision: 'approved', amount: 0, details: { sameStationExit: true }, writes: { 'metro:open': null } } },
  { name: 'same-station exit after 10 minutes pays the minimum fare', ...exitAt('jinan', 'jn-xizhan', 'jn-xizhan', IN_AT, `${WEEKDAY}T08:10:01+08:00`, adult('jinan')), expect: { decision: 'approved', amount: 200, details: { distanceKm: 0 } } },
  { name: 'a quick exit at another station pays its fare', ...exitAt('jinan', 'jn-fangte', 'jn-xizhan', IN_AT, `${WEEKDAY}T08:05:00+08:00`, adult('jinan')), expect: { decision: 'approved', amount: 200 } },
  { name: 'a Zhengzhou senior\'s quick same-station exit uses no allowance', ...exitAt('zhengzhou', 'zz-erqi', 'zz-erqi', `${WEEKDAY}T10:00:00+08:00`, `${WEEKDAY}T10:03:00+08:00`, senior('zhengzhou'), { level: 'free', policyId: 'zhengzhou-senior', usesAllowance: true, unfinishedFareFen: 0 }), expect: { decision: 'approved', amount: 0, writes: { 'transit:freeRides': undefined } } },
  // Qingdao passes (metro.json qingdao.passes; prices unconfirmed): bought at the entry gate.
  { name: 'Qingdao: buying a one-day pass at the gate', card: adult('qingdao'), tap: { city: 'qingdao', station: 'qd-qingdaozhan', direction: 'in', at: IN_AT, pass: 'qd-1day' }, expect: { decision: 'approved', amount: 2000, details: { pass: 'qd-1day', passBoughtFen: 2000 }, writes: { 'metro:pass': { pass: 'qd-1day', city: 'qingdao', validUntilMs: epochOf(IN_AT) + 24 * 3_600_000 }, 'metro:open': { pass: 'qd-1day', unfinishedFareFen: 0 } } } },
  { name: 'Qingdao: asking for a pass while one is valid buys nothing', card: adult('qingdao'), tap: { city: 'qingdao', station: 'qd-qingdaozhan', direction: 'in', at: IN_AT, pass: 'qd-3day' }, state: { 'metro:pass': { pass: 'qd-1day', city: 'qingdao', validUntilMs: epochOf(IN_AT) + 3_600_000 } }, expect: { decision: 'approved', amount: 0, details: { pass: 'qd-1day', passBoughtFen: 0 } } },
  { name: 'Qingdao: a valid pass makes the journey free at the exit', ...exitAt('qingdao', 'qd-qingdaozhan', 'qd-wusilu', IN_AT, OUT_AT, adult('qingdao'), { pass: 'qd-1day', unfinishedFareFen: 0 }), expect: { decision: 'approved', amount: 0, details: { pass: 'qd-1day' }, writes: { 'metro:spent': undefined } } },
  { name: 'Qingdao: a valid pass, entry without asking: still covered', card: adult('qingdao'), tap: { city: 'qingdao', station: 'qd-wusilu', direction: 'in', at: OUT_AT }, state: { 'metro:pass': { pass: 'qd-3day', city: 'qingdao', validUntilMs: epochOf(OUT_AT) + 1 } }, expect: { decision: 'approved', amount: 0, writes: { 'metro:open': { pass: 'qd-3day' } } } },
  { name: 'Qingdao: an expired pass covers nothing', card: adult('qingdao'), tap: { city: 'qingdao', station: 'qd-wusilu', direction: 'in', at: OUT_AT }, state: { 'metro:pass': { pass: 'qd-1day', city: 'qingdao', validUntilMs: epochOf(OUT_AT) } }, expect: { decision: 'approved', amount: 0, writes: { 'metro:open': { pass: undefined, unfinishedFareFen: 800 } } } },
  { name: 'a Qingdao pass does nothing in Jinan', card: adult('jinan'), tap: { city: 'jinan', station: 'jn-xizhan', direction: 'in', at: IN_AT }, state: { 'metro:pass': { pass: 'qd-1day', city: 'qingdao', validUntilMs: epochOf(IN_AT) + 3_600_000 } }, expect: { decision: 'approved', amount: 0, writes: { 'metro:open': { pass: undefined } } } },
  { name: 'Jinan sells no passes', card: adult('jinan'), tap: { city: 'jinan', station: 'jn-xizhan', direction: 'in', at: IN_AT, pass: 'qd-1day' }, expect: { decision: 'declined', reason: 'PASS_UNKNOWN' } },
  { name: 'a pass needs its price in the balance', card: card('qingdao', '1985-04-12', [], 1999), tap: { city: 'qingdao', station: 'qd-qingdaozhan', direction: 'in', at: IN_AT, pass: 'qd-1day' }, expect: { decision: 'declined', reason: 'BELOW_MINIMUM_BALANCE' } }
]
for (const c of passCases) expectDecision(c)

t.test('overtime: the unfinished fare, or the fare plus a published surcharge', async t => {
  const late = `${WEEKDAY}T12:00:01+08:00` // 4 h 0 min 1 s after IN_AT: over maxJourneyMinutes 240
  const unfinished = decideMetro(adult('jinan'), { city: 'jinan', station: 'jn-xizhan', direction: 'out', at: late }, opened('jinan', 'jn-fangte', IN_AT))
  t.match(unfinished, { decision: 'approved', payments: [{ amount: 900 }], details: { overtime: true, unfinished: true } }, 'no surcharge published: the maximum fare')
  const withSurcharge = { ...tariffs.jinan, overtimeSurchargeFen: 300 }
  const surcharged = decideMetro(adult('jinan'), { city: 'jinan', station: 'jn-xizhan', direction: 'out', at: late }, opened('jinan', 'jn-fangte', IN_AT), withSurcharge)
  t.match(surcharged, { decision: 'approved', payments: [{ amount: 500 }], details: { fareFen: 200, overtime: true, overtimeSurchargeFen: 300 } }, 'a surcharge: the 2.0 km fare plus 3 yuan')
})

t.test('context schema: a pass is bought on the way in only', async t => {
  const validate = new Ajv({ strict: false }).compile(metro.contextSchema)
  t.ok(validate({ direction: 'in', pass: 'qd-1day' }))
  t.notOk(validate({ direction: 'out', pass: 'qd-1day' }))
  t.notOk(validate({ direction: 'in', pass: 'QD 1' }))
})
