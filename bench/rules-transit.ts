// Micro-benchmark of `decide` for the bus and metro modules on the real fixtures, plus the cold
// path under a metro exit (building a network, one Dijkstra run): ns per call after a warm-up,
// printed and written to bench/results/rules-transit.json.
// Run: node --import tsx bench/rules-transit.ts   (BENCH_N=… to change the number of calls)
import { readFileSync } from 'node:fs'
import { reportRuleBench } from './lib/rules-report.js'
import { bus } from '../src/rules/bus.js'
import { localTime } from '../src/rules/local-time.js'
import { metro, type OpenJourney } from '../src/rules/metro.js'
import { buildMetroNetwork, dijkstra, metroNetworkOf } from '../src/rules/metro-network.js'
import type { CardFacts, CityCode, RuleInput, RuleModule } from '../src/rules/types.js'

const N = Number(process.env.BENCH_N ?? 200_000)
const WARM_UP = Math.max(10_000, Math.floor(N / 10))

const fixture = (file: string): any => JSON.parse(readFileSync(new URL(`../fixtures/${file}`, import.meta.url), 'utf8'))
const cities = fixture('cities.json').cities as Array<{ city: CityCode }>
const policies = fixture('policies.json')
const tariffs: Record<string, Record<CityCode, unknown>> = { bus: fixture('tariffs/bus.json'), metro: fixture('tariffs/metro.json') }
const cityOf = (code: CityCode): any => cities.find(c => c.city === code)

const ISSUER: Record<CityCode, string> = { jinan: '370100', qingdao: '370200', zhengzhou: '410100' }
const holder = (issuerCity: CityCode, birthDate: string): CardFacts =>
  ({ cardNo: 'BENCH0001', issuer: ISSUER[issuerCity], issuerCity, birthDate, categories: [`resident:${issuerCity}`], balances: { bank: 50_000, medical: 0 } })
const adult = (c: CityCode): CardFacts => holder(c, '1985-04-12')
const at = (iso: string): number => Date.parse(iso)

interface Tap { scenario: 'bus' | 'metro', city: CityCode, at: string, station?: string, direction?: 'in' | 'out', route?: string }

function input (card: CardFacts, tap: Tap, state: Record<string, unknown>): RuleInput<any> {
  return {
    tap: { tapId: 'bench', at: localTime(at(tap.at), 480), amount: null, context: tap.direction === undefined ? {} : { direction: tap.direction }, cardType: 'physical' },
    card,
    terminal: {
      terminalId: 'bench-1', city: tap.city, scenario: tap.scenario, operator: 'bench',
      location: tap.station !== undefined ? { station: tap.station } : tap.route !== undefined ? { line: tap.route } : {}
    },
    scenario: { code: tap.scenario, domain: 'transport', module: tap.scenario, pricedAtTerminal: false, accounts: ['bank'] },
    tariff: tariffs[tap.scenario]?.[tap.city],
    policies,
    city: cityOf(tap.city),
    state: { get: key => state[key] }
  }
}

function opened (city: CityCode, station: string, iso: string, extra: Partial<OpenJourney> = {}): Record<string, unknown> {
  return {
    'metro:open': {
      city, station, atMs: at(iso), tapId: 'in', level: 'full', policyId: null, usesAllowance: false, transfer: false, unfinishedFareFen: 900, ...extra
    }
  }
}

