// One writer per ledger. A second service on the same file used to start, answer 500s ("database
// is locked") and approve taps on a terminal the first one had disabled. The lock is a second
// SQLite file beside the ledger, held in EXCLUSIVE locking mode inside an open transaction for as
// long as the service runs: SQLite's own POSIX lock, released by the kernel when the process dies,
// however it dies. Readers of the ledger itself (ledger:check, backups) are not affected.
import Database from 'better-sqlite3'
import { closeSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'

export class LedgerLockedError extends Error {
  readonly code = 'LEDGER_LOCKED'
}

export interface LedgerLock { release: () => void }

export function lockLedger (dbPath: string): LedgerLock {
  if (dbPath === ':memory:') return { release: () => {} }
  const lockPath = `${dbPath}.lock`
  mkdirSync(dirname(lockPath), { recursive: true, mode: 0o700 })
  // 0600 like everything beside the ledger (its -journal takes the same mode).
  closeSync(openSync(lockPath, 'a', 0o600))
  const lock = new Database(lockPath)
  try {
    lock.pragma('busy_timeout = 0')
    lock.pragma('locking_mode = EXCLUSIVE')
    lock.exec('BEGIN EXCLUSIVE')
  } catch (error) {
    lock.close()
    const code = (error as { code?: string }).code
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      throw new LedgerLockedError(`ledger ${dbPath} is in use by another yikatong process (lock file ${lockPath}): one writer per ledger`)
    }
    throw error
  }
  return {
    release: () => {
      try { lock.exec('ROLLBACK') } catch { /* already released */ }
      lock.close()
    }
  }
}
