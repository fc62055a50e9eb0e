// Hospital settlement at designated hospitals: registration, outpatient and inpatient bills, and
// work-injury bills of injured workers treated in another of the three cities.
//
// The bill is `tap.amount` (the hospital's system prices it), or the tariff's `feeFen` when the
// scenario is priced by tariff (a flat registration fee). The context may say how much of it lies
// outside the catalogue (`selfPaidFen`): that part is the patient's, from the bank account only.
// Of the rest (in scope), the patient pays the insured city's deductible, then the fund pays its
// percent up to its cap, and the patient's share falls to the medical personal account first, the
// bank account for what the personal account cannot cover.
//
// The fund's share is not a card account, so it moves no money here: `details.fundFen` records it
// for clearing between the fund and the hospital. Work-injury settlement is the same rule with the
// work-injury fund paying 100% of in-scope costs and the medical personal account not used: the card
// pays only what lies outside the catalogue.
//
// As for pharmacies, the policy is the insured city's (the card's issuer city): each treatment city's
// tariff entry carries the policies of all three insured cities.
import type { CityCode, Message, Payment, RuleDecision, RuleInput, RuleModule } from './types.js'
import { declineWith, REFERENCE_PROPERTY } from './decline.js'

export interface SettlementPolicy {
  /** The patient pays this much of the in-scope amount first (起付线), per settlement. */
  deductibleFen: number
  /** Whole percent of the in-scope amount above the deductible the fund pays. */
  fundPercent: number
  /** Most the fund pays for one settlement (fen); null: no cap. */
  fundCapFen: number | null
}

export interface HospitalTariff {
  /** The fee when the tap carries no amount (tariff-priced scenarios); null: the tap must carry one. */
  feeFen: number | null
  /** Who the fund is, as recorded in details. */
  fund: 'medical-insurance' | 'work-injury'
  /** Whether the medical personal account may pay the patient's in-scope share. */
  medicalAccountPays: boolean
  insuredPolicies: Partial<Record<CityCode, SettlementPolicy>>
}

export interface HospitalSettlement {
  totalFen: number
  selfPaidFen: number
  inScopeFen: number
  deductibleFen: number
  fund: HospitalTariff['fund']
  fundFen: number
  /** What the card pays: medical account + bank. */
  patientFen: number
  medicalAccountFen: number
  bankFen: number
  insuredCity: CityCode
  treatmentCity: CityCode
}

const REASONS: Record<string, Message> = {
  NOT_OFFERED_HERE: { zh: '本市未开通该业务', en: 'This service is not offered in this city' },
  AMOUNT_REQUIRED: { zh: '缺少结算金额', en: 'The amount is missing' },
  AMOUNT_MISMATCH: { zh: '自费金额大于结算总额', en: 'The self-paid part is more than the total' },
  POLICY_UNKNOWN: { zh: '无参保地政策', en: 'No policy for the insured city' }
}

const contextSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    // The part of the bill outside the catalogue, as the hospital's system classed it.
    selfPaidFen: { type: 'integer', minimum: 0, maximum: 1_000_000_000 },
    // The hospital's visit or admission number, recorded with the settlement.
    reference: REFERENCE_PROPERTY
  }
}

const declined = declineWith(REASONS)

/** Rounds down: the fund pays whole fen, the odd fen stays with the patient as the platform does. */
function fundShare (inScopeFen: number, policy: SettlementPolicy): { deductibleFen: number, fundFen: number } {
  const deductibleFen = Math.min(policy.deductibleFen, inScopeFen)
  const fundFen = Math.floor((inScopeFen - deductibleFen) * policy.fundPercent / 100)
  return { deductibleFen, fundFen: policy.fundCapFen === null ? fundFen : Math.min(fundFen, policy.fundCapFen) }
}

export function settleBill (totalFen: number, selfPaidFen: number, tariff: HospitalTariff, policy: SettlementPolicy,
  medicalBalanceFen: number, cities: { insuredCity: CityCode, treatmentCity: CityCode }): HospitalSettlement {
  const inScopeFen = totalFen - selfPaidFen
  const { deductibleFen, fundFen } = fundShare(inScopeFen, policy)
  const patientInScopeFen = inScopeFen - fundFen
  const medicalAccountFen = tariff.medicalAccountPays ? Math.min(patientInScopeFen, Math.max(medicalBalanceFen, 0)) : 0
  const patientFen = totalFen - fundFen
  return {
    totalFen,
    selfPaidFen,
    inScopeFen,
    deductibleFen,
    fund: tariff.fund,
    fundFen,
    patientFen,
    medicalAccountFen,
    bankFen: patientFen - medicalAccountFen,
    ...cities
  }
}

function paymentsOf (settlement: HospitalSettlement): Payment[] {
  const payments: Payment[] = []
  if (settlement.medicalAccountFen > 0) payments.push({ account: 'medical', amount: settlement.medicalAccountFen })
  if (settlement.bankFen > 0) payments.push({ account: 'bank', amount: settlement.bankFen })
  return payments.length > 0 ? payments : [{ account: 'bank', amount: 0 }]
}

/** The self-paid part of a bill cannot exceed the bill: a malformed request (400). */
function checkRequest (tap: { amount: number | null, context: Record<string, unknown> }): string | undefined {
  const selfPaidFen = typeof tap.context.selfPaidFen === 'number' ? tap.context.selfPaidFen : 0
  return tap.amount !== null && selfPaidFen > tap.amount ? `context.selfPaidFen ${selfPaidFen} is more than the amount ${tap.amount}` : undefined
}

function decide ({ tap, card, terminal, tariff }: RuleInput<HospitalTariff | undefined>): RuleDecision {
  if (tariff === undefined) return declined('NOT_OFFERED_HERE')
  const totalFen = tap.amount ?? tariff.feeFen
  if (totalFen === null) return declined('AMOUNT_REQUIRED')
  const selfPaidFen = typeof tap.context.selfPaidFen === 'number' ? tap.context.selfPaidFen : 0
  if (selfPaidFen > totalFen) return declined('AMOUNT_MISMATCH', { totalFen, selfPaidFen })
  const policy = tariff.insuredPolicies[card.issuerCity]
  if (policy === undefined) return declined('POLICY_UNKNOWN', { insuredCity: card.issuerCity })
  const settlement = settleBill(totalFen, selfPaidFen, tariff, policy, card.balances.medical,
    { insuredCity: card.issuerCity, treatmentCity: terminal.city })
  return {
    decision: 'approved',
    payments: paymentsOf(settlement),
    message: { zh: '结算成功', en: 'Settled' },
    details: { ...settlement, reference: tap.context.reference ?? null }
  }
}

export const hospitalSettlement: RuleModule<HospitalTariff | undefined> = {
  code: 'hospital-settlement',
  contextSchema,
  reasons: REASONS,
  // A cancelled settlement is the lead's generic reversal; nothing here is kept in state.
  reversible: true,
  checkRequest,
  decide
}