const WEEKDAY = '2026-07-01'
const cases: Array<{ name: string, module: RuleModule<any>, input: RuleInput<any>, expect: 'approved' | 'declined' }> = [
  { name: 'bus: Jinan adult, ordinary', module: bus, expect: 'approved', input: input(adult('jinan'), { scenario: 'bus', city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00` }, {}) },
  { name: 'bus: Zhengzhou senior off-peak, allowance', module: bus, expect: 'approved', input: input(holder('zhengzhou', '1950-03-01'), { scenario: 'bus', city: 'zhengzhou', at: `${WEEKDAY}T10:00:00+08:00` }, { 'transit:freeRides': { '2026-07': 12 } }) },
  { name: 'bus: Qingdao transfer, air-conditioned', module: bus, expect: 'approved', input: input(adult('qingdao'), { scenario: 'bus', city: 'qingdao', at: `${WEEKDAY}T08:30:00+08:00`, route: '501' }, { 'transit:lastLeg': { city: 'qingdao', mode: 'metro', atMs: at(`${WEEKDAY}T08:10:00+08:00`), transferred: false } }) },
  { name: 'bus: duplicate tap declined', module: bus, expect: 'declined', input: input(adult('jinan'), { scenario: 'bus', city: 'jinan', at: `${WEEKDAY}T08:00:30+08:00` }, { 'bus:last': { terminalId: 'bench-1', atMs: at(`${WEEKDAY}T08:00:00+08:00`) } }) },
  { name: 'metro in: Jinan adult', module: metro, expect: 'approved', input: input(adult('jinan'), { scenario: 'metro', city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00`, station: 'jn-fangte', direction: 'in' }, {}) },
  { name: 'metro in: entry while open (max fare)', module: metro, expect: 'approved', input: input(adult('jinan'), { scenario: 'metro', city: 'jinan', at: `${WEEKDAY}T18:00:00+08:00`, station: 'jn-xizhan', direction: 'in' }, opened('jinan', 'jn-fangte', `${WEEKDAY}T08:00:00+08:00`)) },
  { name: 'metro out: Jinan 3 lines, 54.3 km', module: metro, expect: 'approved', input: input(adult('jinan'), { scenario: 'metro', city: 'jinan', at: `${WEEKDAY}T09:00:00+08:00`, station: 'jn-tantou', direction: 'out' }, opened('jinan', 'jn-gongyanyuan', `${WEEKDAY}T08:00:00+08:00`)) },
  { name: 'metro out: Qingdao tier + transfer', module: metro, expect: 'approved', input: input(adult('qingdao'), { scenario: 'metro', city: 'qingdao', at: `${WEEKDAY}T08:40:00+08:00`, station: 'qd-licun', direction: 'out' }, { ...opened('qingdao', 'qd-qingdaozhan', `${WEEKDAY}T08:00:00+08:00`, { transfer: true }), 'metro:spent': { '2026-07': 15_000 } }) },
  { name: 'metro out: no entry declined', module: metro, expect: 'declined', input: input(adult('jinan'), { scenario: 'metro', city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00`, station: 'jn-xizhan', direction: 'out' }, {}) }
]

interface Result { name: string, calls: number, nsPerOp: number, opsPerSec: number }

function timed (calls: number, body: () => boolean): { ns: number, hits: number } {
  let hits = 0
  const started = process.hrtime.bigint()
  // Counting hits keeps each result alive, so the call cannot be optimised away.
  for (let i = 0; i < calls; i++) if (body()) hits++
  return { ns: Number(process.hrtime.bigint() - started), hits }
}

function bench (name: string, calls: number, body: () => boolean): Result {
  timed(Math.min(WARM_UP, calls), body)
  const { ns, hits } = timed(calls, body)
  if (hits !== calls) throw new Error(`${name}: expected every call to hit, got ${hits}/${calls}`)
  const nsPerOp = ns / calls
  return { name, calls, nsPerOp: Math.round(nsPerOp), opsPerSec: Math.round(1e9 / nsPerOp) }
}

function run (): Result[] {
  const results = cases.map(c => bench(c.name, N, () => c.module.decide(c.input).decision === c.expect))
  // The cold path a first exit from a station pays once per process: the per-city network is
  // cached by fixture identity and distances are memoised per origin station.
  const qingdao = cityOf('qingdao')
  const network = metroNetworkOf(qingdao)
  const origin = network.stationIndex.get('qd-qingdaozhan') as number
  const coldCalls = Math.max(1_000, Math.floor(N / 20))
  results.push(bench(`cold: Dijkstra from one origin (Qingdao, ${network.stationIds.length} stations)`, coldCalls, () => dijkstra(network, origin).length > 0))
  results.push(bench('cold: build the Qingdao network graph', coldCalls, () => buildMetroNetwork(qingdao).stationIds.length > 0))
  return results
}

reportRuleBench('rules-transit', run(), N, WARM_UP)
