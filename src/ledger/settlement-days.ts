// Daily settlement between the three cities (api-v1 1.1, docs/settlement.md): one settlement day
// is the Asia/Shanghai calendar day of the journal's own times: a tap's recorded_at, a reversal's
// or refund's transfer created_at. Both are written by the server's clock, never the terminal's,
// so once a day is over nothing new can fall in it, and a closed day's figures never change.
//
// One module for both engines: the SQL is portable (written with :from and :to, turned into each
// engine's placeholders by daySql), and the report is a pure function of its rows. Each engine
// only runs the queries: off the writer for an open day, inside the closing write transaction for
// a close.
import { SETTLEMENT_DAY_CLOSE_GRACE_MS } from '../constants.js'
import { accountCode, LedgerInvariantError } from './postings.js'
import type { Db } from './schema.js'
import { settlementWindow } from './settlement.js'

export interface SettlementOperatorRow {
  operator: string
  city: string
  scenario: string
  taps: number
  amount: number
  refunded: number
  net: number
}

export interface SettlementPosition { issuerCity: string, acquirerCity: string, amount: number }

export interface SettlementDayReport {
  date: string
  status: 'open' | 'closed'
  operators: SettlementOperatorRow[]
  positions: SettlementPosition[]
  /** The same day from the postings alone (operator legs), independent of the operators query. */
  reconciliation: { operatorLegsNet: number, matches: boolean }
  /** When the day was closed (closed days only). */
  closedAt?: string
}

/** What settlement_days.report holds: the report as answered, plus the issuer → city map it was
 *  computed with, so `ledger check` can recompute the day from the journal without the catalogue. */
export interface StoredSettlementDay extends SettlementDayReport { issuerCities: Record<string, string> }

/** One row of the journal query: a (terminal operator, tap city, scenario, card issuer) group. */
export interface SettlementJournalRow {
  operator: string
  city: string
  scenario: string
  issuer: string
  taps: number
  amount: number
  refunded: number
}

/** Everything a day's report is built from, read in one transaction (or snapshot). */
export interface SettlementDayJournal {
  /** settlement_days.report of the day when it is closed. */
  stored: string | undefined
  rows: SettlementJournalRow[]
  operatorLegsNet: number
}

const DAY_MS = 86_400_000
const UTC8_MS = 8 * 3_600_000
const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/

/** A YYYY-MM-DD that names a real calendar day (2026-02-30 does not). */
export function isSettlementDate (date: string): boolean {
  if (!DATE.test(date)) return false
  const ms = Date.parse(`${date}T00:00:00Z`)
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === date
}

/** The instant the day ends (next Shanghai midnight), in Unix ms. */
export function settlementDayEndMs (date: string): number {
  return Date.parse(`${date}T00:00:00Z`) - UTC8_MS + DAY_MS
}

/** A day may be closed once it is over, and a grace later: a tap decided at 23:59:59.9 may still be
 *  in a batch that commits after midnight (SQLite: queued behind the tap queue; PostgreSQL: another
 *  process's lane), and a close must not read the day before that batch is in. */
export function settlementDayClosable (date: string, nowMs: number): boolean {
  return nowMs >= settlementDayEndMs(date) + SETTLEMENT_DAY_CLOSE_GRACE_MS
}

/** The settlement day (Shanghai calendar day) of an ISO instant. */
export function settlementDayOf (ms: number): string {
  return new Date(ms + UTC8_MS).toISOString().slice(0, 10)
}

