// Hospital settlement at designated hospitals: registration, outpatient and inpatient bills, and
// work-injury bills of injured workers treated in another of the three cities — as the national
// cross-region settlement platform settles them (就医地目录、参保地政策: the catalogue of the place
// of treatment, the policy of the insured place).
//
// The bill is `tap.amount` (the hospital's system prices it) or the tariff's `feeFen` (a flat
// registration fee). `context.selfPaidFen` is the part outside the catalogue (the hospital's system
// classes services and consumables by the treatment city's catalogue; drug classes are national).
// The rest is in scope. Then, by the insured city's policy for the holder's scheme:
//
// 1. scheme: employee insurance (`insured:employee`) or resident insurance (`insured:resident`),
//    holder.ts; neither → NOT_INSURED. Work-injury bills use the work-injury fund and need an open
//    work-injury case (`case:work-injury`, opened by work-injury determination) → NO_WORK_INJURY_CASE.
// 2. deductible (起付线) and fund cap (封顶线) are annual: what was paid towards them this calendar year
//    is kept in state (`medical:<scenario>:years` = {"YYYY": {deductibleFen, fundFen}}, 2 years kept).
// 3. the fund's percent by hospital grade (`context.hospitalGrade` 1|2|3, which the hospital's
//    terminal knows); treated in another city without 备案 registration (`filed:<city>`) the percent
//    is lower by the policy's `unfiledPercentPointsLess`.
// 4. the patient's share: the medical personal account pays what the insured city lets it pay
//    (`personalAccountPays`: none | in-scope-share | patient-share; resident insurance has no
//    personal account), the bank account the rest it can cover, and anything left is CASH DUE at the
//    hospital's till (`details.cashDueFen`) — the fund's share is settled either way, as the platform
//    does: a short bank account never declines the bill.
//
// The fund's share is not a card account, so it moves no money here: `details.fundFen` records it
// for clearing between the fund and the hospital.
import type { CityCode, Message, Payment, RuleDecision, RuleInput, RuleModule, StateReader, StateWrite } from './types.js'
import { declineWith, REFERENCE_PROPERTY } from './decline.js'
import { assertKeepMax, readDatedEntries, withDatedEntry, type DatedEntries } from './dated-entries.js'
import { filedForTreatmentIn, medicalSchemeOf, type MedicalScheme } from './holder.js'
import { caseKey, readCase, type CaseKind } from './identity-check.js'
import { reasonsFor } from './reasons.js'

export type HospitalGrade = '1' | '2' | '3'
export const HOSPITAL_GRADES: readonly HospitalGrade[] = ['1', '2', '3']

export interface SchemePolicy {
  /** The patient pays this much of in-scope costs each calendar year before the fund pays (起付线). */
  annualDeductibleFen: number
  /** Whole percent of in-scope costs above the deductible the fund pays, by hospital grade. */
  fundPercentByGrade: Record<HospitalGrade, number>
  /** Treated in another city without 备案: the percent is this many points lower (never below 0). */
  unfiledPercentPointsLess: number
  /** Most the fund pays in a calendar year (fen); null: no cap. */
  annualFundCapFen: number | null
  /** What the medical personal account may pay: nothing, the patient's in-scope share, or the whole
   *  patient share (in-scope share and self-paid part: the 2021 reform, where the province allows). */
  personalAccountPays: 'none' | 'in-scope-share' | 'patient-share'
}

export type InsuredPolicy = Partial<Record<MedicalScheme, SchemePolicy>>

export interface HospitalTariff {
  /** The fee when the tap carries no amount (tariff-priced scenarios); null: the tap must carry one. */
  feeFen: number | null
  /** Who the fund is, as recorded in details. */
  fund: 'medical-insurance' | 'work-injury'
  /** A case the holder must have open (work-injury settlement needs a work-injury determination). */
  requiresCase?: CaseKind
  /** The fund's percent depends on the grade, so the tap must name it. */
  hospitalGradeRequired: boolean
  /** Keyed by the insured city (the card's issuer city). Work-injury bills use the `employee` entry. */
  insuredPolicies: Partial<Record<CityCode, InsuredPolicy>>
}

export interface YearTotals { deductibleFen: number, fundFen: number }

