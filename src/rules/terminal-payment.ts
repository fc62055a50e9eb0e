// Payments priced at the terminal — highway ETC tolls, ferry tickets, water/electricity/gas bills,
// bank payments: `tap.amount` from the card's bank account, within the scenario's limits per city
// (fixtures/tariffs/<scenario>.json). An optional daily cap per card keeps the day's total in state
// (`payment:<scenario>:day` = {date, amountFen}).
import type { Message, RuleDecision, RuleInput, RuleModule, StateWrite } from './types.js'
import { declineWith, REFERENCE_CONTEXT_SCHEMA } from './decline.js'

export interface PaymentTariff {
  /** Smallest amount one tap may pay (fen); a 0-fen bill is a terminal mistake, not a payment. */
  amountFenMin: number
  /** Largest amount one tap may pay (fen), e.g. the card's no-PIN limit. */
  amountFenMax: number
  /** Total a card may pay in this scenario in one local day (fen); null: no cap, no state. */
  dailyAmountFenMax: number | null
  /** Bills need the customer or bill number to be credited; tolls and tickets do not. */
  referenceRequired: boolean
  message: Message
}

interface DayTotal { date: string, amountFen: number }

const REASONS: Record<string, Message> = {
  NOT_OFFERED_HERE: { zh: '本市未开通该业务', en: 'This service is not offered in this city' },
  AMOUNT_REQUIRED: { zh: '缺少金额', en: 'The amount is missing' },
  AMOUNT_LIMIT: { zh: '金额超出单笔限额', en: 'The amount is outside the per-payment limits' },
  DAILY_LIMIT: { zh: '超出当日累计限额', en: 'Over the daily limit' },
  REFERENCE_REQUIRED: { zh: '缺少缴费户号', en: 'The bill or customer number is missing' }
}

const contextSchema = REFERENCE_CONTEXT_SCHEMA

const declined = declineWith(REASONS)

function paidToday (stored: unknown, today: string): number {
  const total = stored as Partial<DayTotal> | null
  if (typeof total !== 'object' || total === null || total.date !== today) return 0
  return typeof total.amountFen === 'number' ? total.amountFen : 0
}

function dailyCapWrites (tariff: PaymentTariff, key: string, today: string, afterFen: number): StateWrite[] {
  return tariff.dailyAmountFenMax === null ? [] : [{ key, value: { date: today, amountFen: afterFen } }]
}

function decide ({ tap, terminal, tariff, state }: RuleInput<PaymentTariff | undefined>): RuleDecision {
  if (tariff === undefined) return declined('NOT_OFFERED_HERE')
  const amountFen = tap.amount
  if (amountFen === null) return declined('AMOUNT_REQUIRED')
  if (amountFen < tariff.amountFenMin || amountFen > tariff.amountFenMax) {
    return declined('AMOUNT_LIMIT', { amountFenMin: tariff.amountFenMin, amountFenMax: tariff.amountFenMax })
  }
  const reference = typeof tap.context.reference === 'string' ? tap.context.reference : null
  if (tariff.referenceRequired && reference === null) return declined('REFERENCE_REQUIRED')
  const key = `payment:${terminal.scenario}:day`
  // Read only when capped, so uncapped scenarios cost no state read.
  const todayFen = tariff.dailyAmountFenMax === null ? 0 : paidToday(state.get(key), tap.at.date)
  if (tariff.dailyAmountFenMax !== null && todayFen + amountFen > tariff.dailyAmountFenMax) {
    return declined('DAILY_LIMIT', { dailyAmountFenMax: tariff.dailyAmountFenMax, paidTodayFen: todayFen })
  }
  const stateWrites = dailyCapWrites(tariff, key, tap.at.date, todayFen + amountFen)
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
