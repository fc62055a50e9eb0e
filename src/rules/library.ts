// Library loans: the social security card is the reader card (no deposit). Borrowing, returning and
// renewing move no money; the loans are per-card state, one list per LIBRARY SYSTEM
// (`library:loans:<system>`): Shandong Library and Jinan Library, Henan Provincial Library and
// Zhengzhou Library are separate systems with their own rules, while the venues of one system (a
// main library and its children's branch) share one loan account.
//
// Rules are the system's, from fixtures/tariffs/library.json (`systems`, each listing its venues):
// - a card type by holder (first match: Qingdao's children's card lends 3 books), with the items
//   and value on loan at once and per-kind caps;
// - per kind (book, periodical): loan days, renewal days, renewals (Qingdao periodicals: 60 days,
//   no renewal);
// - overdue: the fee per item per day and its cap per item, and what blocks borrowing and renewing
//   — any overdue item, fees from a threshold (Qingdao: 10 yuan), or nothing. Returns are never
//   refused; a return reports the fee of each overdue item, which the desk collects (the fee is not
//   charged to the card here).
//
// The module only knows this card's loans: whether a copy is on loan to someone else is the library
// system's business.
import type { CardFacts, LocalTime, Message, RuleDecision, RuleInput, RuleModule, StateWrite } from './types.js'
import { declineWith } from './decline.js'
import { holderAgeOn } from './concessions.js'
import { reasonsFor } from './reasons.js'

export interface KindRule {
  loanDays: number
  /** Days one renewal adds to the due date. */
  renewalDays: number
  renewalsMax: number
}

export interface CardType {
  id: string
  /** The card type applies up to this age (whole years on the tap's date); absent: any age. */
  ageMax?: number
  /** Items on loan at once, all kinds together. */
  itemsMax: number
  /** Total value of everything on loan at once (fen); null: no limit. */
  valueFenMax: number | null
  /** Per-kind caps on items on loan at once (Qingdao: 5 books + 3 periodicals); absent: none. */
  kindItemsMax?: Record<string, number>
}

export interface OverdueRule {
  /** `any-overdue`: while any loan is overdue, borrowing and renewing are refused (OVERDUE);
   *  `fees`: refused once the fees owed reach `blockFromFeeFen` (OVERDUE_FEES); `never`. */
  blocks: 'any-overdue' | 'fees' | 'never'
  feeFenPerItemDay: number
  /** Most one item's fee reaches (fen); null: no cap. */
  feeFenPerItemMax: number | null
  blockFromFeeFen?: number
}

export interface LibraryRules {
  name: Message
  /** Venue ids (venues.json) of this system's desks; they share one loan account per card. */
  venues: string[]
  /** First match wins; the last should match every holder. */
  cardTypes: CardType[]
  kinds: Record<string, KindRule>
  /** The kind of an item whose tap names none. */
  defaultKind: string
  overdue: OverdueRule
}

