// Payments priced at the terminal — highway ETC tolls, ferry tickets, water/electricity/gas bills,
// bank payments: `tap.amount` from the card's bank account, within the scenario's limits per city
// (fixtures/tariffs/<scenario>.json).
//
// An optional daily cap per card keeps a total per local date under one key
// (`payment:<scenario>:days` = {"YYYY-MM-DD": amountFen}, the newest DAY_TOTALS_KEPT dates).
// Backdating `at` must not buy fresh headroom (issue 13 item 3: alternating today and yesterday
// approved 9,000 yuan against a 5,000 cap when one date per card was kept):
// - a capped payment counts against the later of its own local date and the newest date already
//   counted, so once today is counted, a tap dated yesterday is counted today;
// - a capped payment dated more than BACKDATE_DAYS_MAX days before the newest date counted, or
//   (when the service passes `tap.receivedAtMs`) more than the tariff's `backdateMinutesMax`
//   before the moment the service received it, is declined TAP_TOO_OLD: payments are online, so
//   an old `at` is either a clock fault or an attempt on the cap.
import type { Message, RuleDecision, RuleInput, RuleModule, StateWrite } from './types.js'
import { declineWith, REFERENCE_CONTEXT_SCHEMA } from './decline.js'
import { assertKeepMax, isCountFen, newestPeriod, readDatedEntries, withDatedEntry, type DatedEntries } from './dated-entries.js'
import { reasonsFor } from './reasons.js'

export interface PaymentTariff {
  /** Smallest amount one tap may pay (fen); a 0-fen bill is a terminal mistake, not a payment. */
  amountFenMin: number
  /** Largest amount one tap may pay (fen), e.g. the card's no-PIN limit. */
  amountFenMax: number
  /** Total a card may pay in this scenario in one local day (fen); null: no cap, no state. */
  dailyAmountFenMax: number | null
  /** How long before the service received it a capped payment may be dated (minutes); absent: only
   *  the date rule applies. Used when the tap carries `receivedAtMs`. */
  backdateMinutesMax?: number
  /** Bills need the customer or bill number to be credited; tolls and tickets do not. */
  referenceRequired: boolean
  message: Message
}

/** Dates of daily totals kept per card and scenario: today, and enough behind it to judge backdating. */
export const DAY_TOTALS_KEPT = 3
/** A capped payment may be dated at most this many days before the newest date counted. */
export const BACKDATE_DAYS_MAX = 1
assertKeepMax(DAY_TOTALS_KEPT)
if (BACKDATE_DAYS_MAX >= DAY_TOTALS_KEPT) throw new Error('BACKDATE_DAYS_MAX must be inside the kept dates')

const DAY_MS = 86_400_000
const MINUTE_MS = 60_000

const REASONS = reasonsFor('NOT_OFFERED_HERE', 'AMOUNT_REQUIRED', 'AMOUNT_LIMIT', 'DAILY_LIMIT', 'TAP_TOO_OLD', 'REFERENCE_REQUIRED')

const contextSchema = REFERENCE_CONTEXT_SCHEMA

const declined = declineWith(REASONS)

export function dayTotalsKey (scenario: string): string {
  return `payment:${scenario}:days`
}

function daysBetween (fromDate: string, toDate: string): number {
  return Math.round((Date.parse(toDate) - Date.parse(fromDate)) / DAY_MS)
}

interface CapCheck { countedOn: string, paidFen: number, totals: DatedEntries<number> }

/** Where a capped payment is counted, or why it may not be. */
function capCheck (input: RuleInput<PaymentTariff>, cap: number, amountFen: number): CapCheck | RuleDecision {
  const { tap, terminal, tariff, state } = input
  if (tap.receivedAtMs !== undefined && tariff.backdateMinutesMax !== undefined &&
      tap.receivedAtMs - tap.at.epochMs > tariff.backdateMinutesMax * MINUTE_MS) {
    return declined('TAP_TOO_OLD', { backdateMinutesMax: tariff.backdateMinutesMax })
  }
  const totals = readDatedEntries(state.get(dayTotalsKey(terminal.scenario)), isCountFen)
  const newest = newestPeriod(totals)
  if (newest !== null && daysBetween(tap.at.date, newest) > BACKDATE_DAYS_MAX) {
    return declined('TAP_TOO_OLD', { newestCountedOn: newest, backdateDaysMax: BACKDATE_DAYS_MAX })
  }
  const countedOn = newest !== null && newest > tap.at.date ? newest : tap.at.date
  const paidFen = totals[countedOn] ?? 0
  if (paidFen + amountFen > cap) return declined('DAILY_LIMIT', { dailyAmountFenMax: cap, paidTodayFen: paidFen, countedOn })
  return { countedOn, paidFen, totals }
}

function decide (input: RuleInput<PaymentTariff | undefined>): RuleDecision {
  const { tap, terminal, tariff } = input
  if (tariff === undefined) return declined('NOT_OFFERED_HERE')
  const amountFen = tap.amount
  if (amountFen === null) return declined('AMOUNT_REQUIRED')
  if (amountFen < tariff.amountFenMin || amountFen > tariff.amountFenMax) {
    return declined('AMOUNT_LIMIT', { amountFenMin: tariff.amountFenMin, amountFenMax: tariff.amountFenMax })
  }
  const reference = typeof tap.context.reference === 'string' ? tap.context.reference : null
  if (tariff.referenceRequired && reference === null) return declined('REFERENCE_REQUIRED')
  let stateWrites: StateWrite[] = []
  if (tariff.dailyAmountFenMax !== null) {
    // Read only when capped, so uncapped scenarios cost no state read.
    const check = capCheck(input as RuleInput<PaymentTariff>, tariff.dailyAmountFenMax, amountFen)
    if ('decision' in check) return check
    const totals = withDatedEntry(check.totals, check.countedOn, check.paidFen + amountFen, DAY_TOTALS_KEPT)
    stateWrites = [{ key: dayTotalsKey(terminal.scenario), value: totals }]
  }
  return {
    decision: 'approved',
    payments: [{ account: 'bank', amount: amountFen }],
    message: tariff.message,
    ...(stateWrites.length > 0 ? { stateWrites } : {}),
    details: { reference }
  }
}

export const terminalPayment: RuleModule<PaymentTariff | undefined> = {
  code: 'terminal-payment',
  contextSchema,
  reasons: REASONS,
  reversible: false,
  decide
}
