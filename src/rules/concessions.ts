// Who rides free or at half fare, by the rules of the city the tap is in (fixtures/policies.json
// `transit.concessions`). Every figure — ages, categories, windows, allowances — is data; this
// file only knows how to read a rule. When several rules fit, the cheapest for the rider wins.
import { ageOn } from './local-time.js'
import { isPeak, type CalendarPolicy, type TimeWindow } from './calendar.js'
import type { TransferPolicy } from './transit-transfer.js'
import type { CardFacts, LocalTime, Message, StateReader, StateWrite } from './types.js'
import { residentOf } from './holder.js'
import { assertKeepMax, isCountFen, readDatedEntries, withDatedEntry, type DatedEntries } from './dated-entries.js'

export type TransitMode = 'bus' | 'metro'
export type FareLevel = 'free' | 'half' | 'full'

/** Whose card the rule honours: any of the three issuers; a local resident of the tap's city (holder
 *  category `resident:<city>`: residence is a holder fact, not the issuer); or only cards issued by
 *  the city / its province. */
export type Residency = 'any' | 'local-resident' | 'issuer-city' | 'issuer-province'

export interface ConcessionRule {
  id: string
  name: Message
  /** Where the rule holds: a province (all its cities) or one city. */
  where: { province?: string, city?: string }
  modes: TransitMode[]
  /** Ages in whole years at the tap's local date, both inclusive. */
  holder: { minAge?: number, maxAge?: number, category?: string }
  residency: Residency
  fare: 'free' | 'half'
  /** On working days the rule does not hold inside the city's peak windows; rest days: all day. */
  offPeakOnWorkingDays?: boolean
  /** At most this many rides a calendar month under the rule; the next ride pays as if it did not apply. */
  monthlyRideLimit?: number
}

/** A spend tier: from this much spent in the month (fen, inclusive), this discount. */
export interface SpendTier { fromSpentFen: number, discountPercent: number }

export interface TransitPolicies {
  peakWindows: Record<string, TimeWindow[] | undefined>
  concessions: ConcessionRule[]
  transfers: Record<string, TransferPolicy | undefined>
  metroMonthlyTiers: Record<string, SpendTier[] | undefined>
}

/** The shape of fixtures/policies.json that transit modules read. */
export interface Policies { calendar: CalendarPolicy, transit: TransitPolicies }

/** The part of a cities.json entry concessions need. */
export interface ConcessionCity { city: string, issuer: string, province: string }

export interface TransitConcession {
  level: FareLevel
  /** The rule that gave the level; null for full fare. */
  policyId: string | null
  /** This ride uses one of the rule's monthly allowance, so the caller records it (see freeRideWrite). */
  usesAllowance: boolean
  /** A rule would have applied but its monthly allowance is used up. */
  allowanceExhausted: boolean
}

export const FULL_FARE: TransitConcession = { level: 'full', policyId: null, usesAllowance: false, allowanceExhausted: false }

/** Whole years of age at the tap's local date, or null when the birth date is unknown.
 *  Shared: venue and scenic modules judge age the same way. */
export function holderAgeOn (card: Pick<CardFacts, 'birthDate'>, at: LocalTime): number | null {
  return card.birthDate === null ? null : ageOn(card.birthDate, at.date)
}

/** One key per card for the monthly allowance counter: `{"YYYY-MM": rides}`, newest months only. */
export const FREE_RIDES_KEY = 'transit:freeRides'
/** Months of allowance counts kept: this month and the last (a tap near midnight on the 1st). */
export const FREE_RIDE_MONTHS_KEPT = 2
assertKeepMax(FREE_RIDE_MONTHS_KEPT)

function freeRideCounts (state: StateReader): DatedEntries<number> {
  return readDatedEntries(state.get(FREE_RIDES_KEY), isCountFen)
}

export function freeRidesUsed (state: StateReader, month: string): number {
  return freeRideCounts(state)[month] ?? 0
}

/** The state write that records one more allowance ride in the tap's month. */
export function freeRideWrite (state: StateReader, month: string): StateWrite {
  const counts = freeRideCounts(state)
  return { key: FREE_RIDES_KEY, value: withDatedEntry(counts, month, (counts[month] ?? 0) + 1, FREE_RIDE_MONTHS_KEPT) }
}

export interface ConcessionQuery {
  card: CardFacts
  at: LocalTime
  mode: TransitMode
  city: ConcessionCity
  policies: Policies
  state: StateReader
}

export function transitConcession (query: ConcessionQuery): TransitConcession {
  let best = FULL_FARE
  let allowanceExhausted = false
  for (const rule of query.policies.transit.concessions) {
    if (!ruleHolds(rule, query)) continue
    if (rule.monthlyRideLimit !== undefined && freeRidesUsed(query.state, query.at.month) >= rule.monthlyRideLimit) {
      allowanceExhausted = true
      continue
    }
    if (levelRank(rule.fare) < levelRank(best.level)) {
      best = { level: rule.fare, policyId: rule.id, usesAllowance: rule.monthlyRideLimit !== undefined, allowanceExhausted: false }
    }
  }
  return best.level === 'full' ? { ...best, allowanceExhausted } : best
}

function levelRank (level: FareLevel): number {
  return level === 'free' ? 0 : level === 'half' ? 1 : 2
}

function ruleHolds (rule: ConcessionRule, query: ConcessionQuery): boolean {
  return rule.modes.includes(query.mode) &&
    placeMatches(rule, query.city) &&
    residencyMatches(rule.residency, query.card, query.city) &&
    holderMatches(rule, query.card, query.at) &&
    timeMatches(rule, query)
}

function placeMatches (rule: ConcessionRule, city: ConcessionCity): boolean {
  if (rule.where.city !== undefined && rule.where.city !== city.city) return false
  if (rule.where.province !== undefined && rule.where.province !== city.province) return false
  return true
}

// GB/T 2260 area codes: the first two digits name the province (37 Shandong, 41 Henan).
function residencyMatches (residency: Residency, card: CardFacts, city: ConcessionCity): boolean {
  if (residency === 'local-resident') return residentOf(card, city.city)
  if (residency === 'issuer-city') return card.issuer === city.issuer
  if (residency === 'issuer-province') return card.issuer.slice(0, 2) === city.issuer.slice(0, 2)
  return true
}

function holderMatches (rule: ConcessionRule, card: CardFacts, at: LocalTime): boolean {
  const { minAge, maxAge, category } = rule.holder
  if (category !== undefined && !card.categories.includes(category)) return false
  if (minAge === undefined && maxAge === undefined) return true
  const age = holderAgeOn(card, at)
  if (age === null) return false // an age rule cannot be granted on an unknown birth date
  return (minAge === undefined || age >= minAge) && (maxAge === undefined || age <= maxAge)
}

function timeMatches (rule: ConcessionRule, query: ConcessionQuery): boolean {
  if (rule.offPeakOnWorkingDays !== true) return true
  const windows = query.policies.transit.peakWindows[query.city.city] ?? []
  return !isPeak(query.at, windows, query.policies.calendar)
}

/** The fare after the concession level. Half fares round down: fractions of a fen go to the rider. */
export function applyFareLevel (fareFen: number, level: FareLevel): number {
  if (level === 'free') return 0
  if (level === 'half') return Math.floor(fareFen / 2)
  return fareFen
}
