// Concessions (fixtures/policies.json) judged at the tap's local time, and the calendar under them.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { isPeak, isPublicHoliday, isWorkingDay } from '../../src/rules/calendar.js'
import {
  applyFareLevel, freeRideWrite, holderAgeOn, transitConcession,
  type ConcessionCity, type FareLevel, type Policies, type TransitMode
} from '../../src/rules/concessions.js'
import { localTime } from '../../src/rules/local-time.js'
import type { CardFacts, CityCode, LocalTime } from '../../src/rules/types.js'

const fixture = (file: string): unknown => JSON.parse(readFileSync(new URL(`../../fixtures/${file}`, import.meta.url), 'utf8'))
const policies = fixture('policies.json') as Policies
const cities = (fixture('cities.json') as { cities: Array<ConcessionCity & { city: CityCode }> }).cities
const cityOf = (code: CityCode): ConcessionCity => cities.find(c => c.city === code) as ConcessionCity

const ISSUER: Record<CityCode, string> = { jinan: '370100', qingdao: '370200', zhengzhou: '410100' }
const at = (iso: string): LocalTime => localTime(Date.parse(iso), 480)

/** A holder living where the card was issued unless `residentOf` says otherwise (null: no local residence on record). */
function card (issuerCity: CityCode, birthDate: string | null, categories: string[] = [], residentOf: CityCode | null = issuerCity): CardFacts {
  const residence = residentOf === null ? [] : [`resident:${residentOf}`]
  return { cardNo: 'T00000001', issuer: ISSUER[issuerCity], issuerCity, birthDate, categories: [...categories, ...residence], balances: { bank: 10_000, medical: 0 } }
}

const senior = (issuerCity: CityCode): CardFacts => card(issuerCity, '1950-03-01')
const adult = (issuerCity: CityCode): CardFacts => card(issuerCity, '1985-04-12')
// 2026-07-01 is a Wednesday (a working day); 07-04 a Saturday; 10-01 a holiday; 09-20 a Sunday moved to work.
const WEEKDAY = '2026-07-01'

interface Case {
  name: string
  card: CardFacts
  city: CityCode
  mode?: TransitMode
  at: string
  state?: Record<string, unknown>
  expect: { level: FareLevel, policyId?: string | null, usesAllowance?: boolean, allowanceExhausted?: boolean }
}

