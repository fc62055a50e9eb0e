// Metro: tap in, tap out, pay at the exit by the km of the shortest route between the two stations
// (fixtures/tariffs/metro.json band tables), after concessions, Qingdao's monthly spend tiers and
// Qingdao's transfer discount. Context: {"direction": "in" | "out"}.
//
// Unpaired taps never become free rides:
// - entry while a journey is open: the open journey is charged its unfinished fare (the maximum
//   fare after the holder's concession, fixed when it opened) at this entry, and a new one opens;
// - exit with no open journey, or with one opened in another city: declined NO_ENTRY, nothing is
//   charged at the gate (station staff settle it); an open journey elsewhere stays open;
// - exit later than maxJourneyMinutes after entry: charged the unfinished fare.
// The concession is judged at entry (age, peak window, allowance), as boarding is when it counts.
import {
  applyFareLevel, freeRideWrite, transitConcession, type ConcessionCity, type FareLevel, type Policies, type SpendTier
} from './concessions.js'
import { fareForMetres, minimumFareFen, yuanText, type FareTable } from './fare-bands.js'
import { metroNetworkOf, hasStation, shortestMetres, type MetroCityFixture } from './metro-network.js'
import { applyTransferDiscount, isTransfer, lastLegWrite, readLastLeg } from './transit-transfer.js'
import type { AccountKind, Message, RuleDecision, RuleInput, RuleModule, StateReader, StateWrite } from './types.js'
import { reasonsFor } from './reasons.js'
import { assertKeepMax, isCountFen, readDatedEntries, withDatedEntry, type DatedEntries } from './dated-entries.js'
import { declineWith } from './decline.js'

export interface MetroTariff {
  fare: FareTable
  /** Charged for a journey with no exit (or an exit too late): covers the longest trip in the network. */
  maxFareFen: number
  maxJourneyMinutes: number
  /** A second entry at the same station within this many minutes is a double tap. */
  duplicateTapMinutes: number
  /** Entry needs a balance of at least the minimum fare (after the holder's concession). */
  requireMinimumFareAtEntry: boolean
}

export const OPEN_JOURNEY_KEY = 'metro:open'

export interface OpenJourney {
  city: string
  station: string
  atMs: number
  tapId: string
  level: FareLevel
  policyId: string | null
  usesAllowance: boolean
  /** The entry started a discounted transfer from the last bus leg. */
  transfer: boolean
  /** What this journey costs if it never gets a matching exit. */
  unfinishedFareFen: number
}

const MINUTE_MS = 60_000

const REASONS = reasonsFor('NO_ENTRY', 'DUPLICATE_TAP', 'STATION_UNKNOWN', 'BELOW_MINIMUM_BALANCE')

export const metro: RuleModule<MetroTariff> = {
  code: 'metro',
  contextSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['direction'],
    properties: { direction: { type: 'string', enum: ['in', 'out'] } }
  },
  reasons: REASONS,
  reversible: false,
  decide (input) {
    const station = input.terminal.location.station
    const city = input.city as MetroCityFixture | undefined
    if (station === undefined || city?.metro === undefined || !hasStation(metroNetworkOf(city), station)) return declined('STATION_UNKNOWN')
    return input.tap.context.direction === 'out' ? tapOut(input, station) : tapIn(input, station)
  }
}

const declined = declineWith(REASONS)

function accountOf (input: RuleInput<MetroTariff>): AccountKind {
  return input.scenario.accounts[0] ?? 'bank'
}

export function readOpenJourney (state: StateReader): OpenJourney | null {
  const value = state.get(OPEN_JOURNEY_KEY)
  if (typeof value !== 'object' || value === null) return null
  const open = value as Partial<OpenJourney>
  const valid = typeof open.city === 'string' && typeof open.station === 'string' && typeof open.atMs === 'number' &&
    typeof open.unfinishedFareFen === 'number' && (open.level === 'free' || open.level === 'half' || open.level === 'full')
  return valid ? open as OpenJourney : null
}

// ---- entry ----

function tapIn (input: RuleInput<MetroTariff>, station: string): RuleDecision {
  const { tap, terminal, tariff, state, card } = input
  const open = readOpenJourney(state)
  if (open !== null && isDoubleEntry(open, terminal.city, station, tap.at.epochMs, tariff.duplicateTapMinutes)) {
    return declined('DUPLICATE_TAP')
  }
  const policies = input.policies as Policies
  const city = input.city as ConcessionCity
  const concession = transitConcession({ card, at: tap.at, mode: 'metro', city, policies, state })
  const closingFareFen = open?.unfinishedFareFen ?? 0
  const entryMinimumFen = tariff.requireMinimumFareAtEntry ? applyFareLevel(minimumFareFen(tariff.fare), concession.level) : 0
  const account = accountOf(input)
  if (card.balances[account] < closingFareFen + entryMinimumFen) {
    return declined('BELOW_MINIMUM_BALANCE', { requiredFen: closingFareFen + entryMinimumFen, unfinishedFareFen: closingFareFen })
  }
  const journey: OpenJourney = {
    city: terminal.city,
    station,
    atMs: tap.at.epochMs,
    tapId: tap.tapId,
    level: concession.level,
    policyId: concession.policyId,
    usesAllowance: concession.usesAllowance,
    transfer: isTransfer(policies.transit.transfers[terminal.city], readLastLeg(state), { city: terminal.city, mode: 'metro', startMs: tap.at.epochMs }),
    unfinishedFareFen: applyFareLevel(tariff.maxFareFen, concession.level)
  }
  return {
    decision: 'approved',
    payments: [{ account, amount: closingFareFen }],
    message: entryMessage(closingFareFen),
    stateWrites: [{ key: OPEN_JOURNEY_KEY, value: journey }],
    details: {
      station,
      concession: concession.policyId,
      ...(open === null ? {} : { closedUnfinished: { city: open.city, station: open.station, atMs: open.atMs, fareFen: closingFareFen } })
    }
  }
}

