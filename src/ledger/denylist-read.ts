// The deny list as terminals get it (GET /v1/terminal/denylist): the changes after the version a
// terminal has, folded (the last change of a token wins), or the whole list when its version is
// unknown, older than the changes kept, or too far behind. Versions rise by one per change (one
// writer in SQLite; the meta row lock in PostgreSQL), so "changes after v" are current - v rows.
// The reads run in one snapshot, off the writer; the SQL is the same on both engines.
import { DENYLIST_DELTA_CHANGES_MAX, DENYLIST_ENTRIES_MAX } from '../constants.js'
import { overloaded } from '../errors.js'
import type { DenylistAnswer } from './engine.js'
import type { DenyReason } from './store.js'

export interface DenylistReads {
  version: () => Promise<number> | number
  oldestChange: () => Promise<number | null> | number | null
  changesAfter: (since: number, limit: number) => Promise<Array<{ version: number, token: string, reason: DenyReason | null }>> | Array<{ version: number, token: string, reason: DenyReason | null }>
  entries: (limit: number) => Promise<Array<{ token: string, reason: DenyReason }>> | Array<{ token: string, reason: DenyReason }>
}

/** Placeholders: SQLite `?`, PostgreSQL `$1`, `$2`. */
export function denylistSql (p: (n: number) => string): Record<keyof DenylistReads, string> {
  return {
    version: "SELECT value FROM meta WHERE key = 'denylist_version'",
    oldestChange: 'SELECT MIN(version) AS version FROM denylist_changes',
    changesAfter: `SELECT version, token, reason FROM denylist_changes WHERE version > ${p(1)} ORDER BY version LIMIT ${p(2)}`,
    entries: `SELECT token, reason FROM denylist ORDER BY token LIMIT ${p(1)}`
  }
}

/** Cards that should be listed and are not (a ledger from before the deny list; at most `limit`),
 *  and listed cards that should not be: what the start-up backfill syncs. */
export function denylistBackfillSql (p: (n: number) => string): string {
  return `SELECT c.card_token FROM cards c LEFT JOIN denylist d ON d.card_token = c.card_token
    WHERE COALESCE(d.reason, '-') <> CASE WHEN c.status IN ('lost', 'frozen') THEN c.status WHEN c.debt_fen > 0 THEN 'debt' ELSE '-' END
    ORDER BY c.card_token LIMIT ${p(1)}`
}

/** Cards synced per backfill transaction. */
export const DENYLIST_BACKFILL_BATCH_MAX = 5_000

export async function readDenylist (reads: DenylistReads, since: number | undefined): Promise<DenylistAnswer> {
  const version = await reads.version()
  if (since !== undefined && since === version) return { version, full: false, add: [], remove: [] }
  if (since !== undefined && since >= 0 && since < version && version - since <= DENYLIST_DELTA_CHANGES_MAX) {
    const oldest = await reads.oldestChange()
    if (oldest !== null && oldest <= since + 1) {
      const changes = await reads.changesAfter(since, DENYLIST_DELTA_CHANGES_MAX)
      const last = new Map<string, DenyReason | null>()
      for (const change of changes) last.set(change.token, change.reason)
      const add: DenylistAnswer['add'] = []
      const remove: string[] = []
      for (const [token, reason] of last) {
        if (reason === null) remove.push(token)
        else add.push({ token, reason })
      }
      return { version, full: false, add, remove }
    }
  }
  const entries = await reads.entries(DENYLIST_ENTRIES_MAX + 1)
  if (entries.length > DENYLIST_ENTRIES_MAX) throw overloaded(`the deny list has more than ${DENYLIST_ENTRIES_MAX} entries: not served in full`)
  return { version, full: true, add: entries, remove: [] }
}