const cases: Case[] = [
  // Shandong: 60+ free on bus and metro, any of the three cards.
  { name: 'Jinan senior in Jinan', card: senior('jinan'), city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'free', policyId: 'shandong-senior' } },
  { name: 'Qingdao senior in Qingdao', card: senior('qingdao'), city: 'qingdao', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'free', policyId: 'shandong-senior' } },
  { name: 'Jinan senior in Qingdao (same province)', card: senior('jinan'), city: 'qingdao', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'free' } },
  { name: 'Zhengzhou senior in Jinan (residency: any)', card: senior('zhengzhou'), city: 'jinan', mode: 'metro', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'free', policyId: 'shandong-senior' } },
  { name: 'turns 60 today', card: card('jinan', '1966-07-01'), city: 'jinan', at: `${WEEKDAY}T00:00:00+08:00`, expect: { level: 'free' } },
  { name: 'turns 60 tomorrow', card: card('jinan', '1966-07-02'), city: 'jinan', at: `${WEEKDAY}T23:59:59+08:00`, expect: { level: 'full', policyId: null } },
  { name: 'birthday judged in local time, not UTC', card: card('jinan', '1966-07-01'), city: 'jinan', at: '2026-06-30T16:30:00Z', expect: { level: 'free' } },
  { name: 'unknown birth date gets no age rule', card: card('jinan', null), city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'full' } },
  { name: 'adult pays', card: adult('qingdao'), city: 'qingdao', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'full' } },

  // Jinan: disabled (Jinan cards) and veterans (any card) free; not in Qingdao.
  { name: 'Jinan disabled', card: card('jinan', '1978-06-30', ['disabled']), city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'free', policyId: 'jinan-disabled' } },
  { name: 'Jinan veteran', card: card('jinan', '1968-01-15', ['veteran']), city: 'jinan', mode: 'metro', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'free', policyId: 'jinan-veteran' } },
  { name: 'Qingdao resident, disabled, in Jinan (Jinan residents only)', card: card('qingdao', '1978-06-30', ['disabled']), city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'full' } },
  // Issue 12 finding 4: residency is not the issuer.
  { name: 'Qingdao-issued card of a Jinan resident, disabled, in Jinan', card: card('qingdao', '1978-06-30', ['disabled'], 'jinan'), city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'free', policyId: 'jinan-disabled' } },
  { name: 'Jinan-issued card, disabled, no Jinan residence on record', card: card('jinan', '1978-06-30', ['disabled'], null), city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'full' } },
  { name: 'Zhengzhou-issued veteran in Jinan (any)', card: card('zhengzhou', '1968-01-15', ['veteran']), city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'free', policyId: 'jinan-veteran' } },
  { name: 'Jinan disabled on the Qingdao metro: a Jinan rule only', card: card('jinan', '1978-06-30', ['disabled']), city: 'qingdao', mode: 'metro', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'full' } },

  // Zhengzhou: residents 60+ free off-peak on working days, all day on rest days, 80 rides a month.
  { name: 'ZZ senior 08:00 working day: peak', card: senior('zhengzhou'), city: 'zhengzhou', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'full', policyId: null } },
  { name: 'ZZ senior 07:00 peak starts', card: senior('zhengzhou'), city: 'zhengzhou', at: `${WEEKDAY}T07:00:00+08:00`, expect: { level: 'full' } },
  { name: 'ZZ senior 06:59 before peak', card: senior('zhengzhou'), city: 'zhengzhou', at: `${WEEKDAY}T06:59:59+08:00`, expect: { level: 'free' } },
  { name: 'ZZ senior 08:59 still peak', card: senior('zhengzhou'), city: 'zhengzhou', at: `${WEEKDAY}T08:59:59+08:00`, expect: { level: 'full' } },
  { name: 'ZZ senior 09:00 peak over', card: senior('zhengzhou'), city: 'zhengzhou', at: `${WEEKDAY}T09:00:00+08:00`, expect: { level: 'free' } },
  { name: 'ZZ senior 10:00', card: senior('zhengzhou'), city: 'zhengzhou', at: `${WEEKDAY}T10:00:00+08:00`, expect: { level: 'free', policyId: 'zhengzhou-senior', usesAllowance: true } },
  { name: 'ZZ senior 18:30 evening peak', card: senior('zhengzhou'), city: 'zhengzhou', mode: 'metro', at: `${WEEKDAY}T18:30:00+08:00`, expect: { level: 'full' } },
  { name: 'ZZ senior 19:00', card: senior('zhengzhou'), city: 'zhengzhou', at: `${WEEKDAY}T19:00:00+08:00`, expect: { level: 'free' } },
  { name: 'ZZ senior Saturday 08:00', card: senior('zhengzhou'), city: 'zhengzhou', at: '2026-07-04T08:00:00+08:00', expect: { level: 'free' } },
  { name: 'ZZ senior National Day 08:00', card: senior('zhengzhou'), city: 'zhengzhou', at: '2026-10-01T08:00:00+08:00', expect: { level: 'free' } },
  { name: 'ZZ senior Sunday moved to work, 08:00', card: senior('zhengzhou'), city: 'zhengzhou', at: '2026-09-20T08:00:00+08:00', expect: { level: 'full' } },
  { name: 'ZZ senior, 79 rides used', card: senior('zhengzhou'), city: 'zhengzhou', at: `${WEEKDAY}T10:00:00+08:00`, state: { 'transit:freeRides': { '2026-07': 79 } }, expect: { level: 'free', usesAllowance: true } },
  { name: 'ZZ senior, 80 rides used: the 81st pays', card: senior('zhengzhou'), city: 'zhengzhou', at: `${WEEKDAY}T10:00:00+08:00`, state: { 'transit:freeRides': { '2026-07': 80 } }, expect: { level: 'full', allowanceExhausted: true } },
  { name: 'ZZ senior, last month\'s count does not matter', card: senior('zhengzhou'), city: 'zhengzhou', at: '2026-08-03T10:00:00+08:00', state: { 'transit:freeRides': { '2026-07': 80 } }, expect: { level: 'free' } },
  { name: 'Jinan senior in Zhengzhou (residents only)', card: senior('jinan'), city: 'zhengzhou', at: `${WEEKDAY}T10:00:00+08:00`, expect: { level: 'full' } },
  { name: 'Jinan-issued card of a Zhengzhou resident aged 76, in Zhengzhou', card: card('jinan', '1950-03-01', [], 'zhengzhou'), city: 'zhengzhou', at: `${WEEKDAY}T10:00:00+08:00`, expect: { level: 'free', policyId: 'zhengzhou-senior' } },
  { name: 'Zhengzhou-issued card of a senior living in Qingdao, in Zhengzhou', card: card('zhengzhou', '1950-03-01', [], 'qingdao'), city: 'zhengzhou', at: `${WEEKDAY}T10:00:00+08:00`, expect: { level: 'full' } },

  // Zhengzhou: primary and secondary students half fare.
  { name: 'ZZ student aged 15', card: card('zhengzhou', '2010-09-01', ['student']), city: 'zhengzhou', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'half', policyId: 'zhengzhou-student' } },
  { name: 'ZZ student aged 20 (university)', card: card('zhengzhou', '2006-01-01', ['student']), city: 'zhengzhou', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'full' } },
  { name: 'Jinan student in Zhengzhou', card: card('jinan', '2010-09-01', ['student']), city: 'zhengzhou', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'full' } },
  { name: 'ZZ student in Jinan', card: card('zhengzhou', '2010-09-01', ['student']), city: 'jinan', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'full' } },

  // Qingdao buses (third-party guide, shared/docs/domain.md second review): disabled free, students half,
  // veterans free only with Qingdao residence. Buses only: metro unconfirmed.
  { name: 'Qingdao: disabled rider, any card', card: card('zhengzhou', '1978-06-30', ['disabled']), city: 'qingdao', mode: 'bus', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'free', policyId: 'qingdao-disabled' } },
  { name: 'Qingdao: student half fare', card: card('jinan', '2006-01-01', ['student']), city: 'qingdao', mode: 'bus', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'half', policyId: 'qingdao-student' } },
  { name: 'Qingdao: veteran with Qingdao residence', card: card('qingdao', '1968-01-15', ['veteran']), city: 'qingdao', mode: 'bus', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'free', policyId: 'qingdao-veteran' } },
  { name: 'Qingdao: veteran living in Jinan pays', card: card('qingdao', '1968-01-15', ['veteran'], 'jinan'), city: 'qingdao', mode: 'bus', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'full' } },
  { name: 'Qingdao: the bus concessions are not metro ones (unconfirmed there)', card: card('qingdao', '1978-06-30', ['disabled']), city: 'qingdao', mode: 'metro', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'full' } },
  // Zhengzhou buses (shared/docs/domain.md second review): disabled veterans, police injured on duty, blind people free.
  { name: 'Zhengzhou: disabled veteran', card: card('jinan', '1960-01-01', ['disabled-veteran']), city: 'zhengzhou', mode: 'bus', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'free', policyId: 'zhengzhou-disabled-veteran' } },
  { name: 'Zhengzhou: police officer injured on duty', card: card('zhengzhou', '1975-01-01', ['police-injured']), city: 'zhengzhou', mode: 'bus', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'free', policyId: 'zhengzhou-police-injured' } },
  { name: 'Zhengzhou: blind rider', card: card('qingdao', '1990-01-01', ['blind']), city: 'zhengzhou', mode: 'bus', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'free', policyId: 'zhengzhou-blind' } },
  { name: 'Zhengzhou: a veteran without a disability pays', card: card('zhengzhou', '1968-01-15', ['veteran']), city: 'zhengzhou', mode: 'bus', at: `${WEEKDAY}T08:00:00+08:00`, expect: { level: 'full' } }
]

