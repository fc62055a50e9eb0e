// Loads the data the service runs on: cities and their metro networks, venues, the scenario
// catalogue, tariffs, policies, and demo data (issuer keys are not fixtures: src/cards/issuer-keys.ts). Tariffs and policies live in
// fixtures/ as data so they can be corrected without touching code.
//
// Every tariff and policy file (and cities.json, whose metro network the fares are computed on) is
// validated at start against its JSON Schema in schemas/fixtures/ (a tariff by its scenario's
// module), then by the cross-field checks a schema cannot express. A bad edit refuses to start with
// a FixtureError naming the file and the field, instead of a 500 at the first tap.
import { readFileSync, existsSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import { fareTableProblem, type FareTable } from './rules/fare-bands.js'
import { isKnownCategory } from './rules/holder.js'
import type { AccountKind, CityCode, Message, ScenarioFacts } from './rules/types.js'

export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures')
export const FIXTURE_SCHEMAS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas', 'fixtures')

/** The schema each module's tariff files follow (schemas/fixtures/<file>). */
export const TARIFF_SCHEMA_OF_MODULE: Readonly<Record<string, string>> = {
  bus: 'tariff-bus.json',
  metro: 'tariff-metro.json',
  scenic: 'tariff-entry.json',
  'venue-entry': 'tariff-entry.json',
  library: 'tariff-library.json',
  pharmacy: 'tariff-pharmacy.json',
  'identity-check': 'tariff-identity-check.json',
  'terminal-payment': 'tariff-terminal-payment.json',
  'hospital-settlement': 'tariff-hospital-settlement.json',
  'cardholder-offer': 'tariff-cardholder-offer.json'
}

/** A fixture file that cannot be used: `file` relative to the fixtures directory, `field` a JSON pointer. */
export class FixtureError extends Error {
  constructor (readonly file: string, readonly field: string, readonly problem: string) {
    super(`fixtures/${file}: ${field === '' ? '(the file)' : field} ${problem}`)
    this.name = 'FixtureError'
  }
}

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
  const text = readFileSync(join(dir, file), 'utf8')
  try {
    return JSON.parse(text) as T
  } catch (error) {
    throw new FixtureError(file, '', `is not valid JSON: ${(error as Error).message}`)
  }
}

function schemaError (file: string, errors: ErrorObject[] | null | undefined): FixtureError {
  const first = errors?.[0]
  if (first === undefined) return new FixtureError(file, '', 'does not match its schema')
  const allowed = first.keyword === 'enum' ? ` (${JSON.stringify((first.params as { allowedValues?: unknown }).allowedValues)})` : ''
  const extra = first.keyword === 'additionalProperties' ? ` (${String((first.params as { additionalProperty?: unknown }).additionalProperty)})` : ''
  // A bad key (propertyNames): name the key itself, e.g. a tariff entry for a city that does not exist.
  if (first.propertyName !== undefined) return new FixtureError(file, `${first.instancePath}/${first.propertyName}`, `is not an allowed key here (${first.message ?? 'invalid name'})`)
  return new FixtureError(file, first.instancePath === '' ? '/' : first.instancePath, `${first.message ?? 'is invalid'}${allowed}${extra}`)
}

class SchemaSet {
  private readonly ajv = new Ajv({ allErrors: false, strict: false })
  private readonly compiled = new Map<string, ValidateFunction>()
  constructor (private readonly dir: string) {}

  check (schemaFile: string, file: string, data: unknown): void {
    let validate = this.compiled.get(schemaFile)
    if (validate === undefined) {
      validate = this.ajv.compile(JSON.parse(readFileSync(join(this.dir, schemaFile), 'utf8')) as Record<string, unknown>)
      this.compiled.set(schemaFile, validate)
    }
    if (!validate(data)) throw schemaError(file, validate.errors)
  }
}

