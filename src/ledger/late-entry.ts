// Offline metro exits that reach the ledger before their entry (the exit gate uploaded first). The
// exit was let through, so it is charged now, at the module's provisional amount (the maximum
// fare: what an unfinished journey costs), and remembered on the card. When a tap dated before it
// arrives at an entry of the same city, the entry is decided without touching the journey the card
// has open now, the exit is priced again as the journey that entry began, and the difference is
// refunded: the rider pays the real fare, not the maximum for good (issue #10).
import { AT_PAST_MS_MAX_UPLOAD, LATE_ENTRY_WAITING_PER_CARD_MAX } from '../constants.js'
import type { CityCode, StateReader, TerminalFacts } from '../rules/types.js'

/** card_state key of the exits waiting for their entry. */
export const AWAITING_ENTRY_KEY = 'offline:awaiting-entry'

export interface AwaitingExit {
  terminal: TerminalFacts
  tapId: string
  /** The exit's `at` as the terminal sent it. */
  at: string
  context: Record<string, unknown>
  cardType: 'physical' | 'qr'
  /** How the provisional charge was paid: the refund of the difference undoes it. */
  chargedFen: number
  bankFen: number
  medicalFen: number
  debtFen: number
  operatorAccountId: number
}

export function awaitingExits (state: StateReader): AwaitingExit[] {
  const value = state.get(AWAITING_ENTRY_KEY)
  return Array.isArray(value) ? value as AwaitingExit[] : []
}

/** The waiting exit a late entry of `city` at `atMs` began: the earliest one after it. */
export function exitForEntry (waiting: AwaitingExit[], city: CityCode, atMs: number): AwaitingExit | undefined {
  let found: AwaitingExit | undefined
  for (const exit of waiting) {
    const exitMs = Date.parse(exit.at)
    if (exit.terminal.city !== city || exitMs <= atMs) continue
    if (found === undefined || exitMs < Date.parse(found.at)) found = exit
  }
  return found
}

/** The list with one exit added (bounded: the oldest beyond the bound keeps its provisional
 *  charge) or removed, and when the row may go: no exit waits longer than an upload may be late. */
export function awaitingWrite (waiting: AwaitingExit[], change: { add: AwaitingExit } | { remove: AwaitingExit }): { value: AwaitingExit[] | null, expiresAtMs?: number } {
  let next = 'add' in change
    ? [...waiting, change.add]
    : waiting.filter(exit => !(exit.tapId === change.remove.tapId && exit.terminal.terminalId === change.remove.terminal.terminalId))
  next.sort((a, b) => Date.parse(a.at) - Date.parse(b.at))
  if (next.length > LATE_ENTRY_WAITING_PER_CARD_MAX) next = next.slice(next.length - LATE_ENTRY_WAITING_PER_CARD_MAX)
  if (next.length === 0) return { value: null }
  return { value: next, expiresAtMs: Math.max(...next.map(exit => Date.parse(exit.at))) + AT_PAST_MS_MAX_UPLOAD }
}

/** A state reader that answers some keys from `overrides` (null: as if absent). */
export function overlayState (base: StateReader, overrides: Map<string, unknown>): StateReader {
  return { get: key => overrides.has(key) ? (overrides.get(key) ?? undefined) : base.get(key) }
}