// Charges of the day's taps, and money given back by the day's reversals and refunds, each carrying
// its tap's terminal, city, scenario and card; then grouped by the terminal's operator, the city,
// the scenario and the card's issuer. Reversal amount = the tap's amount (a reversal returns all of
// it); a refund, its own amount. A charge counts in full, debt included (amount is the whole
// charge). Each branch is driven by a range on an index of its day column (taps_by_recorded,
// transfers_by_created) and reaches its tap by key (taps_by_reversal, refunds_by_transfer and the
// tap's idempotency key): a day costs one day of the journal, whatever its size.
const JOURNAL_ROWS_SQL = `
SELECT term.operator, x.city, x.scenario, c.issuer,
  SUM(x.taps) AS taps, SUM(x.charged) AS amount, SUM(x.refunded) AS refunded
FROM (
  SELECT terminal_id, city, scenario, card_token, 1 AS taps, amount AS charged, 0 AS refunded FROM taps
    WHERE decision = 'approved' AND amount > 0 AND recorded_at >= :from AND recorded_at < :to
  UNION ALL
  SELECT t.terminal_id, t.city, t.scenario, t.card_token, 0, 0, t.amount FROM transfers tr
    JOIN taps t ON t.reversal_transfer_id = tr.id AND t.reversal_transfer_id IS NOT NULL
    WHERE tr.kind = 'reversal' AND tr.created_at >= :from AND tr.created_at < :to
  UNION ALL
  SELECT t.terminal_id, t.city, t.scenario, t.card_token, 0, 0, r.amount FROM transfers tr
    JOIN refunds r ON r.transfer_id = tr.id
    JOIN taps t ON t.terminal_id = r.terminal_id AND t.tap_id = r.tap_id
    WHERE tr.kind = 'refund' AND tr.created_at >= :from AND tr.created_at < :to
) x
JOIN terminals term ON term.terminal_id = x.terminal_id
JOIN cards c ON c.card_token = x.card_token
GROUP BY term.operator, x.city, x.scenario, c.issuer
ORDER BY term.operator, x.city, x.scenario, c.issuer`

// The reconciliation figure, from the ledger's legs only: what the day's taps credited operator
// accounts (journal columns of v2 taps; postings of v1 tap transfers), plus the operator legs of
// the day's reversal and refund transfers (negative: money taken back from the operator).
const OPERATOR_LEGS_SQL = `
SELECT COALESCE(SUM(x.amount), 0) AS operator_legs_net FROM (
  SELECT bank_fen + medical_fen + debt_fen AS amount FROM taps
    WHERE operator_account_id IS NOT NULL AND recorded_at >= :from AND recorded_at < :to
  UNION ALL
  SELECT p.amount FROM transfers tr JOIN postings p ON p.transfer_id = tr.id JOIN accounts a ON a.id = p.account_id
    WHERE a.kind = 'operator' AND tr.kind IN ('tap', 'reversal', 'refund') AND tr.created_at >= :from AND tr.created_at < :to
) x`

const STORED_SQL = 'SELECT report FROM settlement_days WHERE day = :day'

/** The settlement transfers' clearing legs (for `ledger check`). */
export const SETTLEMENT_LEGS_SQL = `SELECT tr.id, tr.ref, a.code, p.amount FROM transfers tr
  JOIN postings p ON p.transfer_id = tr.id JOIN accounts a ON a.id = p.account_id
  WHERE tr.kind = 'settlement' ORDER BY tr.id, a.code`

export const CLOSED_DAYS_SQL = 'SELECT day, report FROM settlement_days ORDER BY day'

export type Placeholders = 'sqlite' | 'postgres'

/** A query with its values in the engine's placeholder style: SQLite's `?` takes one value per
 *  occurrence, PostgreSQL's `$n` one per name. */
export function daySql (sql: string, style: Placeholders, values: Record<string, string>): { text: string, values: string[] } {
  const names: string[] = []
  const text = sql.replace(/:(from|to|day)\b/g, (_m, name: string) => {
    if (style === 'sqlite') {
      names.push(name)
      return '?'
    }
    if (!names.includes(name)) names.push(name)
    return `$${names.indexOf(name) + 1}`
  })
  return { text, values: names.map(name => values[name]!) }
}

/** The day's three queries, ready for an engine: stored report, journal rows, operator legs. */
export function settlementDayQueries (date: string, style: Placeholders): Array<{ text: string, values: string[] }> {
  const [from, to] = settlementWindow(date, date)
  const values = { from, to, day: date }
  return [daySql(STORED_SQL, style, values), daySql(JOURNAL_ROWS_SQL, style, values), daySql(OPERATOR_LEGS_SQL, style, values)]
}

/** The journal from the three queries' rows (numbers come back as strings from PostgreSQL). */
export function settlementDayJournal (stored: unknown[], rows: unknown[], legs: unknown[]): SettlementDayJournal {
  const report = (stored[0] as { report?: string } | undefined)?.report
  return {
    stored: report,
    rows: (rows as Array<Record<string, unknown>>).map(r => ({
      operator: String(r.operator),
      city: String(r.city),
      scenario: String(r.scenario),
      issuer: String(r.issuer),
      taps: Number(r.taps),
      amount: Number(r.amount),
      refunded: Number(r.refunded)
    })),
    operatorLegsNet: Number((legs[0] as { operator_legs_net?: unknown } | undefined)?.operator_legs_net ?? 0)
  }
}