export function loadFixtures (dir: string = FIXTURES_DIR, schemasDir: string = FIXTURE_SCHEMAS_DIR): Fixtures {
  const schemas = new SchemaSet(schemasDir)
  const catalogue = readJson<{ domains: DomainFixture[], scenarios: ScenarioFixture[] }>(dir, 'scenarios.json')
  const citiesFile = readJson<{ cities: CityFixture[] }>(dir, 'cities.json')
  schemas.check('cities.json', 'cities.json', citiesFile)
  const cityCodes = citiesFile.cities.map(city => city.city)
  const venues = readJson<{ venues: Record<string, VenueFixture[]> }>(dir, 'venues.json').venues
  const tariffs: Record<string, Record<string, unknown>> = {}
  for (const scenario of catalogue.scenarios) {
    const file = join('tariffs', `${scenario.code}.json`)
    if (!existsSync(join(dir, file))) {
      tariffs[scenario.code] = {}
      continue
    }
    const tariff = readJson<Record<string, unknown>>(dir, file)
    const schemaFile = TARIFF_SCHEMA_OF_MODULE[scenario.module]
    if (schemaFile === undefined) throw new FixtureError('scenarios.json', `/${scenario.code}/module`, `names module ${scenario.module}, which has no tariff schema`)
    schemas.check(schemaFile, file, tariff)
    checkTariff(file, scenario, tariff, { cityCodes, venues })
    tariffs[scenario.code] = tariff
  }
  const policiesFile = 'policies.json'
  const policies = existsSync(join(dir, policiesFile)) ? readJson<unknown>(dir, policiesFile) : undefined
  if (policies !== undefined) schemas.check('policies.json', policiesFile, policies)
  const demo = readJson<DemoFixture>(dir, 'demo.json')
  checkDemoCategories(demo, cityCodes)
  return {
    domains: catalogue.domains,
    scenarios: catalogue.scenarios,
    cities: citiesFile.cities,
    venues,
    tariffs,
    policies: policies ?? {},
    demo
  }
}

interface CheckContext { cityCodes: string[], venues: Record<string, VenueFixture[]> }

function cityEntries (tariff: Record<string, unknown>): Array<[string, Record<string, any>]> {
  return Object.entries(tariff).filter(([key]) => !key.startsWith('_')) as Array<[string, Record<string, any>]>
}

/** What the schemas cannot say: known cities and venues, tables that must ascend, defaults that must exist. */
function checkTariff (file: string, scenario: ScenarioFixture, tariff: Record<string, unknown>, context: CheckContext): void {
  for (const [city, entry] of cityEntries(tariff)) {
    if (!context.cityCodes.includes(city)) throw new FixtureError(file, `/${city}`, 'is not a city of cities.json')
    const venueIds = new Set((context.venues[city] ?? []).filter(v => v.scenario === scenario.code).map(v => v.id))
    if (scenario.module === 'metro') {
      const problem = fareTableProblem(entry.fare as FareTable)
      if (problem !== null) throw new FixtureError(file, `/${city}/fare`, problem)
    }
    if (scenario.module === 'library') checkLibrary(file, city, entry, venueIds)
    if (scenario.module === 'scenic' || scenario.module === 'venue-entry') checkEntry(file, city, entry, venueIds)
    if (scenario.module === 'identity-check') {
      const eligibility = entry.eligibility as { categoriesAny?: string[], categoriesNone?: string[] } | undefined
      for (const category of [...(eligibility?.categoriesAny ?? []), ...(eligibility?.categoriesNone ?? [])]) {
        if (!isKnownCategory(category, context.cityCodes)) throw new FixtureError(file, `/${city}/eligibility`, `names category ${category}, not in src/rules/holder.ts`)
      }
    }
  }
}

function checkLibrary (file: string, city: string, entry: Record<string, any>, venueIds: Set<string>): void {
  for (const [systemId, system] of Object.entries(entry.systems as Record<string, any>)) {
    const at = `/${city}/systems/${systemId}`
    const cardTypes = system.cardTypes as Array<{ ageMax?: number }>
    if (cardTypes[cardTypes.length - 1]?.ageMax !== undefined) throw new FixtureError(file, `${at}/cardTypes`, 'must end with a card type without ageMax (every holder needs one)')
    if (!Object.hasOwn(system.kinds, system.defaultKind)) throw new FixtureError(file, `${at}/defaultKind`, `${String(system.defaultKind)} is not one of kinds`)
    for (const venue of system.venues as string[]) {
      if (!venueIds.has(venue)) throw new FixtureError(file, `${at}/venues`, `${venue} is not a library venue of ${city} in venues.json`)
    }
  }
}

function checkEntry (file: string, city: string, entry: Record<string, any>, venueIds: Set<string>): void {
  for (const [venueId, venue] of Object.entries(entry.venues as Record<string, any>)) {
    if (!venueIds.has(venueId)) throw new FixtureError(file, `/${city}/venues/${venueId}`, `is not a venue of ${city} for this scenario in venues.json`)
    if (!Object.hasOwn(venue.tickets, venue.defaultTicket)) throw new FixtureError(file, `/${city}/venues/${venueId}/defaultTicket`, `${String(venue.defaultTicket)} is not one of tickets`)
  }
}

function checkDemoCategories (demo: DemoFixture, cityCodes: string[]): void {
  demo.cards.forEach((card, index) => {
    for (const category of card.holder.categories ?? []) {
      if (!isKnownCategory(category, cityCodes)) throw new FixtureError('demo.json', `/cards/${index}/holder/categories`, `${category} is not in src/rules/holder.ts`)
    }
  })
}
