// `ledger check` of closed settlement days (docs/settlement.md): for each closed day,
//   (a) the settlement transfers posted for it are exactly its stored cross-city positions, to the
//       fen: one transfer per position, clearing:<issuer> +amount and clearing:<acquirer> −amount;
//   (b) the day recomputed from the journal still gives the stored report (operators, positions
//       and the reconciliation figure), with the issuer → city map stored alongside it;
// and no settlement transfer names a day that is not closed. Pure: each engine reads the rows
// (CLOSED_DAYS_SQL, SETTLEMENT_LEGS_SQL, each day's journal) in the check's own snapshot.
import { LedgerInvariantError } from './postings.js'
import {
  buildSettlementDay, settledPositions, settlementLegCodes, settlementRef, type SettlementDayJournal, type StoredSettlementDay
} from './settlement-days.js'

export interface ClosedDayRows { day: string, report: string, journal: SettlementDayJournal }
export interface SettlementLegRow { id: unknown, ref: string, code: string, amount: unknown }

export function settlementDayProblems (closed: ClosedDayRows[], legRows: SettlementLegRow[]): string[] {
  const problems: string[] = []
  // The settlement transfers by reference: each with its legs by account code.
  const posted = new Map<string, Array<Map<string, number>>>()
  const byId = new Map<string, { ref: string, legs: Map<string, number> }>()
  for (const row of legRows) {
    const id = String(row.id)
    let transfer = byId.get(id)
    if (transfer === undefined) {
      transfer = { ref: row.ref, legs: new Map() }
      byId.set(id, transfer)
      posted.set(row.ref, [...(posted.get(row.ref) ?? []), transfer.legs])
    }
    transfer.legs.set(row.code, (transfer.legs.get(row.code) ?? 0) + Number(row.amount))
  }
  const closedDays = new Set(closed.map(c => c.day))
  for (const ref of posted.keys()) {
    const day = /^settlement:([0-9]{4}-[0-9]{2}-[0-9]{2}):/.exec(ref)?.[1]
    if (day === undefined || !closedDays.has(day)) problems.push(`settlement transfer ${ref}: names no closed settlement day`)
  }

  for (const { day, report, journal } of closed) {
    let stored: StoredSettlementDay
    try {
      stored = JSON.parse(report) as StoredSettlementDay
      if (stored.date !== day || !Array.isArray(stored.positions) || !Array.isArray(stored.operators)) throw new Error('not a report of this day')
    } catch (error) {
      problems.push(`settlement day ${day}: its stored report cannot be read (${(error as Error).message})`)
      continue
    }

    // (a) postings = stored cross-city positions.
    const expected = new Map(settledPositions(stored).map(p => [settlementRef(day, p.issuerCity, p.acquirerCity), p]))
    for (const [ref, position] of expected) {
      const transfers = posted.get(ref) ?? []
      const wanted = settlementLegCodes(position)
      const exact = transfers.length === 1 && transfers[0]!.size === wanted.length && wanted.every(l => transfers[0]!.get(l.code) === l.amount)
      if (!exact) problems.push(`settlement day ${day}: position ${position.issuerCity}→${position.acquirerCity} is ${position.amount} but its settlement postings are ${describe(transfers)}`)
    }
    for (const [ref, transfers] of posted) {
      if (ref.startsWith(`settlement:${day}:`) && !expected.has(ref)) {
        problems.push(`settlement day ${day}: settlement transfer ${ref} (${describe(transfers)}) matches no stored position`)
      }
    }

    // (b) the journal still gives the stored figures.
    try {
      const issuerCities = stored.issuerCities ?? {}
      const recomputed = buildSettlementDay(day, journal, issuer => issuerCities[issuer] ?? issuer)
      for (const part of ['operators', 'positions', 'reconciliation'] as const) {
        if (JSON.stringify(recomputed[part]) !== JSON.stringify(stored[part])) {
          problems.push(`settlement day ${day}: its stored ${part} differ from the journal's (${short(stored[part])} stored, ${short(recomputed[part])} recomputed)`)
        }
      }
    } catch (error) {
      if (!(error instanceof LedgerInvariantError)) throw error
      problems.push(`settlement day ${day}: ${error.message}`)
    }
  }
  return problems
}

function describe (transfers: Array<Map<string, number>>): string {
  if (transfers.length === 0) return 'missing'
  return transfers.map(legs => `[${[...legs].map(([code, amount]) => `${code} ${amount}`).join(', ')}]`).join(' ')
}

/** A figure in a problem line: enough to see it, bounded (a day has many operator rows). */
function short (value: unknown): string {
  const text = JSON.stringify(value) ?? 'nothing'
  return text.length <= PROBLEM_FIGURE_CHARS_MAX ? text : `${text.slice(0, PROBLEM_FIGURE_CHARS_MAX)}…`
}

const PROBLEM_FIGURE_CHARS_MAX = 240