export interface LibraryTariff {
  systems: Record<string, LibraryRules>
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

const REASONS = reasonsFor('NOT_OFFERED_HERE', 'VENUE_UNKNOWN', 'DUPLICATE_ITEM', 'ALREADY_ON_LOAN', 'LOAN_LIMIT',
  'LOAN_VALUE_LIMIT', 'NOT_ON_LOAN', 'RENEWAL_LIMIT', 'OVERDUE', 'OVERDUE_FEES')

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

/** The card's loans at this library system; anything malformed in state is ignored rather than trusted. */
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

/** The fee an overdue loan has run up by `today` (0 when not overdue). */
export function overdueFeeFen (loan: Loan, today: string, rule: OverdueRule): number {
  if (loan.dueOn >= today) return 0
  const feeFen = daysBetween(loan.dueOn, today) * rule.feeFenPerItemDay
  return rule.feeFenPerItemMax === null ? feeFen : Math.min(feeFen, rule.feeFenPerItemMax)
}

/** Why borrowing or renewing is blocked by overdue loans, or undefined. */
function overdueBlock (loans: Loan[], rules: LibraryRules, today: string): RuleDecision | undefined {
  const overdue = overdueLoans(loans, today)
  if (overdue.length === 0 || rules.overdue.blocks === 'never') return undefined
  if (rules.overdue.blocks === 'any-overdue') return declined('OVERDUE', { overdue: overdue.map(loan => loan.id) })
  const feesFen = overdue.reduce((sum, loan) => sum + overdueFeeFen(loan, today, rules.overdue), 0)
  const blockFromFeeFen = rules.overdue.blockFromFeeFen ?? 0
  return feesFen >= blockFromFeeFen ? declined('OVERDUE_FEES', { feesFen, blockFromFeeFen }) : undefined
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

/** The holder's card type: the first whose age bound fits (an age bound needs a birth date). */
export function cardTypeOf (rules: LibraryRules, card: CardFacts, at: LocalTime): CardType {
  const age = holderAgeOn(card, at)
  const fits = rules.cardTypes.find(type => type.ageMax === undefined || (age !== null && age <= type.ageMax))
  if (fits === undefined) throw new Error('library rules: no card type matches (the schema requires a last one without ageMax)')
  return fits
}

function limitBreach (after: Loan[], type: CardType): RuleDecision | undefined {
  if (after.length > type.itemsMax) return declined('LOAN_LIMIT', { cardType: type.id, itemsMax: type.itemsMax, itemsAfter: after.length })
  const kind = kindOverLimit(after, type.kindItemsMax ?? {})
  if (kind !== undefined) return declined('LOAN_LIMIT', { cardType: type.id, kind, itemsMax: type.kindItemsMax?.[kind] })
  const valueFen = after.reduce((sum, loan) => sum + loan.value, 0)
  if (type.valueFenMax !== null && valueFen > type.valueFenMax) {
    return declined('LOAN_VALUE_LIMIT', { valueFenMax: type.valueFenMax, valueFenAfter: valueFen })
  }
  return undefined
}

interface Desk { rules: LibraryRules, key: string, today: string, type: CardType }

function kindRule (rules: LibraryRules, kind: string): KindRule {
  return (Object.hasOwn(rules.kinds, kind) ? rules.kinds[kind] : undefined) ?? rules.kinds[rules.defaultKind] as KindRule
}

function borrow (loans: Loan[], items: LibraryItem[], desk: Desk): RuleDecision {
  const { rules, today } = desk
  const onLoan = items.find(item => loans.some(loan => loan.id === item.id))
  if (onLoan !== undefined) return declined('ALREADY_ON_LOAN', { id: onLoan.id })
  const blocked = overdueBlock(loans, rules, today)
  if (blocked !== undefined) return blocked
  const borrowed = items.map(item => {
    const kind = item.kind ?? rules.defaultKind
    return { id: item.id, value: item.value ?? 0, kind, dueOn: addDays(today, kindRule(rules, kind).loanDays), renewals: 0 }
  })
  const after = [...loans, ...borrowed]
  const breach = limitBreach(after, desk.type)
  if (breach !== undefined) return breach
  const dueOn = borrowed.reduce((earliest, loan) => loan.dueOn < earliest ? loan.dueOn : earliest, borrowed[0]?.dueOn ?? today)
  return approved({ zh: '借阅成功', en: 'Borrowed' }, loansWrite(desk.key, after),
    { action: 'borrow', dueOn, items: borrowed.map(loan => ({ id: loan.id, dueOn: loan.dueOn })), cardType: desk.type.id, itemsOnLoan: after.length })
}

function notOnLoan (loans: Loan[], items: LibraryItem[]): string[] {
  return items.filter(item => !loans.some(loan => loan.id === item.id)).map(item => item.id)
}

function giveBack (loans: Loan[], items: LibraryItem[], desk: Desk): RuleDecision {
  const { rules, today } = desk
  const missing = notOnLoan(loans, items)
  if (missing.length > 0) return declined('NOT_ON_LOAN', { notOnLoan: missing })
  const ids = new Set(items.map(item => item.id))
  const overdue = overdueLoans(loans, today).filter(loan => ids.has(loan.id))
    .map(loan => ({ id: loan.id, daysOverdue: daysBetween(loan.dueOn, today), feeFen: overdueFeeFen(loan, today, rules.overdue) }))
  const after = loans.filter(loan => !ids.has(loan.id))
  const overdueFeeFenTotal = overdue.reduce((sum, item) => sum + item.feeFen, 0)
  return approved({ zh: '归还成功', en: 'Returned' }, loansWrite(desk.key, after), { action: 'return', overdue, overdueFeeFen: overdueFeeFenTotal, itemsOnLoan: after.length })
}

function renew (loans: Loan[], items: LibraryItem[], desk: Desk): RuleDecision {
  const { rules, today } = desk
  const missing = notOnLoan(loans, items)
  if (missing.length > 0) return declined('NOT_ON_LOAN', { notOnLoan: missing })
  const blocked = overdueBlock(loans, rules, today)
  if (blocked !== undefined) return blocked
  const ids = new Set(items.map(item => item.id))
  const spent = loans.find(loan => ids.has(loan.id) && loan.renewals >= kindRule(rules, loan.kind).renewalsMax)
  if (spent !== undefined) return declined('RENEWAL_LIMIT', { id: spent.id, kind: spent.kind, renewalsMax: kindRule(rules, spent.kind).renewalsMax })
  // A renewal extends the current due date, so renewing early never shortens the loan.
  const after = loans.map(loan => ids.has(loan.id)
    ? { ...loan, dueOn: addDays(loan.dueOn, kindRule(rules, loan.kind).renewalDays), renewals: loan.renewals + 1 }
    : loan)
  const dueOn = after.filter(loan => ids.has(loan.id)).map(loan => ({ id: loan.id, dueOn: loan.dueOn }))
  return approved({ zh: '续借成功', en: 'Renewed' }, loansWrite(desk.key, after), { action: 'renew', dueOn, itemsOnLoan: after.length })
}

/** The system whose desks include `venue`. */
export function systemOf (tariff: LibraryTariff, venue: string): [string, LibraryRules] | undefined {
  return Object.entries(tariff.systems).find(([, rules]) => rules.venues.includes(venue))
}

function decide ({ tap, card, terminal, tariff, state }: RuleInput<LibraryTariff | undefined>): RuleDecision {
  if (tariff === undefined) return declined('NOT_OFFERED_HERE')
  const venue = terminal.location.venue ?? ''
  const system = systemOf(tariff, venue)
  if (system === undefined) return declined('VENUE_UNKNOWN', { venue })
  const [systemId, rules] = system
  const action = tap.context.action as Action
  const items = tap.context.items as LibraryItem[]
  const duplicate = duplicateId(items)
  if (duplicate !== undefined) return declined('DUPLICATE_ITEM', { id: duplicate })
  const key = `library:loans:${systemId}`
  const loans = readLoans(state.get(key), rules.defaultKind)
  const desk: Desk = { rules, key, today: tap.at.date, type: cardTypeOf(rules, card, tap.at) }
  if (action === 'borrow') return borrow(loans, items, desk)
  if (action === 'return') return giveBack(loans, items, desk)
  return renew(loans, items, desk)
}

export const library: RuleModule<LibraryTariff | undefined> = {
  code: 'library',
  contextSchema,
  reasons: REASONS,
  reversible: false,
  decide
}
