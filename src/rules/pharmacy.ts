// Designated pharmacy purchases: a basket priced at the terminal, settled like the national
// platform's 2102 answer — "catalogue of the place of treatment, policy of the insured place":
//
// - Each item's class (A, B, self): a drug's from the national drug catalogue (policies.json
//   `medical.drugCatalogue`: drug classes are national), a service's or consumable's from the
//   terminal city's catalogue (those differ by place of treatment); a code listed in neither keeps
//   the class the terminal sent, or counts as self-paid when the tariff says `unlistedCodes: "self"`.
// - The Class-B first share percent is the insured city's (the card's issuer city).
// - The medical personal account pays Class A in full and Class B after the first share; it never
//   pays self-paid items nor the first share. The bank account pays those, and whatever catalogue
//   part the medical account cannot cover (a short personal account does not decline the basket).
//
// The tariff engine passes only the terminal city's entry, so each city's entry carries the
// insured-place policies of all three cities (the treatment place's copy of them, as the national
// platform distributes them); the tests check that the three copies agree.
import type { CityCode, Message, Payment, RuleDecision, RuleInput, RuleModule } from './types.js'
import { reasonsFor } from './reasons.js'
import { declineWith } from './decline.js'

export type DrugClass = 'A' | 'B' | 'self'

export interface InsuredPolicy {
  /** Class B: the whole percent of each item the patient pays first, outside the personal account. */
  classBFirstSharePercent: number
}

/** The part of fixtures/policies.json the pharmacy reads. */
export interface MedicalPolicies { medical?: { drugCatalogue?: Record<string, DrugClass> } }

export interface PharmacyTariff {
  /** The treatment city's catalogue of services and consumables: item code → class. */
  catalogue: Record<string, DrugClass>
  unlistedCodes: 'terminal-class' | 'self'
  insuredPolicies: Partial<Record<CityCode, InsuredPolicy>>
}

interface BasketItem { code: string, class: DrugClass, amount: number }

export interface SettledItem {
  code: string
  class: DrugClass
  classSource: 'national-catalogue' | 'catalogue' | 'terminal' | 'unlisted'
  amountFen: number
  firstShareFen: number
}

export interface Settlement {
  totalFen: number
  /** Outside the catalogue (全自费): bank only. */
  selfPaidFen: number
  /** Class B first share (先行自付): bank only. */
  classBFirstShareFen: number
  /** Catalogue part the medical account may pay (A in full, B after the first share). */
  inScopeFen: number
  /** Pooled fund: pharmacy purchases are paid by the card's accounts alone. */
  fundFen: number
  medicalAccountFen: number
  bankFen: number
  medicalBalanceAfterFen: number
  firstSharePercent: number
  insuredCity: CityCode
  treatmentCity: CityCode
  items: SettledItem[]
}

const ITEMS_PER_TAP_MAX = 100

const REASONS = reasonsFor('NOT_OFFERED_HERE', 'BASKET_SUM_MISMATCH', 'POLICY_UNKNOWN')

const contextSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['items'],
  properties: {
    items: {
      type: 'array',
      minItems: 1,
      maxItems: ITEMS_PER_TAP_MAX,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'class', 'amount'],
        properties: {
          code: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
          class: { enum: ['A', 'B', 'self'] },
          amount: { type: 'integer', minimum: 0, maximum: 10_000_000 }
        }
      }
    }
  }
}

const declined = declineWith(REASONS)

/** Half a fen and more rounds up, per item, as the platform computes 先行自付 per detail line. */
function percentOfRounded (amountFen: number, percent: number): number {
  return Math.round(amountFen * percent / 100)
}

function classify (item: BasketItem, tariff: PharmacyTariff, drugs: Record<string, DrugClass>): Pick<SettledItem, 'class' | 'classSource'> {
  if (Object.hasOwn(drugs, item.code)) return { class: drugs[item.code] ?? item.class, classSource: 'national-catalogue' }
  if (Object.hasOwn(tariff.catalogue, item.code)) {
    return { class: tariff.catalogue[item.code] ?? item.class, classSource: 'catalogue' }
  }
  if (tariff.unlistedCodes === 'self') return { class: 'self', classSource: 'unlisted' }
  return { class: item.class, classSource: 'terminal' }
}

