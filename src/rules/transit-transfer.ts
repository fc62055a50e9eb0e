// Transfer discount shared by bus and metro (Qingdao: one transfer within 60 minutes, bus↔bus or
// bus↔metro, is 1 yuan cheaper; free when the second leg costs ≤ 1 yuan). Policy per city in
// fixtures/policies.json `transit.transfers`; a city without an entry has no transfer discount.
//
// Both modules share one per-card key, `transit:lastLeg`: the last leg's mode, city and the moment
// it ended as far as we know (bus: the boarding tap; metro: the exit tap). A leg that was itself
// discounted as a transfer starts no new transfer, so a chain bus→bus→bus gets one discount.
import type { TransitMode } from './concessions.js'
import type { StateReader, StateWrite } from './types.js'

export interface TransferPolicy {
  windowMinutes: number
  discountFen: number
  /** Allowed [first leg, second leg] mode pairs. */
  pairs: Array<[TransitMode, TransitMode]>
}

export interface LastLeg {
  city: string
  mode: TransitMode
  /** Epoch ms the leg ended (bus: boarding tap; metro: exit tap). */
  atMs: number
  /** This leg got a transfer discount itself. */
  transferred: boolean
}

export const LAST_LEG_KEY = 'transit:lastLeg'

const MINUTE_MS = 60_000

export function readLastLeg (state: StateReader): LastLeg | null {
  const value = state.get(LAST_LEG_KEY)
  if (typeof value !== 'object' || value === null) return null
  const leg = value as Partial<LastLeg>
  if (typeof leg.city !== 'string' || typeof leg.atMs !== 'number' || typeof leg.transferred !== 'boolean') return null
  if (leg.mode !== 'bus' && leg.mode !== 'metro') return null
  return leg as LastLeg
}

export interface NextLeg { city: string, mode: TransitMode, startMs: number }

/** Whether the leg starting now is a discounted transfer from the last leg. */
export function isTransfer (policy: TransferPolicy | undefined, last: LastLeg | null, next: NextLeg): boolean {
  if (policy === undefined || last === null) return false
  if (last.transferred || last.city !== next.city) return false
  const gapMs = next.startMs - last.atMs
  if (gapMs < 0 || gapMs > policy.windowMinutes * MINUTE_MS) return false
  return policy.pairs.some(([first, second]) => first === last.mode && second === next.mode)
}

/** The second leg's fare after the discount (never below zero) and what was taken off. */
export function applyTransferDiscount (fareFen: number, policy: TransferPolicy): { fareFen: number, discountFen: number } {
  const discountFen = Math.min(fareFen, policy.discountFen)
  return { fareFen: fareFen - discountFen, discountFen }
}

export function lastLegWrite (leg: LastLeg): StateWrite {
  return { key: LAST_LEG_KEY, value: leg }
}
