// Inter-city settlement: what each operator in each city is owed for approved taps, split by the
// card's issuer city (cross-city taps are settled between the issuers' clearing accounts and the
// operators' receivables). Net of reversals. Days are UTC+8 calendar days of the recorded time.
// The SQL is portable: both engines run the same text with their own placeholders.
import type { Db } from './schema.js'

export interface SettlementRow {
  city: string
  operator: string
  scenario: string
  issuerCity: string
  taps: number
  amount: number
  reversedAmount: number
  netAmount: number
}

export const SETTLEMENT_DAYS_MAX = 31
const DAY_MS = 86_400_000
const UTC8_MS = 8 * 3_600_000

/** The query, with the engine's placeholders for the window [from, to). */
export function settlementSql (fromPlaceholder: string, toPlaceholder: string): string {
  return `
    SELECT t.city, term.operator, t.scenario, c.issuer,
      COUNT(*) AS taps, SUM(t.amount) AS amount,
      SUM(CASE WHEN t.reversal_transfer_id IS NULL THEN 0 ELSE t.amount END) AS reversed_amount
    FROM taps t
    JOIN terminals term ON term.terminal_id = t.terminal_id
    JOIN cards c ON c.card_token = t.card_token
    WHERE t.decision = 'approved' AND t.amount > 0 AND t.recorded_at >= ${fromPlaceholder} AND t.recorded_at < ${toPlaceholder}
    GROUP BY t.city, term.operator, t.scenario, c.issuer
    ORDER BY t.city, term.operator, t.scenario, c.issuer`
}

/** The window's bounds as recorded_at strings (ISO, UTC). */
export function settlementWindow (fromDate: string, toDate: string): [string, string] {
  const fromMs = Date.parse(`${fromDate}T00:00:00Z`) - UTC8_MS
  const toMs = Date.parse(`${toDate}T00:00:00Z`) - UTC8_MS + DAY_MS
  return [new Date(fromMs).toISOString(), new Date(toMs).toISOString()]
}

interface SettlementSqlRow { city: string, operator: string, scenario: string, issuer: string, taps: unknown, amount: unknown, reversed_amount: unknown }

export function settlementRows (rows: SettlementSqlRow[], issuerCityOf: (issuer: string) => string): SettlementRow[] {
  return rows.map(row => {
    const amount = Number(row.amount)
    const reversedAmount = Number(row.reversed_amount)
    return {
      city: row.city,
      operator: row.operator,
      scenario: row.scenario,
      issuerCity: issuerCityOf(row.issuer),
      taps: Number(row.taps),
      amount,
      reversedAmount,
      netAmount: amount - reversedAmount
    }
  })
}

export function settlement (db: Db, fromDate: string, toDate: string, issuerCityOf: (issuer: string) => string): SettlementRow[] {
  const rows = db.prepare(settlementSql('?', '?')).all(...settlementWindow(fromDate, toDate)) as SettlementSqlRow[]
  return settlementRows(rows, issuerCityOf)
}
