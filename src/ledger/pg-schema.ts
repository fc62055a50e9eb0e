// The ledger's PostgreSQL schema: the SQLite schema's tables (schema.ts) with PostgreSQL types,
// plus balance shards for the hot accounts. Same names, same columns, same constraints, so the
// check (check.ts) and the reports (settlement.ts) run the same SQL on both engines.
//
// Hot accounts (operator receivables, issuer clearing) are credited by every tap of their
// operator. One row per account would be locked by every batch of every service process until its
// commit (and, with a synchronous standby, until the standby confirmed it): the processes would
// take turns. So their balance lives in account_shards rows, one per (account, shard), each
// process writing its own shard: the balance is accounts.balance plus the sum of the shards
// (the account_balances view). Card accounts keep their balance on the account row, written under
// the card's row lock.
import type pg from 'pg'

/** Versions of this schema, applied in order under an advisory lock (several processes start at
 *  once). Each entry is idempotent DDL; the version reached is kept in meta.schema_version. */
export const PG_MIGRATIONS: ReadonlyArray<{ version: number, name: string, sql: string }> = [
  {
    version: 1,
    name: 'ledger',
    sql: `
CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL);

CREATE TABLE IF NOT EXISTS terminals (
  terminal_id text PRIMARY KEY,
  city text NOT NULL,
  scenario text NOT NULL,
  operator text NOT NULL,
  location text NOT NULL,
  secret text NOT NULL,
  status text NOT NULL CHECK (status IN ('active', 'disabled')),
  created_at text NOT NULL,
  card_authentication text CHECK (card_authentication IN ('optional', 'required'))
);

CREATE TABLE IF NOT EXISTS accounts (
  id bigserial PRIMARY KEY,
  code text NOT NULL UNIQUE,
  kind text NOT NULL CHECK (kind IN ('card', 'operator', 'clearing')),
  balance bigint NOT NULL DEFAULT 0,
  CHECK (kind <> 'card' OR balance >= 0)
);

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

CREATE TABLE IF NOT EXISTS cards (
  card_no text PRIMARY KEY,
  issuer text NOT NULL,
  status text NOT NULL CHECK (status IN ('active', 'lost', 'frozen')),
  expires_on text,
  birth_date text,
  categories text NOT NULL,
  bank_account_id bigint NOT NULL REFERENCES accounts(id),
  medical_account_id bigint NOT NULL REFERENCES accounts(id),
  created_at text NOT NULL
);

CREATE TABLE IF NOT EXISTS transfers (
  id bigserial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('tap', 'credit', 'reversal')),
  ref text NOT NULL,
  created_at text NOT NULL
);

CREATE TABLE IF NOT EXISTS postings (
  transfer_id bigint NOT NULL REFERENCES transfers(id),
  account_id bigint NOT NULL REFERENCES accounts(id),
  amount bigint NOT NULL CHECK (amount <> 0),
  PRIMARY KEY (transfer_id, account_id)
);

CREATE TABLE IF NOT EXISTS taps (
  id bigserial PRIMARY KEY,
  terminal_id text NOT NULL,
  tap_id text NOT NULL,
  body_hash text NOT NULL,
  card_no text,
  scenario text NOT NULL,
  city text NOT NULL,
  decision text NOT NULL CHECK (decision IN ('approved', 'declined')),
  reason text,
  amount bigint NOT NULL CHECK (amount >= 0),
  account text,
  at text NOT NULL,
  recorded_at text NOT NULL,
  transfer_id bigint REFERENCES transfers(id),
  reversal_transfer_id bigint REFERENCES transfers(id),
  response text NOT NULL,
  bank_fen bigint NOT NULL DEFAULT 0 CHECK (bank_fen >= 0),
  medical_fen bigint NOT NULL DEFAULT 0 CHECK (medical_fen >= 0),
  operator_account_id bigint REFERENCES accounts(id)
);
CREATE UNIQUE INDEX IF NOT EXISTS taps_idempotency ON taps (terminal_id, tap_id);
CREATE INDEX IF NOT EXISTS taps_by_card ON taps (card_no, id);
CREATE INDEX IF NOT EXISTS taps_by_recorded ON taps (recorded_at);

CREATE TABLE IF NOT EXISTS credits (
  reference text PRIMARY KEY,
  card_no text NOT NULL,
  account text NOT NULL,
  amount bigint NOT NULL CHECK (amount > 0),
  transfer_id bigint NOT NULL REFERENCES transfers(id)
);

CREATE TABLE IF NOT EXISTS card_state (
  card_no text NOT NULL,
  key text NOT NULL,
  value text NOT NULL,
  expires_at_ms bigint,
  PRIMARY KEY (card_no, key)
);
CREATE INDEX IF NOT EXISTS card_state_by_expiry ON card_state (expires_at_ms) WHERE expires_at_ms IS NOT NULL;

CREATE TABLE IF NOT EXISTS qr_nonces (
  nonce text PRIMARY KEY,
  expires_at_ms bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS qr_nonces_by_expiry ON qr_nonces (expires_at_ms);
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
