// Reports on a PostgreSQL ledger: each in one snapshot (REPEATABLE READ, read only), so every query
// of a check sees the same committed state while the service processes go on writing. Used by the
// engine and by tests that check the ledger with no service running (after a crash).
import type pg from 'pg'
import { PG_REPORT_STATEMENT_MS_MAX } from '../constants.js'
import { checkReport, LEDGER_CHECK_SQL, type LedgerCheckReport } from './check.js'

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
    return checkReport(results)
  })
}
