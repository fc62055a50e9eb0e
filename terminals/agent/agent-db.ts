// The agent's own SQLite file: the offline queue, its dead letters, per-card offline usage and the
// cached deny list. One file, so a tap's queue row and its card's usage change in one transaction.
//   WAL + synchronous=FULL: a committed row survives a crash or power loss of the terminal (the WAL
//   is fsynced at every commit), which is the point of queueing a tap the rider was let through on.
//   Mode 0600: the file holds tap bodies (card numbers) and the deny-list key; only the agent's user.
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs'
import Database from 'better-sqlite3'

export type AgentDb = Database.Database

/** Bump with a migration step below when the schema changes. */
const SCHEMA_VERSION = 1

export class AgentDbError extends Error {
  override readonly name = 'AgentDbError'
  constructor (readonly code: 'AGENT_DB_SCHEMA_NEWER' | 'AGENT_DB_OPEN_FAILED', message: string) { super(message) }
}

export function openAgentDb (path: string): AgentDb {
  // Created 0600 before SQLite sees it: SQLite gives the -wal and -shm files the database's mode.
  if (path !== ':memory:' && !existsSync(path)) closeSync(openSync(path, 'wx', 0o600))
  if (path !== ':memory:') chmodSync(path, 0o600)
  let db: AgentDb
  try {
    db = new Database(path)
  } catch (err) {
    throw new AgentDbError('AGENT_DB_OPEN_FAILED', `agent database ${path}: ${(err as Error).message}`)
  }
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  // The agent is the file's only user; a short wait covers a second process opened by mistake.
  db.pragma('busy_timeout = 2000')
  const version = db.pragma('user_version', { simple: true }) as number
  if (version > SCHEMA_VERSION) {
    db.close()
    throw new AgentDbError('AGENT_DB_SCHEMA_NEWER', `agent database ${path} has schema ${version}, this agent knows ${SCHEMA_VERSION}`)
  }
  if (version < 1) {
    db.exec(`
      BEGIN;
      -- seq keeps arrival order for taps with the same at (a bounce of the clock, two readers).
      CREATE TABLE queue (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tap_id TEXT NOT NULL UNIQUE,
        at_ms INTEGER NOT NULL,
        body BLOB NOT NULL,
        card_token TEXT NOT NULL,
        risk_token TEXT,
        risk_amount_fen INTEGER NOT NULL DEFAULT 0,
        queued_at_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at_ms INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
      );
      CREATE INDEX queue_by_at ON queue (at_ms, seq);
      CREATE INDEX queue_by_risk_token ON queue (risk_token) WHERE risk_token IS NOT NULL;
      -- Taps the service will never take as they are: kept with their bytes for reconciliation.
      CREATE TABLE dead_letter (
        tap_id TEXT PRIMARY KEY,
        at_ms INTEGER NOT NULL,
        body BLOB NOT NULL,
        card_token TEXT NOT NULL,
        reason TEXT NOT NULL,
        status INTEGER,
        code TEXT,
        attempts INTEGER NOT NULL,
        dead_at_ms INTEGER NOT NULL
      );
      -- Offline use of a card since it last got an online answer, by deny-list token (never the number).
      CREATE TABLE card_risk (
        token TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        amount_fen INTEGER NOT NULL,
        first_at_ms INTEGER NOT NULL
      );
      CREATE TABLE denylist (token TEXT PRIMARY KEY, reason TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      PRAGMA user_version = 1;
      COMMIT;
    `)
  }
  return db
}

export function getMeta (db: AgentDb, key: string): string | undefined {
  return (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value
}

export function setMeta (db: AgentDb, key: string, value: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value)
}
