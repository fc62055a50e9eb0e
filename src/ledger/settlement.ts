// Inter-city settlement: what each operator in each city is owed for approved taps, split by the
// card's issuer city (cross-city taps are settled between the issuers' clearing accounts and the
// operators' receivables). Net of reversals. Days are UTC+8 calendar days of the recorded time.
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

export function settlement (db: Db, fromDate: string, toDate: string, issuerCityOf: (issuer: string) => string): SettlementRow[] {
  const fromMs = Date.parse(`${fromDate}T00:00:00Z`) - UTC8_MS
  const toMs = Date.parse(`${toDate}T00:00:00Z`) - UTC8_MS + DAY_MS
  const rows = db.prepare(`
    SELECT t.city, term.operator, t.scenario, c.issuer,
      COUNT(*) AS taps, SUM(t.amount) AS amount,
      SUM(CASE WHEN t.reversal_transfer_id IS NULL THEN 0 ELSE t.amount END) AS reversedAmount
    FROM taps t
    JOIN terminals term ON term.terminal_id = t.terminal_id
    JOIN cards c ON c.card_no = t.card_no
    WHERE t.decision = 'approved' AND t.amount > 0 AND t.recorded_at >= ? AND t.recorded_at < ?
    GROUP BY t.city, term.operator, t.scenario, c.issuer
    ORDER BY t.city, term.operator, t.scenario, c.issuer`)
    .all(new Date(fromMs).toISOString(), new Date(toMs).toISOString()) as Array<Omit<SettlementRow, 'issuerCity' | 'netAmount'> & { issuer: string }>
  return rows.map(({ issuer, ...row }) => ({ ...row, issuerCity: issuerCityOf(issuer), netAmount: row.amount - row.reversedAmount }))
}
