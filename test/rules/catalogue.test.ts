// The 一卡通 catalogue (fixtures/scenarios.json) and the city fixtures it relies on.
import t from 'tap'
import { readFileSync, existsSync } from 'node:fs'
import { bus } from '../../src/rules/bus.js'
import { metro } from '../../src/rules/metro.js'
import { ruleModules } from '../../src/rules/modules.js'

const fixturePath = (file: string): URL => new URL(`../../fixtures/${file}`, import.meta.url)
const fixture = (file: string): any => JSON.parse(readFileSync(fixturePath(file), 'utf8'))

interface Scenario {
  code: string
  domain: string
  name: { zh: string, en: string }
  module: string
  pricedAtTerminal: boolean
  accounts: string[]
  needs: string[]
  location: 'station' | 'venue' | null
  description: { zh: string, en: string }
}

const catalogue = fixture('scenarios.json') as { domains: Array<{ code: string, name: { zh: string, en: string } }>, scenarios: Scenario[] }
const cities = fixture('cities.json').cities as Array<{ city: string, issuer: string, province: string, utcOffsetMinutes: number, metro: { lines: unknown[] } }>

const MODULES = ['bus', 'metro', 'scenic', 'library', 'pharmacy', 'identity-check', 'venue-entry', 'terminal-payment', 'hospital-settlement', 'cardholder-offer']

t.test('six domains, twenty-six scenarios', async t => {
  t.same(catalogue.domains.map(d => d.code), ['hr', 'medical', 'transport', 'culture', 'government', 'finance'])
  for (const d of catalogue.domains) t.ok(d.name.zh.length > 0 && d.name.en.length > 0, `${d.code} named`)
  t.equal(catalogue.scenarios.length, 26)
  const codes = catalogue.scenarios.map(s => s.code)
  t.equal(new Set(codes).size, 26, 'codes unique')
  for (const fixed of ['bus', 'metro', 'scenic', 'library', 'pharmacy']) t.ok(codes.includes(fixed), `fixed code ${fixed}`)
  for (const d of catalogue.domains) t.ok(catalogue.scenarios.some(s => s.domain === d.code), `${d.code} has scenarios`)
})

t.test('every scenario is complete and consistent', async t => {
  const domainCodes = new Set(catalogue.domains.map(d => d.code))
  for (const s of catalogue.scenarios) {
    t.match(s.code, /^[a-z][a-z0-9-]*$/, `${s.code} code format`)
    t.ok(domainCodes.has(s.domain), `${s.code} domain known`)
    t.ok(MODULES.includes(s.module), `${s.code} module ${s.module} is one of the ten`)
    t.ok(s.name.zh.length > 0 && s.name.en.length > 0, `${s.code} named`)
    t.ok(s.description.zh.length > 0 && s.description.en.length > 0, `${s.code} described`)
    t.type(s.pricedAtTerminal, 'boolean', `${s.code} pricedAtTerminal`)
    t.ok(s.accounts.every(a => a === 'bank' || a === 'medical'), `${s.code} accounts`)
    t.ok([null, 'station', 'venue'].includes(s.location), `${s.code} location`)
    t.ok(Array.isArray(s.needs), `${s.code} needs`)
    t.equal(s.needs.includes('amount'), s.pricedAtTerminal, `${s.code}: needs amount exactly when priced at the terminal`)
    if (s.module === 'identity-check') t.same(s.accounts, [], `${s.code}: identity checks charge nothing`)
    if (s.location !== null) t.ok(s.needs.includes(`location.${s.location}`), `${s.code}: location listed in needs`)
    if (!s.pricedAtTerminal && s.accounts.length > 0) t.ok(existsSync(fixturePath(`tariffs/${s.code}.json`)), `${s.code}: tariff-priced, has a tariff file`)
  }
})

t.test('spec-fixed registration needs', async t => {
  const byCode = new Map(catalogue.scenarios.map(s => [s.code, s]))
  t.equal(byCode.get('metro')?.location, 'station')
  t.equal(byCode.get('scenic')?.location, 'venue')
  t.equal(byCode.get('library')?.location, 'venue')
  t.same(byCode.get('metro')?.needs, ['context.direction', 'location.station'])
  t.same(byCode.get('pharmacy')?.accounts.slice().sort(), ['bank', 'medical'])
})

t.test('the transit modules are registered under their codes', async t => {
  t.equal(ruleModules.bus, bus)
  t.equal(ruleModules.metro, metro)
  for (const module of [bus, metro]) {
    for (const [code, message] of Object.entries(module.reasons)) {
      t.match(code, /^[A-Z_]+$/, `${module.code}: ${code}`)
      t.ok(message.zh.length > 0 && message.en.length > 0, `${module.code}: ${code} has zh and en messages`)
    }
  }
})

t.test('cities: three issuers, each with a metro network and transit tariffs', async t => {
  t.same(cities.map(c => [c.city, c.issuer]), [['jinan', '370100'], ['qingdao', '370200'], ['zhengzhou', '410100']])
  const busTariffs = fixture('tariffs/bus.json')
  const metroTariffs = fixture('tariffs/metro.json')
  for (const city of cities) {
    t.ok(city.metro.lines.length > 0, `${city.city} has metro lines`)
    t.equal(city.utcOffsetMinutes, 480, `${city.city} China time`)
    t.ok(busTariffs[city.city] !== undefined && metroTariffs[city.city] !== undefined, `${city.city} has bus and metro tariffs`)
  }
  t.same(cities.map(c => c.province), ['shandong', 'shandong', 'henan'])
})
