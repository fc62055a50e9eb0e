// The ledger's SQLite schema and connection settings.
//
// Durability: WAL with synchronous=FULL, set explicitly, so every COMMIT fsyncs the WAL before it
// returns; an answer sent after COMMIT survives a crash or power loss. Measured on this machine:
// one fsync'd commit ≈ 0.2 ms, a 100-row commit ≈ 0.28 ms, which is why taps are group-committed.
import Database from 'better-sqlite3'
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { SQLITE_CACHE_KIB } from '../constants.js'
import type { CardVault } from '../cards/card-vault.js'
import { auditTableDdl, ledgerTablesDdl, offlineTablesDdl, transfersTableDdl } from './ledger-ddl.js'
import { CARD_TOKEN_REWRITES, checkCardDataKey, LEDGER_TABLES_WITH_CARD_KEYS, sealCardRow, type V4CardRow } from './card-tokens.js'

export type Db = Database.Database

// v2 (ledger engine issue): a tap's transfer lives on its own journal row (bank_fen, medical_fen
// from the card's accounts to operator_account_id) instead of a transfers row and two postings rows;
// dated rule state carries an expiry. Measured with better-sqlite3 alone (bench/PERFORMANCE.md):
// 26–29 µs a tap with transfer + postings rows, 15–17 µs with the journal row.
// v3 (issue #13 item 8): the admin audit trail, admin_audit (ledger-ddl.ts auditTableDdl).
// v4 (issue #10): debt on cards, taps and credits; refunds; the deny list; closed settlement days;
// transfer kinds refund and settlement.
// v5 (issue #13 item 7): cards keyed by token; number and holder data sealed (card-tokens.ts).
export const SCHEMA_VERSION = 5

// The check reads balances through the view; on PostgreSQL it adds the hot accounts' shards.
const DDL = `${ledgerTablesDdl('sqlite')}
CREATE VIEW IF NOT EXISTS account_balances AS SELECT id, code, kind, balance FROM accounts;
${auditTableDdl('sqlite')}
${offlineTablesDdl('sqlite')}`

// Indexes that need the v2 columns: created after the migration adds them to a v1 file.
const DDL_V2_INDEXES = `
CREATE INDEX IF NOT EXISTS card_state_by_expiry ON card_state (expires_at_ms) WHERE expires_at_ms IS NOT NULL;
`

/** Brings an older file to SCHEMA_VERSION, one version step at a time, each in its own transaction.
 *  v1 → v2: add the journal columns and the state expiry. Old taps keep their postings rows. */
function migrate (db: Db, vault: CardVault | undefined): void {
  const version = Number(db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get() ?? SCHEMA_VERSION)
  if (version > SCHEMA_VERSION) throw new Error(`ledger schema version ${version} is newer than this program (${SCHEMA_VERSION})`)
  if (version < 2) {
    db.transaction(() => {
      const tapColumns = new Set((db.prepare('PRAGMA table_info(taps)').all() as Array<{ name: string }>).map(c => c.name))
      if (!tapColumns.has('bank_fen')) db.exec('ALTER TABLE taps ADD COLUMN bank_fen INTEGER NOT NULL DEFAULT 0 CHECK (bank_fen >= 0)')
      if (!tapColumns.has('medical_fen')) db.exec('ALTER TABLE taps ADD COLUMN medical_fen INTEGER NOT NULL DEFAULT 0 CHECK (medical_fen >= 0)')
      if (!tapColumns.has('operator_account_id')) db.exec('ALTER TABLE taps ADD COLUMN operator_account_id INTEGER REFERENCES accounts(id)')
      const terminalColumns = new Set((db.prepare('PRAGMA table_info(terminals)').all() as Array<{ name: string }>).map(c => c.name))
      if (!terminalColumns.has('card_authentication')) db.exec("ALTER TABLE terminals ADD COLUMN card_authentication TEXT CHECK (card_authentication IN ('optional', 'required'))")
      const stateColumns = new Set((db.prepare('PRAGMA table_info(card_state)').all() as Array<{ name: string }>).map(c => c.name))
      if (!stateColumns.has('expires_at_ms')) db.exec('ALTER TABLE card_state ADD COLUMN expires_at_ms INTEGER')
      db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run('2')
    })()
  }
  db.exec(DDL_V2_INDEXES)
  // v2 → v3: the audit table (DDL above creates it on every open; this step owns the version).
  if (version < 3) {
    db.transaction(() => {
      db.exec(auditTableDdl('sqlite'))
      db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run('3')
    })()
  }
  if (version < 4) migrateToV4(db)
  if (version < 5) migrateToV5(db, vault)
}

