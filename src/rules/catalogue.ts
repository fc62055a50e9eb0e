// Runtime index over the fixtures: what the tap path and the admin API look up, built once at
// start so the hot path does map lookups, never scans or JSON parsing.
import { Ajv, type ValidateFunction } from 'ajv'
import type { CityFixture, Fixtures, ScenarioFixture, VenueFixture } from '../fixtures.js'
import { ruleModules } from './modules.js'
import type { CityCode, RuleModule } from './types.js'

export interface ScenarioEntry {
  fixture: ScenarioFixture
  module: RuleModule<unknown>
  validateContext: ValidateFunction
  /** tariff per city code */
  tariffs: Record<string, unknown>
  location: 'station' | 'venue' | null
}

export interface CityEntry {
  fixture: CityFixture
  stationIds: Set<string>
  lineIds: Set<string>
  venues: Map<string, VenueFixture>
}

export interface Catalogue {
  fixtures: Fixtures
  scenarios: Map<string, ScenarioEntry>
  cities: Map<CityCode, CityEntry>
  cityByIssuer: Map<string, CityCode>
}

// Spec-fixed registration needs of the five fixed scenarios (api-v1 POST /v1/admin/terminals).
const FIXED_LOCATION: Record<string, 'station' | 'venue'> = { metro: 'station', scenic: 'venue', library: 'venue' }

export function buildCatalogue (fixtures: Fixtures): Catalogue {
  const ajv = new Ajv({ allErrors: false, strict: false })
  const scenarios = new Map<string, ScenarioEntry>()
  for (const fixture of fixtures.scenarios) {
    const module = ruleModules[fixture.module]
    if (module === undefined) throw new Error(`scenario ${fixture.code}: no rule module ${fixture.module}`)
    scenarios.set(fixture.code, {
      fixture,
      module,
      validateContext: ajv.compile(module.contextSchema),
      tariffs: fixtures.tariffs[fixture.code] ?? {},
      location: FIXED_LOCATION[fixture.code] ?? fixture.location ?? null
    })
  }
  const cities = new Map<CityCode, CityEntry>()
  const cityByIssuer = new Map<string, CityCode>()
  for (const fixture of fixtures.cities) {
    const stationIds = new Set<string>()
    for (const line of fixture.metro.lines) for (const station of line.stations) stationIds.add(station.id)
    const venues = new Map((fixtures.venues[fixture.city] ?? []).map(v => [v.id, v]))
    cities.set(fixture.city, {
      fixture,
      stationIds,
      lineIds: new Set(fixture.metro.lines.map(l => l.id)),
      venues
    })
    cityByIssuer.set(fixture.issuer, fixture.city)
  }
  return { fixtures, scenarios, cities, cityByIssuer }
}