export interface HospitalSettlement {
  totalFen: number
  selfPaidFen: number
  inScopeFen: number
  deductibleFen: number
  fund: HospitalTariff['fund']
  scheme: MedicalScheme
  hospitalGrade: HospitalGrade | null
  fundPercent: number
  /** Cross-city treatment registered (备案) with the insured city; true when treated at home. */
  filed: boolean
  fundFen: number
  /** What the holder owes: personal account + bank + cash due. */
  patientFen: number
  medicalAccountFen: number
  bankFen: number
  /** What neither card account could cover: paid at the hospital's till. */
  cashDueFen: number
  insuredCity: CityCode
  treatmentCity: CityCode
}

/** Calendar years of deductible and fund totals kept per card and scenario: this one and the last. */
export const YEARS_KEPT = 2
assertKeepMax(YEARS_KEPT)

const REASONS = reasonsFor('NOT_OFFERED_HERE', 'AMOUNT_REQUIRED', 'SELF_PAID_OVER_TOTAL', 'POLICY_UNKNOWN',
  'NOT_INSURED', 'NO_WORK_INJURY_CASE', 'HOSPITAL_GRADE_REQUIRED')

const contextSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    // The part of the bill outside the catalogue, as the hospital's system classed it.
    selfPaidFen: { type: 'integer', minimum: 0, maximum: 1_000_000_000 },
    // The hospital's grade (一级/二级/三级), which the hospital's terminal knows.
    hospitalGrade: { enum: [1, 2, 3] },
    // The hospital's visit or admission number, recorded with the settlement.
    reference: REFERENCE_PROPERTY
  }
}

const declined = declineWith(REASONS)

export function yearTotalsKey (scenario: string): string {
  return `medical:${scenario}:years`
}

function isYearTotals (value: unknown): value is YearTotals {
  const totals = value as Partial<YearTotals> | null
  return typeof totals === 'object' && totals !== null && Number.isSafeInteger(totals.deductibleFen) && Number.isSafeInteger(totals.fundFen)
}

function readYearTotals (state: StateReader, scenario: string): DatedEntries<YearTotals> {
  return readDatedEntries(state.get(yearTotalsKey(scenario)), isYearTotals)
}

/** The grade's percent, or the lowest of the policy when the tap names no grade (not required). */
function basePercent (policy: SchemePolicy, grade: HospitalGrade | null): number {
  return grade === null ? Math.min(...HOSPITAL_GRADES.map(g => policy.fundPercentByGrade[g])) : policy.fundPercentByGrade[grade]
}

export interface SettleInput {
  totalFen: number
  selfPaidFen: number
  fund: HospitalTariff['fund']
  scheme: MedicalScheme
  policy: SchemePolicy
  grade: HospitalGrade | null
  filed: boolean
  year: YearTotals
  balances: { medical: number, bank: number }
  cities: { insuredCity: CityCode, treatmentCity: CityCode }
}

export function settleBill (input: SettleInput): HospitalSettlement {
  const { totalFen, selfPaidFen, policy, scheme, year, balances } = input
  const inScopeFen = totalFen - selfPaidFen
  const deductibleFen = Math.min(Math.max(policy.annualDeductibleFen - year.deductibleFen, 0), inScopeFen)
  const fundPercent = Math.max(basePercent(policy, input.grade) - (input.filed ? 0 : policy.unfiledPercentPointsLess), 0)
  // Rounds down: the fund pays whole fen, the odd fen stays with the patient as the platform does.
  const uncappedFundFen = Math.floor((inScopeFen - deductibleFen) * fundPercent / 100)
  const capLeftFen = policy.annualFundCapFen === null ? uncappedFundFen : Math.max(policy.annualFundCapFen - year.fundFen, 0)
  const fundFen = Math.min(uncappedFundFen, capLeftFen)
  const patientFen = totalFen - fundFen
  const accountMayPayFen = scheme === 'resident' || policy.personalAccountPays === 'none'
    ? 0
    : policy.personalAccountPays === 'in-scope-share' ? inScopeFen - fundFen : patientFen
  const medicalAccountFen = Math.min(accountMayPayFen, Math.max(balances.medical, 0))
  const bankFen = Math.min(patientFen - medicalAccountFen, Math.max(balances.bank, 0))
  return {
    totalFen,
    selfPaidFen,
    inScopeFen,
    deductibleFen,
    fund: input.fund,
    scheme,
    hospitalGrade: input.grade,
    fundPercent,
    filed: input.filed,
    fundFen,
    patientFen,
    medicalAccountFen,
    bankFen,
    cashDueFen: patientFen - medicalAccountFen - bankFen,
    ...input.cities
  }
}

