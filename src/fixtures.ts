// Loads the data the service runs on: cities and their metro networks, venues, the scenario
// catalogue, tariffs, policies and demo data (issuer keys are not fixtures: src/cards/issuer-keys.ts).
// Tariffs and policies live in fixtures/ as data so they can be corrected without touching code.
import { readFileSync, existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AccountKind, CityCode, Message, ScenarioFacts } from './rules/types.js'

export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures')

export interface StationFixture { id: string, name: Message, km?: number }
export interface LineFixture { id: string, name: Message, stations: StationFixture[] }
export interface CityFixture {
  city: CityCode
  issuer: string
  province: string
  utcOffsetMinutes: number
  name: Message
  metro: { lines: LineFixture[] }
}
export interface VenueFixture { id: string, scenario: string, name: Message, operator?: string, [extra: string]: unknown }
export interface DomainFixture { code: string, name: Message }
export interface ScenarioFixture extends ScenarioFacts {
  name: Message
  /** Which registration field a terminal of this scenario needs. */
  location?: 'station' | 'venue' | null
  [extra: string]: unknown
}
export interface DemoCardFixture {
  cardNo: string
  issuer: string
  label?: string
  holder: { birthDate?: string, categories?: string[] }
  expiresOn?: string
  status?: 'active' | 'lost' | 'frozen'
  accounts?: Partial<Record<AccountKind, number>>
}
export interface DemoFixture { cards: DemoCardFixture[] }

export interface Fixtures {
  domains: DomainFixture[]
  scenarios: ScenarioFixture[]
  cities: CityFixture[]
  venues: Record<string, VenueFixture[]>
  /** tariffs[scenario][city] */
  tariffs: Record<string, Record<string, unknown>>
  policies: unknown
  demo: DemoFixture
}

function readJson<T> (dir: string, file: string): T {
  return JSON.parse(readFileSync(join(dir, file), 'utf8')) as T
}

export function loadFixtures (dir: string = FIXTURES_DIR): Fixtures {
  const catalogue = readJson<{ domains: DomainFixture[], scenarios: ScenarioFixture[] }>(dir, 'scenarios.json')
  const tariffs: Record<string, Record<string, unknown>> = {}
  for (const scenario of catalogue.scenarios) {
    const file = join('tariffs', `${scenario.code}.json`)
    tariffs[scenario.code] = existsSync(join(dir, file)) ? readJson(dir, file) : {}
  }
  return {
    domains: catalogue.domains,
    scenarios: catalogue.scenarios,
    cities: readJson<{ cities: CityFixture[] }>(dir, 'cities.json').cities,
    venues: readJson<{ venues: Record<string, VenueFixture[]> }>(dir, 'venues.json').venues,
    tariffs,
    policies: existsSync(join(dir, 'policies.json')) ? readJson(dir, 'policies.json') : {},
    demo: readJson<DemoFixture>(dir, 'demo.json')
  }
}
