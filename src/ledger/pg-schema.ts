// The ledger's PostgreSQL schema: the tables both engines share (ledger-ddl.ts) with PostgreSQL
// types, plus balance shards for the hot accounts and the view the check reads balances through.
//
// Hot accounts (operator receivables, issuer clearing) are credited by every tap of their
// operator. One row per account would be locked by every batch of every service process until its
// commit (and, with a synchronous standby, until the standby confirmed it): the processes would
// take turns. So their balance lives in account_shards rows, one per (account, shard), each
// process writing its own shard: the balance is accounts.balance plus the sum of the shards
// (the account_balances view). Card accounts keep their balance on the account row, written under
// the card's row lock.
import type pg from 'pg'
import { auditTableDdl, ledgerTablesDdl, offlineTablesDdl, TRANSFER_KINDS } from './ledger-ddl.js'

/** Versions of this schema, applied in order under an advisory lock (several processes start at
 *  once). Each entry is idempotent DDL; the version reached is kept in meta.schema_version.
 *  Version 1 creates the current tables; a later change to them adds a version that alters
 *  databases created before it. */
export const PG_MIGRATIONS: ReadonlyArray<{ version: number, name: string, sql: string }> = [
  {
    version: 1,
    name: 'ledger',
    sql: `
${ledgerTablesDdl('postgres')}
CREATE TABLE IF NOT EXISTS account_shards (
  account_id bigint NOT NULL REFERENCES accounts(id),
  shard smallint NOT NULL,
  balance bigint NOT NULL,
  PRIMARY KEY (account_id, shard)
);

CREATE OR REPLACE VIEW account_balances AS
  SELECT a.id, a.code, a.kind,
    a.balance + COALESCE((SELECT SUM(s.balance) FROM account_shards s WHERE s.account_id = a.id), 0)::bigint AS balance
  FROM accounts a;

CREATE INDEX IF NOT EXISTS card_state_by_expiry ON card_state (expires_at_ms) WHERE expires_at_ms IS NOT NULL;
CREATE INDEX IF NOT EXISTS taps_by_recorded ON taps (recorded_at);
`
  },
  {
    // Issue #13 item 8: the admin audit trail, written in each admin change's transaction.
    version: 2,
    name: 'admin audit',
    sql: auditTableDdl('postgres')
  },
  {
    // Issue #10: debt, refunds, the deny list, closed settlement days, two more transfer kinds.
    // Idempotent on a database that migration 1 created with today's tables.
    version: 3,
    name: 'offline, debt and settlement',
    sql: `
ALTER TABLE cards ADD COLUMN IF NOT EXISTS debt_fen bigint NOT NULL DEFAULT 0 CHECK (debt_fen >= 0);
ALTER TABLE taps ADD COLUMN IF NOT EXISTS debt_fen bigint NOT NULL DEFAULT 0 CHECK (debt_fen >= 0);
ALTER TABLE credits ADD COLUMN IF NOT EXISTS debt_fen bigint NOT NULL DEFAULT 0 CHECK (debt_fen >= 0);
ALTER TABLE transfers DROP CONSTRAINT IF EXISTS transfers_kind_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_kind_check CHECK (kind IN (${TRANSFER_KINDS.map(k => `'${k}'`).join(', ')}));
${offlineTablesDdl('postgres')}
`
  }
]

export const PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]!.version

// Any constant: the key of the advisory lock migrations run under.
const MIGRATION_LOCK_KEY = 0x796b74 // "ykt"

/** Brings the database to PG_SCHEMA_VERSION; refuses one newer than this program. */
export async function migratePg (client: pg.ClientBase): Promise<void> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
  try {
    await client.query('CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL)')
    const found = await client.query<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'")
    const version = found.rows.length === 0 ? 0 : Number(found.rows[0]!.value)
    if (version > PG_SCHEMA_VERSION) throw new Error(`ledger schema version ${version} is newer than this program (${PG_SCHEMA_VERSION})`)
    for (const migration of PG_MIGRATIONS) {
      if (migration.version <= version) continue
      await client.query('BEGIN')
      try {
        await client.query(migration.sql)
        await client.query(`INSERT INTO meta (key, value) VALUES ('schema_version', $1)
          ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [String(migration.version)])
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {})
        throw error
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {})
  }
}