function paymentsOf (settlement: HospitalSettlement): Payment[] {
  const payments: Payment[] = []
  if (settlement.medicalAccountFen > 0) payments.push({ account: 'medical', amount: settlement.medicalAccountFen })
  if (settlement.bankFen > 0) payments.push({ account: 'bank', amount: settlement.bankFen })
  return payments.length > 0 ? payments : [{ account: 'bank', amount: 0 }]
}

function settledMessage (settlement: HospitalSettlement): Message {
  if (settlement.cashDueFen === 0) return { zh: '结算成功', en: 'Settled' }
  const yuan = (settlement.cashDueFen / 100).toFixed(2)
  return { zh: `结算成功，请到收费窗口另付现金${yuan}元`, en: `Settled: ${yuan} yuan is still due at the cashier` }
}

/** The self-paid part of a bill cannot exceed the bill: a malformed request (400). */
function checkRequest (tap: { amount: number | null, context: Record<string, unknown> }): string | undefined {
  const selfPaidFen = typeof tap.context.selfPaidFen === 'number' ? tap.context.selfPaidFen : 0
  return tap.amount !== null && selfPaidFen > tap.amount ? `context.selfPaidFen ${selfPaidFen} is more than the amount ${tap.amount}` : undefined
}

function gradeOf (context: Record<string, unknown>): HospitalGrade | null {
  const grade = context.hospitalGrade
  return grade === 1 || grade === 2 || grade === 3 ? String(grade) as HospitalGrade : null
}

function decide ({ tap, card, terminal, tariff, state }: RuleInput<HospitalTariff | undefined>): RuleDecision {
  if (tariff === undefined) return declined('NOT_OFFERED_HERE')
  const totalFen = tap.amount ?? tariff.feeFen
  if (totalFen === null) return declined('AMOUNT_REQUIRED')
  const selfPaidFen = typeof tap.context.selfPaidFen === 'number' ? tap.context.selfPaidFen : 0
  // Unreachable through the API (checkRequest answers 400 first); kept so the pure function is total.
  if (selfPaidFen > totalFen) return declined('SELF_PAID_OVER_TOTAL', { totalFen, selfPaidFen })
  const grade = gradeOf(tap.context)
  if (tariff.hospitalGradeRequired && grade === null) return declined('HOSPITAL_GRADE_REQUIRED')
  if (tariff.requiresCase !== undefined && readCase(state.get(caseKey(tariff.requiresCase))) === null) {
    return declined('NO_WORK_INJURY_CASE')
  }
  // Work-injury insurance is the employer's, for employees: its bills use the employee entry.
  const scheme = tariff.fund === 'work-injury' ? 'employee' : medicalSchemeOf(card)
  if (scheme === null) return declined('NOT_INSURED')
  const policy = tariff.insuredPolicies[card.issuerCity]?.[scheme]
  if (policy === undefined) return declined('POLICY_UNKNOWN', { insuredCity: card.issuerCity, scheme })
  const years = readYearTotals(state, terminal.scenario)
  const year = years[String(tap.at.year)] ?? { deductibleFen: 0, fundFen: 0 }
  const settlement = settleBill({
    totalFen,
    selfPaidFen,
    fund: tariff.fund,
    scheme,
    policy,
    grade,
    filed: card.issuerCity === terminal.city || filedForTreatmentIn(card, terminal.city),
    year,
    balances: card.balances,
    cities: { insuredCity: card.issuerCity, treatmentCity: terminal.city }
  })
  const after: YearTotals = { deductibleFen: year.deductibleFen + settlement.deductibleFen, fundFen: year.fundFen + settlement.fundFen }
  const stateWrites: StateWrite[] = after.deductibleFen === year.deductibleFen && after.fundFen === year.fundFen
    ? []
    : [{ key: yearTotalsKey(terminal.scenario), value: withDatedEntry(years, String(tap.at.year), after, YEARS_KEPT) }]
  return {
    decision: 'approved',
    payments: paymentsOf(settlement),
    message: settledMessage(settlement),
    ...(stateWrites.length > 0 ? { stateWrites } : {}),
    details: { ...settlement, yearDeductibleFen: after.deductibleFen, yearFundFen: after.fundFen, reference: tap.context.reference ?? null }
  }
}

export const hospitalSettlement: RuleModule<HospitalTariff | undefined> = {
  code: 'hospital-settlement',
  contextSchema,
  reasons: REASONS,
  // A cancelled settlement is the lead's generic reversal. It gives the card its money back but does
  // not yet take the settlement out of the annual totals (recorded in docs/rules-venues.md).
  reversible: true,
  checkRequest,
  decide
}
