// `npm run ledger:check [-- path/to/ledger.db]`: verifies the ledger's invariants on a file
// (read-only; safe on a live ledger in WAL mode). Exits 1 when any invariant is broken.
import { checkLedger } from '../src/ledger/check.js'
import { durabilitySettings, openLedgerDb } from '../src/ledger/schema.js'

const path = process.argv[2] ?? process.env.DB_PATH ?? 'data/ledger.db'
const db = openLedgerDb(path, { readonly: true })
const report = checkLedger(db)
// journal_mode persists in the file; synchronous is per connection (the service sets FULL on its own).
const { journalMode } = durabilitySettings(db)
db.close()
process.stdout.write(JSON.stringify({ path, ...report, journalMode }, null, 2) + '\n')
process.exitCode = report.ok ? 0 : 1
