// Bus: one tap when boarding, a flat fare per city and route class (fixtures/tariffs/bus.json),
// then the city's concessions (free / half), then Qingdao's transfer discount. Paid from the
// scenario's account (the card's bank account).
//
// A second tap of the same card on the same validator within `duplicateTapMinutes` is a rider
// tapping twice, not a second fare: it is declined DUPLICATE_TAP and charges nothing.
import { applyFareLevel, freeRideWrite, transitConcession, type ConcessionCity, type Policies, type TransitConcession } from './concessions.js'
import { yuanText } from './fare-bands.js'
import { applyTransferDiscount, isTransfer, lastLegWrite, readLastLeg } from './transit-transfer.js'
import { declineWith } from './decline.js'
import { reasonsFor } from './reasons.js'
import type { AccountKind, Message, RuleDecision, RuleInput, RuleModule, StateReader, StateWrite } from './types.js'

export interface BusTariff {
  /** Ordinary flat fare in fen. */
  fareFen: number
  /** Fare per vehicle class in fen (e.g. air-conditioned, express). */
  fareClasses?: Record<string, number>
  /** Route id (the terminal's registered `location.line`) → fare class. Unlisted routes pay fareFen. */
  routes?: Record<string, string>
  duplicateTapMinutes: number
}

export const LAST_BUS_TAP_KEY = 'bus:last'

interface LastBusTap { terminalId: string, atMs: number }

const MINUTE_MS = 60_000

const REASONS = reasonsFor('DUPLICATE_TAP')

const declined = declineWith(REASONS)

export const bus: RuleModule<BusTariff> = {
  code: 'bus',
  contextSchema: { type: 'object', additionalProperties: false, properties: {} },
  reasons: REASONS,
  reversible: false,
  decide: decideBusTap
}

function decideBusTap (input: RuleInput<BusTariff>): RuleDecision {
  const { tap, terminal, tariff, state } = input
  if (isDuplicateTap(readLastBusTap(state), terminal.terminalId, tap.at.epochMs, tariff.duplicateTapMinutes)) {
    return declined('DUPLICATE_TAP')
  }
  const policies = input.policies as Policies
  const city = input.city as ConcessionCity
  const baseFareFen = routeFareFen(tariff, terminal.location.line)
  const concession = transitConcession({ card: input.card, at: tap.at, mode: 'bus', city, policies, state })
  const concessionFareFen = applyFareLevel(baseFareFen, concession.level)
  const transfer = transferFor(input, policies, concessionFareFen)
  const fareFen = concessionFareFen - transfer.discountFen
  const account: AccountKind = input.scenario.accounts[0] ?? 'bank'
  return {
    decision: 'approved',
    payments: [{ account, amount: fareFen }],
    message: rideMessage(fareFen),
    stateWrites: busStateWrites(input, policies, concession, transfer.discountFen > 0),
    details: {
      baseFareFen, concession: concession.policyId, allowanceExhausted: concession.allowanceExhausted,
      transferDiscountFen: transfer.discountFen, fareFen
    }
  }
}

function readLastBusTap (state: StateReader): LastBusTap | null {
  const value = state.get(LAST_BUS_TAP_KEY)
  if (typeof value !== 'object' || value === null) return null
  const last = value as Partial<LastBusTap>
  return typeof last.terminalId === 'string' && typeof last.atMs === 'number' ? last as LastBusTap : null
}

// Both directions count: a store-and-forward validator may upload the later tap first.
function isDuplicateTap (last: LastBusTap | null, terminalId: string, atMs: number, windowMinutes: number): boolean {
  return last !== null && last.terminalId === terminalId && Math.abs(atMs - last.atMs) < windowMinutes * MINUTE_MS
}

export function routeFareFen (tariff: BusTariff, route: string | undefined): number {
  const fareClass = route === undefined ? undefined : tariff.routes?.[route]
  const classFareFen = fareClass === undefined ? undefined : tariff.fareClasses?.[fareClass]
  return classFareFen ?? tariff.fareFen
}

function transferFor (input: RuleInput<BusTariff>, policies: Policies, fareFen: number): { discountFen: number } {
  const policy = policies.transit.transfers[input.terminal.city]
  const next = { city: input.terminal.city, mode: 'bus' as const, startMs: input.tap.at.epochMs }
  if (policy === undefined || fareFen === 0 || !isTransfer(policy, readLastLeg(input.state), next)) return { discountFen: 0 }
  return applyTransferDiscount(fareFen, policy)
}

function busStateWrites (input: RuleInput<BusTariff>, policies: Policies, concession: TransitConcession, transferred: boolean): StateWrite[] {
  const { tap, terminal, state } = input
  const writes: StateWrite[] = [{ key: LAST_BUS_TAP_KEY, value: { terminalId: terminal.terminalId, atMs: tap.at.epochMs } }]
  // Only cities with a transfer discount need to remember the last leg.
  if (policies.transit.transfers[terminal.city] !== undefined) {
    writes.push(lastLegWrite({ city: terminal.city, mode: 'bus', atMs: tap.at.epochMs, transferred }))
  }
  if (concession.usesAllowance) writes.push(freeRideWrite(state, tap.at.month))
  return writes
}

function rideMessage (fareFen: number): Message {
  if (fareFen === 0) return { zh: '免费乘车', en: 'Free ride' }
  const yuan = yuanText(fareFen)
  return { zh: `乘车成功，扣费${yuan}元`, en: `Have a good ride: ${yuan} yuan` }
}
