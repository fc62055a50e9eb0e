// SEED=demo: the demo operators' terminals and the demo cards, loaded into an empty ledger.
// Demo terminals are derived from the catalogue, one per scenario per city (three metro gates), so a
// new scenario gets a demo terminal without editing data. Their secrets are `demo-secret-<id>`.
import { DomainError, ErrorCode } from '../errors.js'
import type { Fixtures } from '../fixtures.js'
import type { Catalogue } from '../rules/catalogue.js'
import type { TerminalLocation } from '../rules/types.js'
import type { Service, TerminalInput } from '../service/service.js'

export function demoSecret (terminalId: string): string {
  return `demo-secret-${terminalId}`
}

export function demoTerminals (catalogue: Catalogue): TerminalInput[] {
  const terminals: TerminalInput[] = []
  for (const [city, cityEntry] of catalogue.cities) {
    for (const [code, scenario] of catalogue.scenarios) {
      const base = { city, scenario: code, operator: `${city}-${code}` }
      if (scenario.location === 'station') {
        // Gates at the first, fourth and last stations of line 1: a short and a long demo trip.
        const line = cityEntry.fixture.metro.lines[0]
        const stations = line === undefined ? [] : [0, 3, line.stations.length - 1].map(i => line.stations[Math.min(i, line.stations.length - 1)])
        stations.forEach((station, i) => {
          if (line !== undefined && station !== undefined) terminals.push({ ...base, terminalId: `${city}-${code}-0${i + 1}`, location: { station: station.id, line: line.id } })
        })
        continue
      }
      let location: TerminalLocation = {}
      let operator = base.operator
      const venue = [...cityEntry.venues.values()].find(v => v.scenario === code)
      if (venue !== undefined) {
        location = { venue: venue.id }
        operator = venue.operator ?? venue.id
      } else if (scenario.location === 'venue') continue
      terminals.push({ ...base, operator, terminalId: `${city}-${code}-01`, location })
    }
  }
  return terminals.map(t => ({ ...t, secret: demoSecret(t.terminalId) }))
}

/** Loads the demo data if the ledger is empty; returns what it loaded. */
export async function seedDemo (service: Service, fixtures: Fixtures): Promise<{ terminals: number, cards: number }> {
  const counts = await service.counts()
  if (counts.cards > 0 || counts.terminals > 0) return { terminals: 0, cards: 0 }
  const terminals = demoTerminals(service.catalogue)
  let terminalsLoaded = 0
  let cardsLoaded = 0
  // Several processes on one PostgreSQL ledger may start together: what another one loaded first
  // (409) is skipped, not fatal.
  for (const t of terminals) if (await unlessLoaded(service.registerTerminal(t))) terminalsLoaded++
  for (const card of fixtures.demo.cards) if (await unlessLoaded(service.createCard(card))) cardsLoaded++
  return { terminals: terminalsLoaded, cards: cardsLoaded }
}

async function unlessLoaded (creating: Promise<unknown>): Promise<boolean> {
  try {
    await creating
    return true
  } catch (error) {
    if (error instanceof DomainError && error.code === ErrorCode.CONFLICT) return false
    throw error
  }
}
