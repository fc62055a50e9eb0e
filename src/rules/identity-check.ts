// Identity checks at HR, medical-insurance and government counters (employment and insurance
// registration, insurance transfer, benefit certification, work-injury determination, medical
// identity, government identity): the card is the proof of identity. The engine has already checked
// the card (known, active, not expired, accepted issuer); the tariff's `eligibility` says who the
// service is for (working age, a pensioner, an insured person: holder categories of holder.ts), and
// a holder outside it is declined NOT_ELIGIBLE naming the requirement. Nothing is paid.
//
// A tariff with `opensCase` (work-injury determination) records the case in state
// (`case:<kind>` = {openedOn, city, reference}); work-injury settlement requires it (see
// hospital-settlement.ts). One case per kind per card: a new application replaces the old record.
//
// A scenario whose tariff sets a `period` (benefit certification: once a year) keeps the date of the
// last check in state (`identity:<scenario>`); a repeat within the period is approved again without
// changing it, or declined, as the tariff says. Without a period nothing is kept: the tap record is
// the record of the check.
import type { CardFacts, LocalTime, Message, RuleDecision, RuleInput, RuleModule, StateWrite } from './types.js'
import { holderAgeOn } from './concessions.js'
import { hasCategory } from './holder.js'
import { reasonsFor } from './reasons.js'
import { declineWith, REFERENCE_CONTEXT_SCHEMA } from './decline.js'

export type CheckPeriod = 'year' | 'month' | 'day'

export interface IdentityTariff {
  /** The card needs this check at most once per calendar period; null: no limit, no state. */
  period: CheckPeriod | null
  /** A check again within the period: `approve` (nothing changes) or `decline` (ALREADY_CHECKED). */
  repeatInPeriod: 'approve' | 'decline'
  /** Who the service is for; absent: anyone with a valid card. */
  eligibility?: Eligibility
  /** An approved check opens a case of this kind that another scenario requires. */
  opensCase?: CaseKind
  /** What the terminal shows on approval. */
  message: Message
}

/** Inclusive age bounds in whole years on the tap's local date; categories from holder.ts. */
export interface Eligibility {
  ageMin?: number
  ageMax?: number
  /** The holder must carry at least one of these categories. */
  categoriesAny?: string[]
  /** The holder must carry none of these (a pensioner does not register new employment). */
  categoriesNone?: string[]
}

export type CaseKind = 'work-injury'

export interface OpenCase { openedOn: string, city: string, reference: string | null }

export function caseKey (kind: CaseKind): string {
  return `case:${kind}`
}

export function readCase (stored: unknown): OpenCase | null {
  const open = stored as Partial<OpenCase> | null
  return typeof open === 'object' && open !== null && typeof open.openedOn === 'string' && typeof open.city === 'string'
    ? { openedOn: open.openedOn, city: open.city, reference: typeof open.reference === 'string' ? open.reference : null }
    : null
}

/** The first requirement the holder misses, or null. An age bound needs a known birth date. */
export function unmetRequirement (eligibility: Eligibility | undefined, card: CardFacts, at: LocalTime): Record<string, unknown> | null {
  if (eligibility === undefined) return null
  const { ageMin, ageMax, categoriesAny, categoriesNone } = eligibility
  if (ageMin !== undefined || ageMax !== undefined) {
    const age = holderAgeOn(card, at)
    if (age === null) return { requirement: 'birthDate' }
    if (ageMin !== undefined && age < ageMin) return { requirement: 'ageMin', ageMin }
    if (ageMax !== undefined && age > ageMax) return { requirement: 'ageMax', ageMax }
  }
  if (categoriesAny !== undefined && !categoriesAny.some(category => hasCategory(card, category))) {
    return { requirement: 'categoriesAny', categoriesAny }
  }
  // The tariff's list, not which of the holder's categories matched: the counter learns that the
  // holder is outside the service, not that they are (say) a retiree.
  if (categoriesNone?.some(category => hasCategory(card, category)) === true) return { requirement: 'categoriesNone', categoriesNone }
  return null
}

const REASONS = reasonsFor('NOT_OFFERED_HERE', 'NOT_ELIGIBLE', 'ALREADY_CHECKED')

const contextSchema = REFERENCE_CONTEXT_SCHEMA

const declined = declineWith(REASONS)

/** The part of a `YYYY-MM-DD` date that names its period. */
function periodOf (date: string, period: CheckPeriod): string {
  if (period === 'year') return date.slice(0, 4)
  if (period === 'month') return date.slice(0, 7)
  return date
}

function approvedCheck (tariff: IdentityTariff, details: Record<string, unknown>, stateWrites: StateWrite[] = []): RuleDecision {
  return {
    decision: 'approved',
    payments: [{ account: 'bank', amount: 0 }],
    message: tariff.message,
    ...(stateWrites.length > 0 ? { stateWrites } : {}),
    details
  }
}

function decide ({ tap, card, terminal, tariff, state }: RuleInput<IdentityTariff | undefined>): RuleDecision {
  if (tariff === undefined) return declined('NOT_OFFERED_HERE')
  const unmet = unmetRequirement(tariff.eligibility, card, tap.at)
  if (unmet !== null) return declined('NOT_ELIGIBLE', unmet)
  const reference = typeof tap.context.reference === 'string' ? tap.context.reference : null
  const details: Record<string, unknown> = {
    scenario: terminal.scenario,
    checkedOn: tap.at.date,
    insuredCity: card.issuerCity,
    crossCity: card.issuerCity !== terminal.city,
    reference
  }
  const caseWrites: StateWrite[] = tariff.opensCase === undefined
    ? []
    : [{ key: caseKey(tariff.opensCase), value: { openedOn: tap.at.date, city: terminal.city, reference } satisfies OpenCase }]
  if (tariff.opensCase !== undefined) details.caseOpened = tariff.opensCase
  if (tariff.period === null) return approvedCheck(tariff, details, caseWrites)
  const stateKey = `identity:${terminal.scenario}`
  const lastOn = state.get(stateKey)
  const repeat = typeof lastOn === 'string' && periodOf(lastOn, tariff.period) === periodOf(tap.at.date, tariff.period)
  if (!repeat) return approvedCheck(tariff, details, [...caseWrites, { key: stateKey, value: tap.at.date }])
  if (tariff.repeatInPeriod === 'decline') {
    return declined('ALREADY_CHECKED', { lastCheckedOn: lastOn })
  }
  return approvedCheck(tariff, { ...details, alreadyCheckedOn: lastOn }, caseWrites)
}

export const identityCheck: RuleModule<IdentityTariff | undefined> = {
  code: 'identity-check',
  contextSchema,
  reasons: REASONS,
  reversible: false,
  identityOnly: true,
  decide
}
