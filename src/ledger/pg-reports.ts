// Reports on a PostgreSQL ledger: each in one snapshot (REPEATABLE READ, read only), so every query
// of a check sees the same committed state while the service processes go on writing. Used by the
// engine and by tests that check the ledger with no service running (after a crash).
import type pg from 'pg'
import { PG_REPORT_STATEMENT_MS_MAX } from '../constants.js'
import { checkReport, LEDGER_CHECK_SQL, withProblems, type LedgerCheckReport } from './check.js'
import { settlementDayProblems, type SettlementLegRow } from './settlement-day-check.js'
import { CLOSED_DAYS_SQL, SETTLEMENT_LEGS_SQL, settlementDayJournal, settlementDayQueries, type SettlementDayJournal } from './settlement-days.js'

export async function inPgSnapshot<T> (client: pg.ClientBase, work: (client: pg.ClientBase) => Promise<T>): Promise<T> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
  try {
    await client.query(`SET LOCAL statement_timeout = ${PG_REPORT_STATEMENT_MS_MAX}`)
    return await work(client)
  } finally {
    await client.query('ROLLBACK').catch(() => {})
  }
}

/** `ledger check` on PostgreSQL: the same SQL as on SQLite (check.ts), in one snapshot. */
export async function checkPgLedger (client: pg.ClientBase): Promise<LedgerCheckReport> {
  return await inPgSnapshot(client, async snapshot => {
    const results: unknown[][] = []
    for (const sql of LEDGER_CHECK_SQL) results.push((await snapshot.query(sql)).rows)
    // Closed settlement days, in the same snapshot (check.ts item 8).
    const closed = []
    for (const row of (await snapshot.query<{ day: string, report: string }>(CLOSED_DAYS_SQL)).rows) {
      closed.push({ ...row, journal: await readPgSettlementDay(snapshot, row.day) })
    }
    const legs = (await snapshot.query<SettlementLegRow>(SETTLEMENT_LEGS_SQL)).rows
    return withProblems(checkReport(results), settlementDayProblems(closed, legs))
  })
}

/** A settlement day's journal (settlement-days.ts), on this client: inside a snapshot for a read,
 *  inside the closing transaction for a close. The three queries are pipelined. */
export async function readPgSettlementDay (client: pg.ClientBase, date: string): Promise<SettlementDayJournal> {
  const [stored, rows, legs] = await Promise.all(settlementDayQueries(date, 'postgres').map(async q => (await client.query(q.text, q.values)).rows))
  return settlementDayJournal(stored!, rows!, legs!)
}