t.test('transit concessions', async t => {
  for (const c of cases) {
    const state = { get: (key: string): unknown => c.state?.[key] }
    const result = transitConcession({ card: c.card, at: at(c.at), mode: c.mode ?? 'bus', city: cityOf(c.city), policies, state })
    t.match(result, c.expect, c.name)
  }
})

t.test('the cheapest rule wins when several fit', async t => {
  const seniorStudent = card('zhengzhou', '1950-03-01', ['student'])
  const state = { get: (): unknown => undefined }
  // A 76-year-old registered as a student is not a school pupil (maxAge), and pays in the peak.
  t.match(transitConcession({ card: seniorStudent, at: at(`${WEEKDAY}T08:00:00+08:00`), mode: 'bus', city: cityOf('zhengzhou'), policies, state }), { level: 'full' })
  const jinanDisabledSenior = card('jinan', '1950-03-01', ['disabled'])
  t.match(transitConcession({ card: jinanDisabledSenior, at: at(`${WEEKDAY}T08:00:00+08:00`), mode: 'metro', city: cityOf('jinan'), policies, state }),
    { level: 'free', policyId: 'shandong-senior' }, 'first free rule listed is reported')
})

t.test('age at the local date', async t => {
  t.equal(holderAgeOn({ birthDate: '1964-02-29' }, at('2026-02-28T12:00:00+08:00')), 61, 'leap-day birthday not yet reached on 28 Feb')
  t.equal(holderAgeOn({ birthDate: '1964-02-29' }, at('2026-03-01T12:00:00+08:00')), 62)
  t.equal(holderAgeOn({ birthDate: null }, at('2026-03-01T12:00:00+08:00')), null)
})

