// The bench's cards and terminals: a deterministic function of the fixtures and two sizes, so the
// orchestrator (which provisions them into a ledger file) and each load-generator process (which
// signs requests with their secrets) derive the same fleet without passing secrets around.
//
// Sizes are chosen from the per-terminal rate limit (50/s, burst 100): at 10,000 taps/s every
// terminal stays under ~15 taps/s, so the limiter is in the measured path but never refuses.
import { FIXTURES_DIR, loadFixtures, type CityFixture, type Fixtures } from '../../src/fixtures.js'
import type { CityCode } from '../../src/rules/types.js'

export interface FleetSizes {
  /** Cards, spread evenly over the three issuers. */
  cards: number
  /** Bus validators per city. */
  busPerCity: number
  /** Pharmacy, bank-payment and highway terminals per city. */
  shopsPerCity: number
}

export const FLEET_FULL: FleetSizes = { cards: 30_000, busPerCity: 200, shopsPerCity: 40 }
export const FLEET_QUICK: FleetSizes = { cards: 3_000, busPerCity: 40, shopsPerCity: 8 }

export interface BenchCard {
  cardNo: string
  issuer: string
  birthDate: string
  categories: string[]
}

export interface BenchTerminal {
  terminalId: string
  city: CityCode
  scenario: string
  operator: string
  location: { station?: string, line?: string, venue?: string }
  secret: string
}

export interface CityFleet {
  city: CityCode
  bus: BenchTerminal[]
  /** Metro gates by station: two per station, every station of the network. */
  metroGates: BenchTerminal[][]
  scenic: BenchTerminal[]
  /** Ticket ids per scenic gate's venue, for the tap's context (Laoshan has several routes). */
  scenicTickets: Map<string, string[]>
  library: BenchTerminal[]
  pharmacy: BenchTerminal[]
  bankPayment: BenchTerminal[]
  highway: BenchTerminal[]
  utilities: BenchTerminal[]
  /** Pharmacy catalogue codes of this city, with the class the terminal sends. */
  pharmacyItems: Array<{ code: string, class: 'A' | 'B' | 'self' }>
}

export interface Fleet {
  sizes: FleetSizes
  cards: BenchCard[]
  cities: CityFleet[]
  terminals: BenchTerminal[]
  byId: Map<string, BenchTerminal>
}

export const BENCH_BANK_OPENING_FEN = 10_000_000
export const BENCH_MEDICAL_OPENING_FEN = 2_000_000

export function benchSecret (terminalId: string): string {
  return `bench-secret-${terminalId}`
}

const ISSUER_PREFIX: Record<string, string> = { '370100': 'JB', '370200': 'QB', '410100': 'ZB' }

/** 85 % adults, 10 % seniors (free or half fares in some cities), 5 % students. */
function holderOf (i: number): { birthDate: string, categories: string[] } {
  const r = i % 20
  if (r < 2) return { birthDate: `195${i % 10}-0${1 + (i % 9)}-1${i % 10}`, categories: [] }
  if (r === 2) return { birthDate: '2006-09-01', categories: ['student'] }
  return { birthDate: `19${70 + (i % 30)}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`, categories: [] }
}

function terminal (id: string, city: CityCode, scenario: string, operator: string, location: BenchTerminal['location'] = {}): BenchTerminal {
  return { terminalId: id, city, scenario, operator, location, secret: benchSecret(id) }
}

function cityFleet (fixtures: Fixtures, c: CityFixture, sizes: FleetSizes): CityFleet {
  const city = c.city
  const busTariff = (fixtures.tariffs.bus?.[city] ?? {}) as { routes?: Record<string, string> }
  // Mostly ordinary routes, some of the tariff's air-conditioned / BRT routes.
  const routes = ['1', '2', '3', ...Object.keys(busTariff.routes ?? {})]
  const bus = Array.from({ length: sizes.busPerCity }, (_v, i) =>
    terminal(`bench-${city}-bus-${String(i).padStart(4, '0')}`, city, 'bus', `${city}-bus`, { line: routes[i % routes.length] }))
  const metroGates: BenchTerminal[][] = []
  const stationsSeen = new Set<string>()
  for (const line of c.metro.lines) {
    for (const station of line.stations) {
      // An interchange station is listed on each of its lines: one pair of gates for it.
      if (stationsSeen.has(station.id)) continue
      stationsSeen.add(station.id)
      metroGates.push([0, 1].map(g => terminal(`bench-${city}-metro-${station.id}-${g}`, city, 'metro', `${city}-metro`, { station: station.id, line: line.id })))
    }
  }
  const venues = fixtures.venues[city] ?? []
  const scenicTariff = (fixtures.tariffs.scenic?.[city] ?? { venues: {} }) as { venues: Record<string, { tickets: Record<string, unknown> }> }
  const scenicTickets = new Map<string, string[]>()
  const scenic: BenchTerminal[] = []
  const library: BenchTerminal[] = []
  for (const v of venues) {
    if (v.scenario === 'scenic' && scenicTariff.venues[v.id] !== undefined) {
      scenicTickets.set(v.id, Object.keys(scenicTariff.venues[v.id]!.tickets))
      for (let g = 0; g < 4; g++) scenic.push(terminal(`bench-${v.id}-gate-${g}`, city, 'scenic', v.operator ?? v.id, { venue: v.id }))
    }
    if (v.scenario === 'library') {
      for (let g = 0; g < 4; g++) library.push(terminal(`bench-${v.id}-desk-${g}`, city, 'library', v.operator ?? v.id, { venue: v.id }))
    }
  }
  const shops = (scenario: string, kind: string, count: number): BenchTerminal[] => Array.from({ length: count }, (_v, i) =>
    terminal(`bench-${city}-${kind}-${String(i).padStart(3, '0')}`, city, scenario, `${city}-${kind}-${i % 5}`))
  const utilities = ['utility-water', 'utility-electricity', 'utility-gas'].flatMap(s => shops(s, s, Math.max(2, sizes.shopsPerCity / 4)))
  const pharmacyTariff = (fixtures.tariffs.pharmacy?.[city] ?? { catalogue: {} }) as { catalogue: Record<string, 'A' | 'B' | 'self'> }
  return {
    city,
    bus,
    metroGates,
    scenic,
    scenicTickets,
    library,
    pharmacy: shops('pharmacy', 'pharmacy', sizes.shopsPerCity),
    bankPayment: shops('bank-payment', 'pos', sizes.shopsPerCity),
    highway: shops('highway-etc', 'etc', Math.max(2, sizes.shopsPerCity / 2)),
    utilities,
    pharmacyItems: Object.entries(pharmacyTariff.catalogue).map(([code, cls]) => ({ code, class: cls }))
  }
}

export function buildFleet (sizes: FleetSizes, fixtures: Fixtures = loadFixtures(FIXTURES_DIR)): Fleet {
  const issuers = fixtures.cities.map(c => c.issuer)
  const cards: BenchCard[] = Array.from({ length: sizes.cards }, (_v, i) => {
    const issuer = issuers[i % issuers.length]!
    return { cardNo: `${ISSUER_PREFIX[issuer] ?? 'XB'}${String(i).padStart(7, '0')}`, issuer, ...holderOf(i) }
  })
  const cities = fixtures.cities.map(c => cityFleet(fixtures, c, sizes))
  const terminals = cities.flatMap(c => [...c.bus, ...c.metroGates.flat(), ...c.scenic, ...c.library, ...c.pharmacy, ...c.bankPayment, ...c.highway, ...c.utilities])
  return { sizes, cards, cities, terminals, byId: new Map(terminals.map(t => [t.terminalId, t])) }
}
