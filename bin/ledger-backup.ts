// `npm run ledger:backup -- --db data/ledger.db --out backup.db [--force]`: an online backup of the
// ledger while the service serves it, from a separate process.
//
// How: SQLite's backup API (better-sqlite3 db.backup()) on a read-only connection. The ledger is in
// WAL mode, so this reader never blocks the service's writer, and it copies one consistent snapshot:
// all pages in one step (a backup copied in several steps restarts whenever the writer commits in
// between, and at thousands of taps a second it would never finish). The copy is written to a
// temporary file next to --out, made owner-only (0600: it holds terminal secrets and card data),
// verified (PRAGMA integrity_check, then the ledger's own invariants), and only then renamed to --out.
//
// Restore = start the service on the copy: DB_PATH=backup.db npm start. Every tap approved before
// the backup replays its recorded answer (test/ledger-backup.test.ts). The issuer key file
// (ISSUER_KEYS_FILE or issuer-keys.json next to the ledger) is not in the ledger: back it up on its
// own, as the secret it is.
// Exit codes: 0 done, 1 the copy failed verification (nothing left at --out), 2 bad usage.
import Database from 'better-sqlite3'
import { chmodSync, existsSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname, join, basename, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { checkLedger } from '../src/ledger/check.js'

export interface BackupReport {
  ok: boolean
  db: string
  out: string
  pages: number
  bytes: number
  ms: number
  integrity: string
  ledgerCheck: { ok: boolean, problems: string[], counts: Record<string, number> }
}

export class BackupError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.name = 'BackupError'
    this.code = code
  }
}

const INTEGRITY_ERRORS_MAX = 20

/** PRAGMA integrity_check and the ledger invariants on a (copied) ledger file, read-only. */
export function verifyLedgerFile (path: string): { integrity: string, ledgerCheck: BackupReport['ledgerCheck'] } {
  let db: Database.Database | undefined
  try {
    db = new Database(path, { readonly: true, fileMustExist: true })
    const rows = db.pragma(`integrity_check(${INTEGRITY_ERRORS_MAX})`) as Array<{ integrity_check: string }>
    const integrity = rows.map(r => r.integrity_check).join('; ')
    if (integrity !== 'ok') return { integrity, ledgerCheck: { ok: false, problems: ['not checked: the file is damaged'], counts: {} } }
    const report = checkLedger(db)
    return { integrity, ledgerCheck: { ok: report.ok, problems: report.problems, counts: report.counts } }
  } catch (err) {
    return { integrity: `unreadable: ${(err as Error).message}`, ledgerCheck: { ok: false, problems: ['not checked: the file is unreadable'], counts: {} } }
  } finally {
    db?.close()
  }
}

export async function backupLedger (o: { db: string, out: string, force?: boolean }): Promise<BackupReport> {
  const db = resolve(o.db)
  const out = resolve(o.out)
  if (!existsSync(db)) throw new BackupError('BACKUP_NO_SOURCE', `no ledger at ${db}`)
  if (db === out) throw new BackupError('BACKUP_SAME_FILE', '--out must not be the ledger itself')
  if (existsSync(out) && o.force !== true) throw new BackupError('BACKUP_OUT_EXISTS', `${out} exists (use --force to replace it)`)
  if (!existsSync(dirname(out))) throw new BackupError('BACKUP_NO_OUT_DIR', `folder ${dirname(out)} does not exist`)
  const tmp = join(dirname(out), `.${basename(out)}.${process.pid}.partial`)
  const started = performance.now()
  const source = new Database(db, { readonly: true, fileMustExist: true })
  let pages = 0
  try {
    // Returning the total page count copies everything in one step: one consistent snapshot.
    await source.backup(tmp, { progress: ({ totalPages }) => { pages = totalPages; return Math.max(totalPages, 1) } })
  } catch (err) {
    rmSync(tmp, { force: true })
    throw new BackupError('BACKUP_FAILED', `backup of ${db} failed: ${(err as Error).message}`)
  } finally {
    source.close()
  }
  chmodSync(tmp, 0o600)
  const verified = verifyLedgerFile(tmp)
  const ok = verified.integrity === 'ok' && verified.ledgerCheck.ok
  const bytes = statSync(tmp).size
  if (ok) renameSync(tmp, out)
  else rmSync(tmp, { force: true })
  return { ok, db, out, pages, bytes, ms: Math.round(performance.now() - started), ...verified }
}

async function main (): Promise<void> {
  let values: { db?: string, out?: string, force?: boolean }
  try {
    ({ values } = parseArgs({ options: { db: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean', default: false } } }))
  } catch (err) {
    process.stderr.write(`ledger:backup: ${(err as Error).message}\n`)
    process.exit(2)
  }
  const dbPath = values.db ?? process.env.DB_PATH ?? 'data/ledger.db'
  if (values.out === undefined) {
    process.stderr.write('usage: npm run ledger:backup -- --db data/ledger.db --out backup.db [--force]\n')
    process.exit(2)
  }
  try {
    const report = await backupLedger({ db: dbPath, out: values.out, force: values.force })
    process.stdout.write(JSON.stringify(report, null, 2) + '\n')
    process.exitCode = report.ok ? 0 : 1
  } catch (err) {
    if (!(err instanceof BackupError)) throw err
    process.stderr.write(`ledger:backup: ${err.message}\n`)
    process.exit(err.code === 'BACKUP_FAILED' ? 1 : 2)
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
