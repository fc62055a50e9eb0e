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
//
// Also (issue 12 finding 5):
// - an exit at the entry station within `sameStationExitMinutes` (a rider who changed their mind,
//   or crossed the station) is free; later, it pays the minimum fare (a 0 km trip);
// - an exit after `maxJourneyMinutes` in the paid area pays the unfinished fare, or — where the
//   city publishes one (`overtimeSurchargeFen`) — the trip's fare plus that surcharge;
// - passes (`passes`, Qingdao's one-day and three-day tickets) are products bought at an entry gate
//   with `context.pass`: the price is charged once, the pass (`metro:pass` = {pass, city,
//   validUntilMs}) makes every journey that starts before it expires free, with no minimum balance
//   and no unfinished fare. A second purchase while one is valid buys nothing.
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
  /** An exit at the entry station within this many minutes is free; absent: it pays the minimum fare. */
  sameStationExitMinutes?: number
  /** Over maxJourneyMinutes: the trip's fare plus this (fen); null/absent: the unfinished fare. */
  overtimeSurchargeFen?: number | null
  /** Passes sold at the gates, by id. */
  passes?: Record<string, MetroPass>
}

export interface MetroPass {
  name: Message
  priceFen: number
  /** Hours from purchase the pass covers journeys that start within them. */
  validHours: number
}

export const PASS_KEY = 'metro:pass'

export interface HeldPass { pass: string, city: string, validUntilMs: number }

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
  /** The pass that covers this journey, when one does. */
  pass?: string
}

const MINUTE_MS = 60_000
const HOUR_MS = 3_600_000

const REASONS = reasonsFor('NO_ENTRY', 'DUPLICATE_TAP', 'STATION_UNKNOWN', 'BELOW_MINIMUM_BALANCE', 'PASS_UNKNOWN')

export const metro: RuleModule<MetroTariff> = {
  code: 'metro',
  contextSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['direction'],
    properties: {
      direction: { type: 'string', enum: ['in', 'out'] },
      // Optional project addition: buy this pass at the entry gate (Qingdao day passes).
      pass: { type: 'string', pattern: '^[a-z0-9-]{1,32}$' }
    },
    // A pass is bought on the way in only.
    if: { properties: { direction: { const: 'out' } } },
    then: { not: { required: ['pass'] } }
  },
  reasons: REASONS,
  reversible: false,
  lateEntry: { awaitsReason: 'NO_ENTRY', journeyStateKey: OPEN_JOURNEY_KEY, isEntry: context => context.direction === 'in' },
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

export function readPass (state: StateReader, city: string, atMs: number): HeldPass | null {
  const value = state.get(PASS_KEY) as Partial<HeldPass> | null | undefined
  if (typeof value !== 'object' || value === null) return null
  if (typeof value.pass !== 'string' || value.city !== city || typeof value.validUntilMs !== 'number') return null
  return atMs < value.validUntilMs ? { pass: value.pass, city: value.city, validUntilMs: value.validUntilMs } : null
}

interface PassAtEntry { held: HeldPass | null, bought: { pass: HeldPass, priceFen: number } | null }

/** The pass covering a journey starting now: one held, or one bought with this tap. */
function passAtEntry (input: RuleInput<MetroTariff>): PassAtEntry | RuleDecision {
  const { tap, terminal, tariff, state } = input
  const held = readPass(state, terminal.city, tap.at.epochMs)
  const wanted = typeof tap.context.pass === 'string' ? tap.context.pass : null
  if (wanted === null || held !== null) return { held, bought: null }
  const product = tariff.passes !== undefined && Object.hasOwn(tariff.passes, wanted) ? tariff.passes[wanted] : undefined
  if (product === undefined) return declined('PASS_UNKNOWN', { pass: wanted, passes: Object.keys(tariff.passes ?? {}) })
  const pass: HeldPass = { pass: wanted, city: terminal.city, validUntilMs: tap.at.epochMs + product.validHours * HOUR_MS }
  return { held: null, bought: { pass, priceFen: product.priceFen } }
}

