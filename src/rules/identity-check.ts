// Identity checks at HR, medical-insurance and government counters (employment and insurance
// registration, insurance transfer, benefit certification, work-injury determination, medical
// identity, government identity): the card is the proof of identity. The engine has already checked
// the card (known, active, not expired, accepted issuer), so a check is approved with nothing to pay.
//
// A scenario whose tariff sets a `period` (benefit certification: once a year) keeps the date of the
// last check in state (`identity:<scenario>`); a repeat within the period is approved again without
// changing it, or declined, as the tariff says. Without a period nothing is kept: the tap record is
// the record of the check.
import type { Message, RuleDecision, RuleInput, RuleModule, StateWrite } from './types.js'
import { reasonsFor } from './reasons.js'
import { declineWith, REFERENCE_CONTEXT_SCHEMA } from './decline.js'

export type CheckPeriod = 'year' | 'month' | 'day'

export interface IdentityTariff {
  /** The card needs this check at most once per calendar period; null: no limit, no state. */
  period: CheckPeriod | null
  /** A check again within the period: `approve` (nothing changes) or `decline` (ALREADY_CHECKED). */
  repeatInPeriod: 'approve' | 'decline'
  /** What the terminal shows on approval. */
  message: Message
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
  const details: Record<string, unknown> = {
    scenario: terminal.scenario,
    checkedOn: tap.at.date,
    insuredCity: card.issuerCity,
    crossCity: card.issuerCity !== terminal.city,
    reference: tap.context.reference ?? null
  }
  if (tariff.period === null) return approvedCheck(tariff, details)
  const stateKey = `identity:${terminal.scenario}`
  const lastOn = state.get(stateKey)
  const repeat = typeof lastOn === 'string' && periodOf(lastOn, tariff.period) === periodOf(tap.at.date, tariff.period)
  if (!repeat) return approvedCheck(tariff, details, [{ key: stateKey, value: tap.at.date }])
  if (tariff.repeatInPeriod === 'decline') {
    return declined('ALREADY_CHECKED', { lastCheckedOn: lastOn })
  }
  return approvedCheck(tariff, { ...details, alreadyCheckedOn: lastOn })
}

export const identityCheck: RuleModule<IdentityTariff | undefined> = {
  code: 'identity-check',
  contextSchema,
  reasons: REASONS,
  reversible: false,
  decide
}
