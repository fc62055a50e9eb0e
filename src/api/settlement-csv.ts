// The operators table of a settlement day as CSV (RFC 4180: comma, CRLF, a header row, fields with
// a comma, quote or line break quoted). Operator names are free text from terminal registration:
// a text field starting with = + - @ (or a tab or CR) is prefixed with ' so a spreadsheet shows it
// rather than running it as a formula (OWASP "CSV injection"). Amounts are integer fen.
import type { SettlementOperatorRow } from '../ledger/settlement-days.js'

const COLUMNS = ['operator', 'city', 'scenario', 'taps', 'amount', 'refunded', 'net'] as const

export function operatorsCsv (rows: SettlementOperatorRow[]): string {
  const lines = [COLUMNS.join(',')]
  for (const row of rows) lines.push(COLUMNS.map(column => field(row[column])).join(','))
  return `${lines.join('\r\n')}\r\n`
}

function field (value: string | number): string {
  if (typeof value === 'number') return String(value)
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}