function tapIn (input: RuleInput<MetroTariff>, station: string): RuleDecision {
  const { tap, terminal, tariff, state, card } = input
  const open = readOpenJourney(state)
  if (open !== null && isDoubleEntry(open, terminal.city, station, tap.at.epochMs, tariff.duplicateTapMinutes)) {
    return declined('DUPLICATE_TAP')
  }
  const passes = passAtEntry(input)
  if ('decision' in passes) return passes
  const pass = passes.held ?? passes.bought?.pass ?? null
  const passPriceFen = passes.bought?.priceFen ?? 0
  const policies = input.policies as Policies
  const city = input.city as ConcessionCity
  const concession = transitConcession({ card, at: tap.at, mode: 'metro', city, policies, state })
  const closingFareFen = open?.unfinishedFareFen ?? 0
  const entryMinimumFen = tariff.requireMinimumFareAtEntry && pass === null ? applyFareLevel(minimumFareFen(tariff.fare), concession.level) : 0
  const account = accountOf(input)
  // Offline gates let the rider in: the minimum is a risk rule for online entries only.
  if (tap.offline !== true && card.balances[account] < closingFareFen + passPriceFen + entryMinimumFen) {
    return declined('BELOW_MINIMUM_BALANCE', { requiredFen: closingFareFen + passPriceFen + entryMinimumFen, unfinishedFareFen: closingFareFen })
  }
  const journey: OpenJourney = {
    city: terminal.city,
    station,
    atMs: tap.at.epochMs,
    tapId: tap.tapId,
    level: concession.level,
    policyId: concession.policyId,
    // A pass ride uses no free-ride allowance.
    usesAllowance: pass === null && concession.usesAllowance,
    transfer: isTransfer(policies.transit.transfers[terminal.city], readLastLeg(state), { city: terminal.city, mode: 'metro', startMs: tap.at.epochMs }),
    unfinishedFareFen: pass === null ? applyFareLevel(tariff.maxFareFen, concession.level) : 0,
    ...(pass === null ? {} : { pass: pass.pass })
  }
  const writes: StateWrite[] = [{ key: OPEN_JOURNEY_KEY, value: journey }]
  if (passes.bought !== null) writes.push({ key: PASS_KEY, value: passes.bought.pass })
  return {
    decision: 'approved',
    payments: [{ account, amount: closingFareFen + passPriceFen }],
    message: entryMessage(closingFareFen, passes.bought?.priceFen),
    stateWrites: writes,
    details: {
      station,
      concession: concession.policyId,
      ...(pass === null ? {} : { pass: pass.pass, passValidUntilMs: pass.validUntilMs, passBoughtFen: passPriceFen }),
      ...(open === null ? {} : { closedUnfinished: { city: open.city, station: open.station, atMs: open.atMs, fareFen: closingFareFen } })
    }
  }
}

// A gate retry or an impatient second tap at the same station is not a new journey.
function isDoubleEntry (open: OpenJourney, city: string, station: string, atMs: number, windowMinutes: number): boolean {
  return open.city === city && open.station === station && Math.abs(atMs - open.atMs) < windowMinutes * MINUTE_MS
}

function entryMessage (closingFareFen: number, passPriceFen?: number): Message {
  if (passPriceFen !== undefined && closingFareFen === 0) {
    const yuan = yuanText(passPriceFen)
    return { zh: `已购票${yuan}元，请进站`, en: `Pass bought for ${yuan} yuan. Please enter` }
  }
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
  const minutesInside = (tap.at.epochMs - open.atMs) / MINUTE_MS
  if (typeof open.pass === 'string') return freeExit(input, open, station, { pass: open.pass })
  if (open.station === station && tariff.sameStationExitMinutes !== undefined && minutesInside <= tariff.sameStationExitMinutes) {
    return freeExit(input, open, station, { sameStationExit: true })
  }
  const overtime = minutesInside > tariff.maxJourneyMinutes
  const metres = shortestMetres(metroNetworkOf(input.city as MetroCityFixture), open.station, station)
  // An entry station that left the network (fixture change) cannot be priced: treat as unfinished.
  if (metres === null) return unfinishedExit(input, open, station, overtime)
  if (overtime && (tariff.overtimeSurchargeFen ?? null) === null) return unfinishedExit(input, open, station, overtime)
  return pricedExit(input, open, station, metres, overtime ? tariff.overtimeSurchargeFen ?? 0 : 0)
}

/** A journey that costs nothing (a pass, a quick same-station exit): closes it, uses no allowance,
 *  counts no spend, and is the last leg for a transfer like any other. */
function freeExit (input: RuleInput<MetroTariff>, open: OpenJourney, station: string, why: Record<string, unknown>): RuleDecision {
  const { tap, terminal } = input
  const writes: StateWrite[] = [{ key: OPEN_JOURNEY_KEY, value: null }]
  if ((input.policies as Policies).transit.transfers[terminal.city] !== undefined) {
    writes.push(lastLegWrite({ city: terminal.city, mode: 'metro', atMs: tap.at.epochMs, transferred: false }))
  }
  return {
    decision: 'approved',
    payments: [{ account: accountOf(input), amount: 0 }],
    message: exitMessage(0),
    stateWrites: writes,
    details: { entryStation: open.station, exitStation: station, fareFen: 0, ...why }
  }
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

function pricedExit (input: RuleInput<MetroTariff>, open: OpenJourney, station: string, metres: number, overtimeSurchargeFen: number): RuleDecision {
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
  // The surcharge is a penalty, not a fare: no discount applies to it and it counts towards no tier.
  return {
    decision: 'approved',
    payments: [{ account: accountOf(input), amount: fareFen + overtimeSurchargeFen }],
    message: exitMessage(fareFen + overtimeSurchargeFen),
    stateWrites: writes,
    details: {
      entryStation: open.station, exitStation: station, distanceKm: metres / 1000, baseFareFen,
      concession: open.policyId, tierDiscountPercent, transferDiscountFen: transfer.discountFen, fareFen,
      ...(overtimeSurchargeFen > 0 ? { overtime: true, overtimeSurchargeFen } : {})
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