/** The SQLite side: the three queries on one connection (call inside a transaction, so they see
 *  one state: the writer's own, or a read transaction on the reader). */
export function readSettlementDay (db: Db, date: string): SettlementDayJournal {
  const [stored, rows, legs] = settlementDayQueries(date, 'sqlite').map(q => db.prepare(q.text).all(...q.values))
  return settlementDayJournal(stored!, rows!, legs!)
}

/**
 * The report of a day from its journal rows. Operators: rows summed over card issuers. Positions:
 * rows summed by (card issuer's city, tap city). Both are sums of the same nets, and that is
 * asserted: a report whose two tables disagree is never answered or stored.
 */
export function buildSettlementDay (date: string, journal: Pick<SettlementDayJournal, 'rows' | 'operatorLegsNet'>, issuerCityOf: (issuer: string) => string): SettlementDayReport {
  const operators = new Map<string, SettlementOperatorRow>()
  const positions = new Map<string, SettlementPosition>()
  for (const row of journal.rows) {
    assertFen(row.amount, 'amount')
    assertFen(row.refunded, 'refunded')
    const net = row.amount - row.refunded
    const operatorKey = JSON.stringify([row.operator, row.city, row.scenario])
    const op = operators.get(operatorKey) ?? { operator: row.operator, city: row.city, scenario: row.scenario, taps: 0, amount: 0, refunded: 0, net: 0 }
    op.taps += row.taps
    op.amount += row.amount
    op.refunded += row.refunded
    op.net += net
    operators.set(operatorKey, op)
    const issuerCity = issuerCityOf(row.issuer)
    const positionKey = JSON.stringify([issuerCity, row.city])
    const position = positions.get(positionKey) ?? { issuerCity, acquirerCity: row.city, amount: 0 }
    position.amount += net
    positions.set(positionKey, position)
  }
  const report: SettlementDayReport = {
    date,
    status: 'open',
    operators: [...operators.values()].sort((a, b) => compareKeys([a.operator, a.city, a.scenario], [b.operator, b.city, b.scenario])),
    positions: [...positions.values()].sort((a, b) => compareKeys([a.issuerCity, a.acquirerCity], [b.issuerCity, b.acquirerCity])),
    reconciliation: { operatorLegsNet: journal.operatorLegsNet, matches: false }
  }
  const operatorsNet = sum(report.operators.map(o => o.net))
  const positionsNet = sum(report.positions.map(p => p.amount))
  if (operatorsNet !== positionsNet) {
    throw new LedgerInvariantError(`settlement day ${date}: operators net ${operatorsNet} but positions sum to ${positionsNet}`)
  }
  report.reconciliation.matches = operatorsNet === journal.operatorLegsNet
  return report
}

/** The report as answered for a closed day: the stored one, without its storage-only fields. */
export function closedReportOf (stored: string): SettlementDayReport {
  const { issuerCities: _map, ...report } = JSON.parse(stored) as StoredSettlementDay
  return report
}

/** The reference of the settlement transfer of one city pair of one day. */
export function settlementRef (date: string, issuerCity: string, acquirerCity: string): string {
  return `settlement:${date}:${issuerCity}:${acquirerCity}`
}

/** The cross-city positions a close posts: same-city pairs and zero amounts move nothing. */
export function settledPositions (report: SettlementDayReport): SettlementPosition[] {
  return report.positions.filter(p => p.issuerCity !== p.acquirerCity && p.amount !== 0)
}

/**
 * The legs of one position's settlement transfer. A credit posts clearing:<issuer> −x → card +x,
 * so a clearing account's negative balance is what its city holds for cardholders; a cross-city
 * tap spent that money in another city. Settling moves the obligation to the acquirer city:
 * clearing:<issuer> +amount, clearing:<acquirer> −amount (a negative net, refunds beyond the
 * day's charges, moves it back).
 */
export function settlementLegCodes (position: SettlementPosition): Array<{ code: string, amount: number }> {
  return [
    { code: accountCode.clearing(position.issuerCity), amount: position.amount },
    { code: accountCode.clearing(position.acquirerCity), amount: -position.amount }
  ]
}

function assertFen (value: number, what: string): void {
  if (!Number.isSafeInteger(value)) throw new LedgerInvariantError(`settlement ${what} is not an integer number of fen: ${value}`)
}

function sum (values: number[]): number {
  return values.reduce((a, b) => a + b, 0)
}

function compareKeys (a: string[], b: string[]): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < b[i]!) return -1
    if (a[i]! > b[i]!) return 1
  }
  return 0
}
