// `npm run ledger:check [-- path/to/ledger.db]`: verifies the ledger's invariants on a file
// (read-only; safe on a live ledger in WAL mode). Exits 1 when any invariant is broken.
// With DATABASE_URL set: the same checks on the PostgreSQL ledger, in one read-only snapshot
// (a live primary, a standby, or a cluster restored from a base backup and its WAL).
import pg from 'pg'
import { checkLedger, type LedgerCheckReport } from '../src/ledger/check.js'
import { parseDatabaseUrl, redactDatabaseUrl } from '../src/ledger/pg-connection.js'
import { checkPgLedger } from '../src/ledger/pg-reports.js'
import { durabilitySettings, openLedgerDb } from '../src/ledger/schema.js'
import { exitOnHelp } from '../src/ops/cli-help.js'
import { existsSync } from 'node:fs'

exitOnHelp(process.argv.slice(2), `usage: npm run ledger:check [-- path/to/ledger.db]
  checks the ledger invariants, read-only (safe on a live ledger); default DB_PATH or data/ledger.db
  DATABASE_URL set: the PostgreSQL ledger there instead (its first host that answers), one snapshot
  exits 0 when every invariant holds, 1 when one is broken, 2 when the ledger cannot be opened`)

const databaseUrl = process.env.DATABASE_URL ?? ''
if (databaseUrl !== '') await checkPostgres(databaseUrl)
else checkFile(process.argv[2] ?? process.env.DB_PATH ?? 'data/ledger.db')

function checkFile (path: string): void {
  if (!existsSync(path)) {
    process.stderr.write(`ledger:check: no ledger file at ${path} (pass its path, or set DB_PATH)\n`)
    process.exit(2)
  }
  const db = openLedgerDb(path, { readonly: true })
  const report = checkLedger(db)
  // journal_mode persists in the file; synchronous is per connection (the service sets FULL on its own).
  const { journalMode } = durabilitySettings(db)
  db.close()
  done({ path, ...report, journalMode }, report)
}

async function checkPostgres (url: string): Promise<void> {
  const target = parseDatabaseUrl(url)
  const failures: string[] = []
  // Any host will do, a standby too: the check only reads.
  for (const { host, port } of target.hosts) {
    const client = new pg.Client({ host, port, user: target.user, password: target.password, database: target.database, ssl: target.ssl ? { rejectUnauthorized: false } : undefined, connectionTimeoutMillis: 10_000 })
    client.on('error', () => {})
    try {
      await client.connect()
    } catch (error) {
      failures.push(`${host}:${port}: ${(error as Error).message}`)
      continue
    }
    try {
      const report = await checkPgLedger(client)
      done({ database: redactDatabaseUrl(url), host: `${host}:${port}`, ...report }, report)
      return
    } finally {
      await client.end().catch(() => {})
    }
  }
  process.stderr.write(`ledger:check: no PostgreSQL host answered at ${redactDatabaseUrl(url)} (${failures.join('; ')})\n`)
  process.exit(2)
}

function done (printed: object, report: LedgerCheckReport): void {
  process.stdout.write(JSON.stringify(printed, null, 2) + '\n')
  process.exitCode = report.ok ? 0 : 1
}