/**
 * v4 → v5, in one transaction: every card number that is a key becomes the card's token, the
 * cards table is rebuilt with the number and holder data sealed, and references that named a card
 * (an opening credit's) name its token. Then VACUUM rewrites the file and the WAL is truncated, so
 * no page of the file still holds a number or a birth date that the migration replaced.
 */
const MIGRATION_CARDS_PER_PAGE = 5_000

function migrateToV5 (db: Db, vault: CardVault | undefined): void {
  const hasColumn = (table: string, column: string): boolean =>
    (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).some(c => c.name === column)
  if (!hasColumn('cards', 'card_no')) {
    // Created by this version's DDL (a v1–v4 file without a cards table cannot exist): only the version.
    db.prepare("UPDATE meta SET value = '5' WHERE key = 'schema_version'").run()
    return
  }
  if (vault === undefined) throw new Error('this ledger must be migrated to schema v5 (card numbers tokenised), which needs CARD_DATA_KEY: start the service on it once')
  db.pragma('foreign_keys = OFF')
  db.pragma('secure_delete = ON')
  try {
    db.transaction(() => {
      for (const table of LEDGER_TABLES_WITH_CARD_KEYS) {
        if (hasColumn(table, 'card_no')) db.exec(`ALTER TABLE ${table} RENAME COLUMN card_no TO card_token`)
      }
      db.exec('ALTER TABLE cards RENAME TO cards_v4')
      db.exec(ledgerTablesDdl('sqlite'))
      db.exec('CREATE TEMP TABLE card_token_map (card_no TEXT PRIMARY KEY, token TEXT NOT NULL UNIQUE)')
      const insertCard = db.prepare(`INSERT INTO cards (card_token, issuer, status, expires_on, sealed, bank_account_id, medical_account_id, created_at, debt_fen)
        VALUES (@token, @issuer, @status, @expires_on, @sealed, @bank_account_id, @medical_account_id, @created_at, @debt_fen)`)
      const insertMapping = db.prepare('INSERT INTO card_token_map (card_no, token) VALUES (?, ?)')
      // In pages by key (a statement cannot write while another one is still reading).
      const page = db.prepare(`SELECT * FROM cards_v4 WHERE card_token > ? ORDER BY card_token LIMIT ${MIGRATION_CARDS_PER_PAGE}`)
      for (let after = ''; ;) {
        const rows = page.all(after) as Array<V4CardRow & { card_token: string }>
        for (const row of rows) {
          const sealed = sealCardRow(vault, { ...row, card_no: row.card_token })
          insertCard.run({ ...row, ...sealed })
          insertMapping.run(row.card_token, sealed.token)
        }
        if (rows.length < MIGRATION_CARDS_PER_PAGE) break
        after = rows[rows.length - 1]!.card_token
      }
      db.exec('DROP TABLE cards_v4')
      for (const statement of CARD_TOKEN_REWRITES) db.exec(statement)
      db.exec('DROP TABLE card_token_map')
      const broken = db.prepare('PRAGMA foreign_key_check').all()
      if (broken.length > 0) throw new Error(`ledger migration to v5 left ${broken.length} broken references; nothing was changed`)
      db.prepare("INSERT INTO meta (key, value) VALUES ('card_data_key_id', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(vault.keyId)
      db.prepare("UPDATE meta SET value = '5' WHERE key = 'schema_version'").run()
    })()
  } finally {
    db.pragma('foreign_keys = ON')
  }
  // Outside the transaction (VACUUM cannot run in one). secure_delete zeroed what the migration
  // deleted; VACUUM rebuilds every page, the truncating checkpoint empties the WAL of old frames.
  db.exec('VACUUM')
  db.pragma('wal_checkpoint(TRUNCATE)')
  db.pragma('secure_delete = OFF')
}

/**
 * v3 → v4: debt columns, and transfers rebuilt to widen its kind CHECK (SQLite cannot alter a
 * CHECK): the documented procedure (sqlite.org/lang_altertable.html, "other kinds of table schema
 * changes"): foreign keys off, new table, copy, drop, rename, foreign_key_check, foreign keys on.
 * Ids are copied, so every posting, tap and credit still names its transfer.
 */
function migrateToV4 (db: Db): void {
  db.pragma('foreign_keys = OFF')
  try {
    db.transaction(() => {
      const hasColumn = (table: string, column: string): boolean =>
        (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).some(c => c.name === column)
      for (const table of ['cards', 'taps', 'credits']) {
        if (!hasColumn(table, 'debt_fen')) db.exec(`ALTER TABLE ${table} ADD COLUMN debt_fen INTEGER NOT NULL DEFAULT 0 CHECK (debt_fen >= 0)`)
      }
      const transfersSql = String(db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'transfers'").pluck().get())
      if (!transfersSql.includes("'settlement'")) {
        db.exec(transfersTableDdl('sqlite', 'transfers_v4'))
        db.exec('INSERT INTO transfers_v4 (id, kind, ref, created_at) SELECT id, kind, ref, created_at FROM transfers')
        db.exec('DROP TABLE transfers')
        db.exec('ALTER TABLE transfers_v4 RENAME TO transfers')
      }
      const broken = db.prepare('PRAGMA foreign_key_check').all()
      if (broken.length > 0) throw new Error(`ledger migration to v4 left ${broken.length} broken references; nothing was changed`)
      db.exec(offlineTablesDdl('sqlite'))
      db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run('4')
    })()
  } finally {
    db.pragma('foreign_keys = ON')
  }
}

/**
 * The ledger and its -wal/-shm hold money and holder data: mode 0600, its folder 0700 when we
 * create it. The file is created 0600 before SQLite opens it, and SQLite creates the -wal and -shm
 * with the database file's mode; a file left 0644 by an older version is tightened at open.
 */
function keepPrivate (path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  closeSync(openSync(path, 'a', 0o600))
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
}

export interface OpenOptions {
  readonly?: boolean
  /** Page cache size in KiB. 64 MiB keeps the hot parts of a 10 M-tap ledger's indexes in memory. */
  cacheKib?: number
  /** The card data key (src/cards/card-vault.ts): checked against the ledger's key id, and needed
   *  to migrate a v4 ledger. Without it a v5 ledger opens unchecked (tools that read no card). */
  vault?: CardVault
}

export function openLedgerDb (path: string, options: OpenOptions = {}): Db {
  if (path !== ':memory:' && options.readonly !== true) keepPrivate(path)
  const db = new Database(path, { readonly: options.readonly === true, fileMustExist: options.readonly === true })
  db.pragma('busy_timeout = 5000')
  if (options.readonly !== true) {
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = FULL')
    db.pragma('foreign_keys = ON')
    db.exec(DDL)
    db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run('schema_version', String(SCHEMA_VERSION))
    migrate(db, options.vault)
    if (options.vault !== undefined) checkCardDataKey(db, options.vault.keyId)
  }
  db.pragma(`cache_size = -${options.cacheKib ?? SQLITE_CACHE_KIB}`)
  db.pragma('temp_store = MEMORY')
  return db
}

export function durabilitySettings (db: Db): { journalMode: string, synchronous: string } {
  const journalMode = String(db.pragma('journal_mode', { simple: true }))
  const synchronousLevel = Number(db.pragma('synchronous', { simple: true }))
  const synchronous = ['OFF', 'NORMAL', 'FULL', 'EXTRA'][synchronousLevel] ?? String(synchronousLevel)
  return { journalMode, synchronous }
}
