// Every tariff and policy file is validated when the service starts: a bad edit refuses to start,
// naming the file and the field (issue 12 finding 7), never a 500 at the first tap. Each case edits
// a copy of the real fixtures the way a careless hand would.
import t from 'tap'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FIXTURES_DIR, FixtureError, loadFixtures } from '../../src/fixtures.js'

type Edit = (data: any) => void

const cases: Array<{ name: string, file: string, edit: Edit | string, field: string, problem: RegExp }> = [
  { name: 'a fare in yuan with decimals', file: 'tariffs/metro.json', edit: d => { d.qingdao.fare.bands[0].fareFen = 2.5 }, field: '/qingdao/fare/bands/0/fareFen', problem: /integer/ },
  { name: 'fare bands out of order', file: 'tariffs/metro.json', edit: d => { d.jinan.fare.bands[1].upToKm = 4 }, field: '/jinan/fare', problem: /ascend/ },
  { name: 'a peak window that is not HH:MM (was parsed at the first tap)', file: 'policies.json', edit: d => { d.transit.peakWindows.zhengzhou[0].from = '7:00' }, field: '/transit/peakWindows/zhengzhou/0/from', problem: /pattern/ },
  { name: 'a concession with an unknown residency', file: 'policies.json', edit: d => { d.transit.concessions[0].residency = 'locals' }, field: '/transit/concessions/0/residency', problem: /allowed values/ },
  { name: 'a station without km (the network was built at the first tap)', file: 'cities.json', edit: d => { delete d.cities[0].metro.lines[0].stations[1].km }, field: '/cities/0/metro/lines/0/stations/1', problem: /km/ },
  { name: 'a misspelt field', file: 'tariffs/bank-payment.json', edit: d => { d.jinan.dailyAmountFenMaxx = 1 }, field: '/jinan', problem: /additional properties.*dailyAmountFenMaxx/ },
  { name: 'a city that does not exist', file: 'tariffs/bus.json', edit: d => { d.shanghai = d.jinan }, field: '/shanghai', problem: /not an allowed key/ },
  { name: 'a library whose card types leave some holders out', file: 'tariffs/library.json', edit: d => { d.qingdao.systems['qingdao-library'].cardTypes.pop() }, field: '/qingdao/systems/qingdao-library/cardTypes', problem: /without ageMax/ },
  { name: 'a library desk at an unknown venue', file: 'tariffs/library.json', edit: d => { d.jinan.systems['jinan-library'].venues.push('jn-nowhere') }, field: '/jinan/systems/jinan-library/venues', problem: /jn-nowhere/ },
  { name: 'fee blocking without its threshold', file: 'tariffs/library.json', edit: d => { delete d.qingdao.systems['qingdao-library'].overdue.blockFromFeeFen }, field: '/qingdao/systems/qingdao-library/overdue', problem: /blockFromFeeFen/ },
  { name: 'a scenic default ticket that is not sold', file: 'tariffs/scenic.json', edit: d => { d.jinan.venues['jn-baotu-spring'].defaultTicket = 'vip' }, field: '/jinan/venues/jn-baotu-spring/defaultTicket', problem: /vip/ },
  { name: 'a fund percent over 100', file: 'tariffs/inpatient-settlement.json', edit: d => { d.qingdao.insuredPolicies.jinan.employee.fundPercentByGrade['3'] = 120 }, field: '/qingdao/insuredPolicies/jinan/employee/fundPercentByGrade/3', problem: /<= 100/ },
  { name: 'an eligibility category outside the vocabulary', file: 'tariffs/benefit-certification.json', edit: d => { d.jinan.eligibility.categoriesAny = ['pensioner'] }, field: '/jinan/eligibility', problem: /pensioner/ },
  { name: 'a demo card with a category outside the vocabulary', file: 'demo.json', edit: d => { d.cards[0].holder.categories = ['resident:shanghai'] }, field: '/cards/0/holder/categories', problem: /resident:shanghai/ },
  { name: 'a cruise offer voyage that is not a date', file: 'tariffs/cruise-ticket.json', edit: d => { d.qingdao.offers[0].voyages = ['July 1'] }, field: '/qingdao/offers/0/voyages/0', problem: /pattern/ },
  { name: 'a file that is not JSON', file: 'tariffs/ferry.json', edit: '{"jinan": ', field: '', problem: /not valid JSON/ }
]

t.test('the real fixtures load', async t => {
  const fixtures = loadFixtures()
  t.equal(Object.keys(fixtures.tariffs).length, 26)
})

t.test('a bad edit refuses to start, naming file and field', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'yikatong-fixtures-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const c of cases) {
    cpSync(FIXTURES_DIR, dir, { recursive: true })
    const path = join(dir, c.file)
    if (typeof c.edit === 'string') {
      writeFileSync(path, c.edit)
    } else {
      const data = JSON.parse(readFileSync(path, 'utf8'))
      c.edit(data)
      writeFileSync(path, JSON.stringify(data))
    }
    try {
      loadFixtures(dir)
      t.fail(`${c.name}: loaded`)
    } catch (error) {
      t.ok(error instanceof FixtureError, `${c.name}: a FixtureError (${(error as Error).message})`)
      const fixtureError = error as FixtureError
      t.equal(fixtureError.file, c.file, `${c.name}: names the file`)
      t.equal(fixtureError.field, c.field === '' ? fixtureError.field : c.field, `${c.name}: names the field`)
      t.match(fixtureError.message, c.problem, `${c.name}: says what is wrong`)
      t.match(fixtureError.message, `fixtures/${c.file}`, `${c.name}: the message names the file`)
    }
  }
})