// A gate retry or an impatient second tap at the same station is not a new journey.
function isDoubleEntry (open: OpenJourney, city: string, station: string, atMs: number, windowMinutes: number): boolean {
  return open.city === city && open.station === station && Math.abs(atMs - open.atMs) < windowMinutes * MINUTE_MS
}

function entryMessage (closingFareFen: number): Message {
  if (closingFareFen === 0) return { zh: '请进站', en: 'Please enter' }
  const yuan = yuanText(closingFareFen)
  return {
    zh: `上次行程无出站记录，已扣最高票价${yuan}元，请进站`,
    en: `Your last journey had no exit and was charged the maximum fare, ${yuan} yuan. Please enter`
  }
}

// ---- exit ----

function tapOut (input: RuleInput<MetroTariff>, station: string): RuleDecision {
  const { tap, terminal, tariff, state } = input
  const open = readOpenJourney(state)
  if (open === null || open.city !== terminal.city) {
    return declined('NO_ENTRY', { maxFareFen: tariff.maxFareFen, ...(open === null ? {} : { openInCity: open.city }) })
  }
  const overtime = tap.at.epochMs - open.atMs > tariff.maxJourneyMinutes * MINUTE_MS
  const metres = shortestMetres(metroNetworkOf(input.city as MetroCityFixture), open.station, station)
  // An entry station that left the network (fixture change) cannot be priced: treat as unfinished.
  if (overtime || metres === null) return unfinishedExit(input, open, station, overtime)
  return pricedExit(input, open, station, metres)
}

function unfinishedExit (input: RuleInput<MetroTariff>, open: OpenJourney, station: string, overtime: boolean): RuleDecision {
  const fareFen = open.unfinishedFareFen
  return {
    decision: 'approved',
    payments: [{ account: accountOf(input), amount: fareFen }],
    message: exitMessage(fareFen),
    stateWrites: [{ key: OPEN_JOURNEY_KEY, value: null }],
    details: { entryStation: open.station, exitStation: station, overtime, unfinished: true, fareFen }
  }
}

function pricedExit (input: RuleInput<MetroTariff>, open: OpenJourney, station: string, metres: number): RuleDecision {
  const { tap, terminal, tariff, state } = input
  const policies = input.policies as Policies
  const baseFareFen = fareForMetres(tariff.fare, metres)
  const concessionFareFen = applyFareLevel(baseFareFen, open.level)
  const tiers = policies.transit.metroMonthlyTiers[terminal.city]
  const spentEntries = tiers === undefined ? {} : monthSpentEntries(state)
  const spentFen = spentEntries[tap.at.month] ?? 0
  const tierDiscountPercent = tiers === undefined ? 0 : tierDiscountPercentFor(tiers, spentFen)
  const tieredFareFen = Math.floor(concessionFareFen * (100 - tierDiscountPercent) / 100)
  const transferPolicy = policies.transit.transfers[terminal.city]
  const transfer = open.transfer && transferPolicy !== undefined && tieredFareFen > 0
    ? applyTransferDiscount(tieredFareFen, transferPolicy)
    : { fareFen: tieredFareFen, discountFen: 0 }
  const fareFen = transfer.fareFen
  const writes: StateWrite[] = [{ key: OPEN_JOURNEY_KEY, value: null }]
  if (tiers !== undefined && fareFen > 0) writes.push({ key: MONTH_SPENT_KEY, value: withDatedEntry(spentEntries, tap.at.month, spentFen + fareFen, SPENT_MONTHS_KEPT) })
  if (transferPolicy !== undefined) {
    writes.push(lastLegWrite({ city: terminal.city, mode: 'metro', atMs: tap.at.epochMs, transferred: transfer.discountFen > 0 }))
  }
  if (open.usesAllowance) writes.push(freeRideWrite(state, tap.at.month))
  return {
    decision: 'approved',
    payments: [{ account: accountOf(input), amount: fareFen }],
    message: exitMessage(fareFen),
    stateWrites: writes,
    details: {
      entryStation: open.station, exitStation: station, distanceKm: metres / 1000, baseFareFen,
      concession: open.policyId, tierDiscountPercent, transferDiscountFen: transfer.discountFen, fareFen
    }
  }
}

function exitMessage (fareFen: number): Message {
  if (fareFen === 0) return { zh: '出站成功，本次免费', en: 'Thank you: this ride is free' }
  const yuan = yuanText(fareFen)
  return { zh: `出站成功，扣费${yuan}元`, en: `Thank you: fare ${yuan} yuan` }
}

// ---- Qingdao monthly spend tiers ----

/** One key per card: `{"YYYY-MM": spentFen}`, this month and the last. */
export const MONTH_SPENT_KEY = 'metro:spent'
export const SPENT_MONTHS_KEPT = 2
assertKeepMax(SPENT_MONTHS_KEPT)

function monthSpentEntries (state: StateReader): DatedEntries<number> {
  return readDatedEntries(state.get(MONTH_SPENT_KEY), isCountFen)
}

/** The tier reached by what was already paid this month; the whole trip gets that tier's discount. */
export function tierDiscountPercentFor (tiers: SpendTier[], spentFen: number): number {
  let percent = 0
  for (const tier of tiers) if (spentFen >= tier.fromSpentFen) percent = tier.discountPercent
  return percent
}
