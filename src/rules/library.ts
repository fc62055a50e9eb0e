// Library loans: the social security card is the reader card (no deposit). Borrowing, returning and
// renewing move no money; the loans are per-card state, one list per city
// (`library:loans:<city>`), so a terminal only sees and changes loans of its own city's libraries
// (the libraries of one city share one loan account, as a union catalogue would).
//
// Limits are the terminal city's, from fixtures/tariffs/library.json. The module only knows this
// card's loans: whether a copy is on loan to someone else is the library system's business.
import type { Message, RuleDecision, RuleInput, RuleModule, StateWrite } from './types.js'
import { declineWith } from './decline.js'

export interface LibraryTariff {
  loanDays: number
  /** Days one renewal adds to the due date. */
  renewalDays: number
  renewalsMax: number
  /** Items on loan at once, all kinds together. */
  itemsMax: number
  /** Total value of everything on loan at once (fen); null: no limit. */
  valueFenMax: number | null
  /** Per-kind caps on items on loan at once (Qingdao: 5 books + 3 periodicals); absent: none. */
  kindItemsMax?: Record<string, number>
  /** The kind of an item whose tap names none. */
  defaultKind: string
  /** `block`: while any loan is overdue, borrowing and renewing are refused (returns never are);
   *  `allow`: overdue loans block nothing. */
  overdue: 'block' | 'allow'
}

export interface Loan {
  id: string
  value: number
  kind: string
  /** `YYYY-MM-DD`: the last day the item may be kept. */
  dueOn: string
  renewals: number
}

interface LibraryItem { id: string, value?: number, kind?: string }
type Action = 'borrow' | 'return' | 'renew'

const ITEMS_PER_TAP_MAX = 20
const DAY_MS = 86_400_000

const REASONS: Record<string, Message> = {
  NOT_OFFERED_HERE: { zh: '本市图书馆未开通社保卡借阅', en: 'Card borrowing is not offered in this city' },
  DUPLICATE_ITEM: { zh: '同一册图书重复出现', en: 'The same item appears twice' },
  ALREADY_ON_LOAN: { zh: '该图书已在您的借阅中', en: 'This item is already on loan to you' },
  LOAN_LIMIT: { zh: '超过可借册数', en: 'Too many items on loan' },
  LOAN_VALUE_LIMIT: { zh: '超过可借图书总价', en: 'Total value of items on loan is over the limit' },
  NOT_ON_LOAN: { zh: '该图书不在您的借阅中', en: 'This item is not on loan to you' },
  RENEWAL_LIMIT: { zh: '已达续借次数上限', en: 'No more renewals allowed' },
  OVERDUE: { zh: '有逾期未还图书，请先归还', en: 'An item is overdue: please return it first' }
}

const itemSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
    value: { type: 'integer', minimum: 0, maximum: 100_000_000 },
    // Optional project addition to the fixed shape, for per-kind limits; absent: the default kind.
    kind: { type: 'string', pattern: '^[a-z-]{1,32}$' }
  }
}

const contextSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['action', 'items'],
  properties: {
    action: { enum: ['borrow', 'return', 'renew'] },
    items: { type: 'array', minItems: 1, maxItems: ITEMS_PER_TAP_MAX, items: itemSchema }
  },
  // The value limit needs each borrowed item's value; returns and renewals go by barcode alone.
  if: { properties: { action: { const: 'borrow' } } },
  then: { properties: { items: { items: { required: ['id', 'value'] } } } }
}

const declined = declineWith(REASONS)

export function addDays (date: string, days: number): string {
  const [year = 0, month = 1, day = 1] = date.split('-').map(Number)
  return new Date(Date.UTC(year, month - 1, day) + days * DAY_MS).toISOString().slice(0, 10)
}

function daysBetween (fromDate: string, toDate: string): number {
  return Math.round((Date.parse(toDate) - Date.parse(fromDate)) / DAY_MS)
}

function isLoan (value: unknown): value is Loan {
  const loan = value as Partial<Loan> | null
  return typeof loan === 'object' && loan !== null && typeof loan.id === 'string' &&
    typeof loan.value === 'number' && typeof loan.dueOn === 'string' && typeof loan.renewals === 'number'
}

/** The card's loans in this city; anything malformed in state is ignored rather than trusted. */
function readLoans (stored: unknown, defaultKind: string): Loan[] {
  if (!Array.isArray(stored)) return []
  return stored.filter(isLoan).map(loan => ({ ...loan, kind: typeof loan.kind === 'string' ? loan.kind : defaultKind }))
}

function loansWrite (key: string, loans: Loan[]): StateWrite {
  return { key, value: loans.length === 0 ? null : loans }
}

function duplicateId (items: LibraryItem[]): string | undefined {
  const seen = new Set<string>()
  for (const item of items) {
    if (seen.has(item.id)) return item.id
    seen.add(item.id)
  }
  return undefined
}

function overdueLoans (loans: Loan[], today: string): Loan[] {
  return loans.filter(loan => loan.dueOn < today)
}

function approved (message: Message, write: StateWrite, details: Record<string, unknown>): RuleDecision {
  return { decision: 'approved', payments: [{ account: 'bank', amount: 0 }], message, stateWrites: [write], details }
}

