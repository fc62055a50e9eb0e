// The rule engine: card checks → scenario module → funding. Pure: the ledger hands it the card,
// the per-card state reader and the clock-derived local time, and applies what it returns.
import type { Catalogue, ScenarioEntry } from './catalogue.js'
import type {
  AccountKind, CardFacts, DeclinedDecision, LocalTime, Message, Payment, RuleDecision, StateReader, TapFacts, TerminalFacts
} from './types.js'
import { ACCOUNT_KINDS } from './types.js'

/** Reason codes fixed by api-v1, with the messages terminals show. */
export const CORE_REASONS: Record<string, Message> = {
  CARD_UNKNOWN: { zh: '卡片未登记', en: 'Card not known' },
  CARD_BLOCKED: { zh: '卡片已挂失或冻结', en: 'Card is reported lost or frozen' },
  CARD_EXPIRED: { zh: '卡片已过有效期', en: 'Card has expired' },
  ISSUER_NOT_ACCEPTED: { zh: '不受理该发卡地的卡', en: 'Cards of this issuer are not accepted' },
  INSUFFICIENT_FUNDS: { zh: '余额不足', en: 'Insufficient funds' },
  QR_INVALID: { zh: '电子社保卡二维码无效', en: 'Invalid e-card QR code' },
  QR_EXPIRED: { zh: '电子社保卡二维码已过期', en: 'E-card QR code has expired' },
  QR_REUSED: { zh: '电子社保卡二维码已使用', en: 'E-card QR code already used' },
  CARD_AUTH_FAILED: { zh: '卡片认证失败', en: 'Card authentication failed' },
  CARD_IN_DEBT: { zh: '卡片有欠款，请先充值', en: 'The card has unpaid offline fares: please top up' }
}

export function declined (reason: string, message?: Message): DeclinedDecision {
  const text = message ?? CORE_REASONS[reason]
  if (text === undefined) throw new Error(`no message for reason ${reason}`)
  return { decision: 'declined', reason, message: text }
}

export interface CardRecord {
  cardNo: string
  issuer: string
  status: 'active' | 'lost' | 'frozen'
  expiresOn: string | null
  birthDate: string | null
  categories: string[]
  balances: Record<AccountKind, number>
  /** What the card owes for offline taps it could not pay (fen). */
  debtFen: number
}

/** Status and expiry checks on a known card, judged at the tap's local date. */
export function checkCard (card: CardRecord, at: LocalTime): DeclinedDecision | undefined {
  if (card.status !== 'active') return declined('CARD_BLOCKED')
  if (card.expiresOn !== null && card.expiresOn < at.date) return declined('CARD_EXPIRED')
  return undefined
}

export interface EngineInput {
  catalogue: Catalogue
  scenario: ScenarioEntry
  tap: TapFacts
  card: CardRecord
  terminal: TerminalFacts
  state: StateReader
}

export function decideTap (input: EngineInput): RuleDecision {
  const { catalogue, scenario, tap, card, terminal, state } = input
  const issuerCity = catalogue.cityByIssuer.get(card.issuer)
  if (issuerCity === undefined) return declined('ISSUER_NOT_ACCEPTED')
  const cardCheck = checkCard(card, tap.at)
  if (cardCheck !== undefined) return cardCheck
  // api-v1.1: a card with debt is on the deny list; online it is declined until it is topped up.
  // An offline tap was already let through: it is decided, and what it cannot pay adds to the debt.
  if (tap.offline !== true && card.debtFen > 0) return declined('CARD_IN_DEBT')
  const cardFacts: CardFacts = {
    cardNo: card.cardNo,
    issuer: card.issuer,
    issuerCity,
    birthDate: card.birthDate,
    categories: card.categories,
    balances: card.balances
  }
  const decision = scenario.module.decide({
    tap,
    card: cardFacts,
    terminal,
    scenario: scenario.fixture,
    tariff: scenario.tariffs[terminal.city],
    policies: catalogue.fixtures.policies,
    city: catalogue.cities.get(terminal.city)?.fixture,
    state
  })
  if (decision.decision === 'declined') return decision
  assertPayments(decision.payments, scenario)
  // Offline: never declined for money; the ledger pays what the accounts hold (fundOffline).
  return tap.offline === true ? decision : fundingCheck(decision, card.balances)
}

/** An offline tap's payments against the balances: each part paid from its own account as far as
 *  it goes (in the module's order), the rest owed. Pure; amounts in fen. */
export function fundOffline (payments: Payment[], balances: Record<AccountKind, number>): { paid: Payment[], debtFen: number } {
  const left = { ...balances }
  let debtFen = 0
  const paid = payments.map(payment => {
    const amount = Math.min(payment.amount, Math.max(left[payment.account], 0))
    left[payment.account] -= amount
    debtFen += payment.amount - amount
    return { account: payment.account, amount }
  })
  return { paid, debtFen }
}

function fundingCheck (decision: RuleDecision & { decision: 'approved' }, balances: Record<AccountKind, number>): RuleDecision {
  const due: Record<AccountKind, number> = { bank: 0, medical: 0 }
  for (const payment of decision.payments) due[payment.account] += payment.amount
  for (const account of ACCOUNT_KINDS) {
    if (due[account] > balances[account]) return declined('INSUFFICIENT_FUNDS')
  }
  return decision
}

/** A module's payments must be integer fen ≥ 0, on accounts the scenario may charge. */
function assertPayments (payments: Array<{ account: AccountKind, amount: number }>, scenario: ScenarioEntry): void {
  if (payments.length === 0) throw new Error(`module ${scenario.module.code} approved with no payment`)
  for (const payment of payments) {
    if (!Number.isSafeInteger(payment.amount) || payment.amount < 0) {
      throw new Error(`module ${scenario.module.code} returned amount ${payment.amount}`)
    }
    if (payment.amount > 0 && !scenario.fixture.accounts.includes(payment.account)) {
      throw new Error(`module ${scenario.module.code} charged ${payment.account}, not allowed for ${scenario.fixture.code}`)
    }
  }
}