t.test('fare levels round half fares down', async t => {
  t.equal(applyFareLevel(300, 'half'), 150)
  t.equal(applyFareLevel(250, 'half'), 125)
  t.equal(applyFareLevel(101, 'half'), 50)
  t.equal(applyFareLevel(300, 'free'), 0)
  t.equal(applyFareLevel(300, 'full'), 300)
})

t.test('free-ride allowance counter', async t => {
  t.same(freeRideWrite({ get: () => undefined }, '2026-07'), { key: 'transit:freeRides', value: { '2026-07': 1 } })
  t.same(freeRideWrite({ get: () => ({ '2026-07': 41 }) }, '2026-07'), { key: 'transit:freeRides', value: { '2026-07': 42 } })
  t.same(freeRideWrite({ get: () => 'junk' }, '2026-07'), { key: 'transit:freeRides', value: { '2026-07': 1 } }, 'corrupt value counts as none')
  // Bounded: two months kept, older ones pruned on write (source: project rule, issue 12 constraints).
  t.same(freeRideWrite({ get: () => ({ '2026-05': 80, '2026-06': 3 }) }, '2026-07'), { key: 'transit:freeRides', value: { '2026-06': 3, '2026-07': 1 } }, 'the oldest month expires')
})

t.test('calendar', async t => {
  const { calendar } = policies
  t.ok(isWorkingDay(at('2026-07-01T12:00:00+08:00'), calendar), 'Wednesday')
  t.notOk(isWorkingDay(at('2026-07-04T12:00:00+08:00'), calendar), 'Saturday')
  t.notOk(isWorkingDay(at('2026-10-05T12:00:00+08:00'), calendar), 'Monday in the National Day break')
  t.ok(isWorkingDay(at('2026-10-10T12:00:00+08:00'), calendar), 'Saturday moved to work')
  t.ok(isPublicHoliday('2026-02-17', calendar), 'Spring Festival')
  t.notOk(isPublicHoliday('2026-07-01', calendar))
  const windows = policies.transit.peakWindows.zhengzhou ?? []
  t.ok(isPeak(at('2026-07-01T17:00:00+08:00'), windows, calendar))
  t.notOk(isPeak(at('2026-07-01T16:59:59+08:00'), windows, calendar))
  t.notOk(isPeak(at('2026-10-01T08:00:00+08:00'), windows, calendar), 'no peak on a holiday')
  for (const date of [...calendar.holidays, ...calendar.workdays]) t.match(date, /^2026-\d{2}-\d{2}$/)
  for (const date of calendar.workdays) t.notOk(calendar.holidays.includes(date), `${date} is not both`)
})

t.test('policy data is well formed', async t => {
  const ids = policies.transit.concessions.map(r => r.id)
  t.equal(new Set(ids).size, ids.length, 'concession ids unique')
  for (const rule of policies.transit.concessions) {
    t.ok(['any', 'local-resident', 'issuer-city', 'issuer-province'].includes(rule.residency), `${rule.id} residency`)
    t.ok(rule.modes.length > 0 && rule.modes.every(m => m === 'bus' || m === 'metro'), `${rule.id} modes`)
    t.ok(rule.name.zh.length > 0 && rule.name.en.length > 0, `${rule.id} named`)
  }
  const tiers = policies.transit.metroMonthlyTiers.qingdao ?? []
  t.same(tiers.map(x => x.fromSpentFen), [...tiers.map(x => x.fromSpentFen)].sort((a, b) => a - b), 'tiers ascend')
})