function kindOverLimit (loans: Loan[], kindItemsMax: Record<string, number>): string | undefined {
  for (const [kind, itemsMax] of Object.entries(kindItemsMax)) {
    if (loans.filter(loan => loan.kind === kind).length > itemsMax) return kind
  }
  return undefined
}

function limitBreach (after: Loan[], tariff: LibraryTariff): RuleDecision | undefined {
  if (after.length > tariff.itemsMax) return declined('LOAN_LIMIT', { itemsMax: tariff.itemsMax, itemsAfter: after.length })
  const kind = kindOverLimit(after, tariff.kindItemsMax ?? {})
  if (kind !== undefined) return declined('LOAN_LIMIT', { kind, itemsMax: tariff.kindItemsMax?.[kind] })
  const valueFen = after.reduce((sum, loan) => sum + loan.value, 0)
  if (tariff.valueFenMax !== null && valueFen > tariff.valueFenMax) {
    return declined('LOAN_VALUE_LIMIT', { valueFenMax: tariff.valueFenMax, valueFenAfter: valueFen })
  }
  return undefined
}

function borrow (loans: Loan[], items: LibraryItem[], tariff: LibraryTariff, today: string, key: string): RuleDecision {
  const onLoan = items.find(item => loans.some(loan => loan.id === item.id))
  if (onLoan !== undefined) return declined('ALREADY_ON_LOAN', { id: onLoan.id })
  const overdue = overdueLoans(loans, today)
  if (tariff.overdue === 'block' && overdue.length > 0) return declined('OVERDUE', { overdue: overdue.map(loan => loan.id) })
  const dueOn = addDays(today, tariff.loanDays)
  const borrowed = items.map(item => ({ id: item.id, value: item.value ?? 0, kind: item.kind ?? tariff.defaultKind, dueOn, renewals: 0 }))
  const after = [...loans, ...borrowed]
  const breach = limitBreach(after, tariff)
  if (breach !== undefined) return breach
  return approved({ zh: '借阅成功', en: 'Borrowed' }, loansWrite(key, after), { action: 'borrow', dueOn, itemsOnLoan: after.length })
}

function notOnLoan (loans: Loan[], items: LibraryItem[]): string[] {
  return items.filter(item => !loans.some(loan => loan.id === item.id)).map(item => item.id)
}

function giveBack (loans: Loan[], items: LibraryItem[], today: string, key: string): RuleDecision {
  const missing = notOnLoan(loans, items)
  if (missing.length > 0) return declined('NOT_ON_LOAN', { notOnLoan: missing })
  const ids = new Set(items.map(item => item.id))
  const overdue = overdueLoans(loans, today).filter(loan => ids.has(loan.id))
    .map(loan => ({ id: loan.id, daysOverdue: daysBetween(loan.dueOn, today) }))
  const after = loans.filter(loan => !ids.has(loan.id))
  return approved({ zh: '归还成功', en: 'Returned' }, loansWrite(key, after), { action: 'return', overdue, itemsOnLoan: after.length })
}

function renew (loans: Loan[], items: LibraryItem[], tariff: LibraryTariff, today: string, key: string): RuleDecision {
  const missing = notOnLoan(loans, items)
  if (missing.length > 0) return declined('NOT_ON_LOAN', { notOnLoan: missing })
  const overdue = overdueLoans(loans, today)
  if (tariff.overdue === 'block' && overdue.length > 0) return declined('OVERDUE', { overdue: overdue.map(loan => loan.id) })
  const ids = new Set(items.map(item => item.id))
  const spent = loans.find(loan => ids.has(loan.id) && loan.renewals >= tariff.renewalsMax)
  if (spent !== undefined) return declined('RENEWAL_LIMIT', { id: spent.id, renewalsMax: tariff.renewalsMax })
  // A renewal extends the current due date, so renewing early never shortens the loan.
  const after = loans.map(loan => ids.has(loan.id)
    ? { ...loan, dueOn: addDays(loan.dueOn, tariff.renewalDays), renewals: loan.renewals + 1 }
    : loan)
  const dueOn = after.filter(loan => ids.has(loan.id)).map(loan => ({ id: loan.id, dueOn: loan.dueOn }))
  return approved({ zh: '续借成功', en: 'Renewed' }, loansWrite(key, after), { action: 'renew', dueOn, itemsOnLoan: after.length })
}

function decide ({ tap, terminal, tariff, state }: RuleInput<LibraryTariff | undefined>): RuleDecision {
  if (tariff === undefined) return declined('NOT_OFFERED_HERE')
  const action = tap.context.action as Action
  const items = tap.context.items as LibraryItem[]
  const duplicate = duplicateId(items)
  if (duplicate !== undefined) return declined('DUPLICATE_ITEM', { id: duplicate })
  const key = `library:loans:${terminal.city}`
  const loans = readLoans(state.get(key), tariff.defaultKind)
  const today = tap.at.date
  if (action === 'borrow') return borrow(loans, items, tariff, today, key)
  if (action === 'return') return giveBack(loans, items, today, key)
  return renew(loans, items, tariff, today, key)
}

export const library: RuleModule<LibraryTariff | undefined> = {
  code: 'library',
  contextSchema,
  reasons: REASONS,
  reversible: false,
  decide
}
