// Which ledger engine the suite runs on: one switch for the whole suite.
//   YKT_TEST_ENGINE=postgres YKT_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/postgres npm test
// runs every test that boots the app or the service on a fresh PostgreSQL database of its own
// (created here, dropped at teardown); unset, on a fresh SQLite file. Tests that look inside the
// SQLite file itself (fault injection, the writer thread, backups) say they are skipped, and why.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { Test } from 'tap'
import Database from 'better-sqlite3'
import { checkLedger, type LedgerCheckReport } from '../../src/ledger/check.js'
import { checkPgLedger } from '../../src/ledger/pg-reports.js'

export type TestEngine = 'sqlite' | 'postgres'

export function testEngine (env: NodeJS.ProcessEnv = process.env): TestEngine {
  // DATABASE_URL set for the whole run means PostgreSQL too: its server gets a database per test.
  const wanted = env.YKT_TEST_ENGINE ?? (env.DATABASE_URL !== undefined && env.DATABASE_URL !== '' ? 'postgres' : 'sqlite')
  if (wanted !== 'sqlite' && wanted !== 'postgres') throw new Error(`YKT_TEST_ENGINE must be sqlite or postgres, got ${wanted}`)
  return wanted
}

/** A tap `skip` option for a test that needs the SQLite engine itself. */
export function sqliteOnly (why: string): { skip: string | false } {
  return testEngine() === 'sqlite' ? { skip: false } : { skip: `SQLite engine only: ${why}` }
}

function adminUrl (): string {
  const url = process.env.YKT_TEST_PG_URL ?? process.env.DATABASE_URL
  if (url === undefined || url === '') {
    throw new Error('YKT_TEST_ENGINE=postgres needs YKT_TEST_PG_URL (or DATABASE_URL), a URL of a PostgreSQL server where tests may create databases')
  }
  return url
}

/** The URL of `database` on the test server. */
export function databaseUrlOf (database: string): string {
  return adminUrl().replace(/\/[^/?]*(\?|$)/, `/${database}$1`)
}

/** A fresh database, dropped when the test ends (after its app closed: teardowns run in reverse). */
export async function createTestDatabase (t: Test): Promise<string> {
  const name = `ykt_t_${process.pid}_${randomBytes(4).toString('hex')}`
  await withAdmin(async client => { await client.query(`CREATE DATABASE ${name}`) })
  t.teardown(async () => {
    await withAdmin(async client => { await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) })
  })
  return databaseUrlOf(name)
}

async function withAdmin<T> (work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl(), connectionTimeoutMillis: 5_000 })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

/** The ledger check straight off the storage, no service in between (after a crash). */
export async function checkStoredLedger (where: { dbPath: string, databaseUrl?: string }): Promise<LedgerCheckReport> {
  if (where.databaseUrl === undefined) {
    const db = new Database(where.dbPath, { readonly: true, fileMustExist: true })
    try { return checkLedger(db) } finally { db.close() }
  }
  const client = new pg.Client({ connectionString: where.databaseUrl })
  await client.connect()
  try {
    return await checkPgLedger(client)
  } finally {
    await client.end()
  }
}

/** Rows straight off the storage: `sql` must be portable (PostgreSQL placeholders are $1...). */
export async function queryStoredLedger (where: { dbPath: string, databaseUrl?: string }, sql: string): Promise<any[]> {
  if (where.databaseUrl === undefined) {
    const db = new Database(where.dbPath, { readonly: true, fileMustExist: true })
    try { return db.prepare(sql).all() } finally { db.close() }
  }
  const client = new pg.Client({ connectionString: where.databaseUrl })
  await client.connect()
  try { return (await client.query(sql)).rows } finally { await client.end() }
}

/** A tap `skip` option for a test of the PostgreSQL engine (several processes on one ledger). */
export function postgresOnly (why: string): { skip: string | false } {
  return testEngine() === 'postgres' ? { skip: false } : { skip: `PostgreSQL engine only (npm run test:pg): ${why}` }
}

/** Runs a write straight on the storage, behind the service's back (tampering, old ledgers): `sql`
 *  must be portable. Only while no service holds a SQLite file (its writer has it locked). */
export async function execStoredLedger (where: { dbPath: string, databaseUrl?: string }, sql: string): Promise<void> {
  if (where.databaseUrl === undefined) {
    const db = new Database(where.dbPath, { fileMustExist: true })
    try { db.exec(sql) } finally { db.close() }
    return
  }
  const client = new pg.Client({ connectionString: where.databaseUrl })
  await client.connect()
  try { await client.query(sql) } finally { await client.end() }
}
