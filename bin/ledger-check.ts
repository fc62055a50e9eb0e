// `npm run ledger:check [-- path/to/ledger.db]`: verifies the ledger's invariants on a file
// (read-only; safe on a live ledger in WAL mode). Exits 1 when any invariant is broken.
import { checkLedger } from '../src/ledger/check.js'
import { durabilitySettings, openLedgerDb } from '../src/ledger/schema.js'
import { exitOnHelp } from '../src/ops/cli-help.js'
import { existsSync } from 'node:fs'

exitOnHelp(process.argv.slice(2), `usage: npm run ledger:check [-- path/to/ledger.db]
  checks the ledger invariants, read-only (safe on a live ledger); default DB_PATH or data/ledger.db
  exits 0 when every invariant holds, 1 when one is broken, 2 when the file cannot be opened`)

const path = process.argv[2] ?? process.env.DB_PATH ?? 'data/ledger.db'
if (!existsSync(path)) {
  process.stderr.write(`ledger:check: no ledger file at ${path} (pass its path, or set DB_PATH)\n`)
  process.exit(2)
}
const db = openLedgerDb(path, { readonly: true })
const report = checkLedger(db)
// journal_mode persists in the file; synchronous is per connection (the service sets FULL on its own).
const { journalMode } = durabilitySettings(db)
db.close()
process.stdout.write(JSON.stringify({ path, ...report, journalMode }, null, 2) + '\n')
process.exitCode = report.ok ? 0 : 1