function settleItem (item: BasketItem, tariff: PharmacyTariff, firstSharePercent: number, drugs: Record<string, DrugClass>): SettledItem {
  const classed = classify(item, tariff, drugs)
  const firstShareFen = classed.class === 'B' ? percentOfRounded(item.amount, firstSharePercent) : 0
  return { code: item.code, ...classed, amountFen: item.amount, firstShareFen }
}

export function settle (items: BasketItem[], tariff: PharmacyTariff, policy: InsuredPolicy,
  medicalBalanceFen: number, cities: { insuredCity: CityCode, treatmentCity: CityCode }, drugs: Record<string, DrugClass> = {}): Settlement {
  const settled = items.map(item => settleItem(item, tariff, policy.classBFirstSharePercent, drugs))
  let totalFen = 0
  let selfPaidFen = 0
  let classBFirstShareFen = 0
  for (const item of settled) {
    totalFen += item.amountFen
    if (item.class === 'self') selfPaidFen += item.amountFen
    classBFirstShareFen += item.firstShareFen
  }
  const inScopeFen = totalFen - selfPaidFen - classBFirstShareFen
  const medicalAccountFen = Math.min(inScopeFen, Math.max(medicalBalanceFen, 0))
  return {
    totalFen,
    selfPaidFen,
    classBFirstShareFen,
    inScopeFen,
    fundFen: 0,
    medicalAccountFen,
    bankFen: totalFen - medicalAccountFen,
    medicalBalanceAfterFen: medicalBalanceFen - medicalAccountFen,
    firstSharePercent: policy.classBFirstSharePercent,
    ...cities,
    items: settled
  }
}

/** Medical first (the answer's `account` is the part paid first); parts of 0 are left out. */
function paymentsOf (settlement: Settlement): Payment[] {
  const payments: Payment[] = []
  if (settlement.medicalAccountFen > 0) payments.push({ account: 'medical', amount: settlement.medicalAccountFen })
  if (settlement.bankFen > 0) payments.push({ account: 'bank', amount: settlement.bankFen })
  return payments.length > 0 ? payments : [{ account: 'bank', amount: 0 }]
}

function basketFen (context: Record<string, unknown>): number {
  return (context.items as BasketItem[]).reduce((sum, item) => sum + item.amount, 0)
}

/** api-v1: the tap's amount equals the items' sum; anything else is a malformed request (400). */
function checkRequest (tap: { amount: number | null, context: Record<string, unknown> }): string | undefined {
  const itemsFen = basketFen(tap.context)
  return tap.amount === itemsFen ? undefined : `amount ${String(tap.amount)} is not the sum of the items (${itemsFen})`
}

function decide ({ tap, card, terminal, tariff, policies }: RuleInput<PharmacyTariff | undefined>): RuleDecision {
  if (tariff === undefined) return declined('NOT_OFFERED_HERE')
  const items = tap.context.items as BasketItem[]
  // Unreachable through the API (checkRequest answers 400 first); kept so the pure function is total.
  const itemsFen = basketFen(tap.context)
  if (tap.amount !== itemsFen) return declined('BASKET_SUM_MISMATCH', { amountFen: tap.amount, itemsFen })
  const policy = tariff.insuredPolicies[card.issuerCity]
  if (policy === undefined) return declined('POLICY_UNKNOWN', { insuredCity: card.issuerCity })
  const drugs = (policies as MedicalPolicies | undefined)?.medical?.drugCatalogue ?? {}
  const settlement = settle(items, tariff, policy, card.balances.medical,
    { insuredCity: card.issuerCity, treatmentCity: terminal.city }, drugs)
  return {
    decision: 'approved',
    payments: paymentsOf(settlement),
    message: { zh: '医保结算成功', en: 'Settled' },
    details: { ...settlement }
  }
}

export const pharmacy: RuleModule<PharmacyTariff | undefined> = {
  code: 'pharmacy',
  contextSchema,
  reasons: REASONS,
  // A cancelled sale (2103/2601) is the lead's generic reversal: the same parts, back to the card.
  reversible: true,
  checkRequest,
  decide
}
