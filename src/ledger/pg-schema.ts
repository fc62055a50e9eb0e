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
import type { CardVault } from '../cards/card-vault.js'
import { CARD_TOKEN_REWRITES, cardDataKeyVerdict, LEDGER_TABLES_WITH_CARD_KEYS, sealCardRow } from './card-tokens.js'
import { auditTableDdl, ledgerTablesDdl, offlineTablesDdl, TRANSFER_KINDS } from './ledger-ddl.js'

/** Versions of this schema, applied in order under an advisory lock (several processes start at
 *  once). Each entry is idempotent DDL; the version reached is kept in meta.schema_version.
 *  Version 1 creates the current tables; a later change to them adds a version that alters
 *  databases created before it. */
export interface PgMigration {
  version: number
  name: string
  sql: string
  /** A step SQL alone cannot take (it needs a key): runs after `sql`, in the same transaction.
   *  Returns the tables it rewrote, vacuumed (FULL) after the commit. */
  run?: (client: pg.ClientBase, vault: CardVault) => Promise<string[]>
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
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
  },
  {
    // Issue #13 item 7: cards keyed by token, numbers and holder data sealed (card-tokens.ts).
    version: 4,
    name: 'card tokens',
    sql: '',
    run: tokeniseCards
  }
]

/** Cards sealed per round trip of the card-token migration. */
const TOKENISE_CARDS_PER_QUERY = 5_000

async function tokeniseCards (client: pg.ClientBase, vault: CardVault): Promise<string[]> {
  const found = await client.query<{ table_name: string }>(`SELECT table_name FROM information_schema.columns
    WHERE table_schema = current_schema() AND column_name = 'card_no' AND table_name = ANY($1)`, [[...LEDGER_TABLES_WITH_CARD_KEYS]])
  // A database that migration 1 created with today's tables has nothing to rewrite.
  if (found.rows.length === 0) return []
  for (const { table_name: table } of found.rows) await client.query(`ALTER TABLE ${table} RENAME COLUMN card_no TO card_token`)
  await client.query('ALTER TABLE cards ADD COLUMN sealed text')
  await client.query('CREATE TEMP TABLE card_token_map (card_no text PRIMARY KEY, token text NOT NULL UNIQUE) ON COMMIT DROP')
  for (;;) {
    const page = await client.query<{ card_token: string, birth_date: string | null, categories: string }>(
      'SELECT card_token, birth_date, categories FROM cards WHERE sealed IS NULL LIMIT $1', [TOKENISE_CARDS_PER_QUERY])
    if (page.rows.length === 0) break
    const sealed = page.rows.map(row => ({ cardNo: row.card_token, ...sealCardRow(vault, { ...row, card_no: row.card_token }) }))
    await client.query(`UPDATE cards c SET card_token = d.token, sealed = d.sealed FROM unnest($1::text[], $2::text[], $3::text[]) AS d(card_no, token, sealed)
      WHERE c.card_token = d.card_no`, [sealed.map(c => c.cardNo), sealed.map(c => c.token), sealed.map(c => c.sealed)])
    await client.query('INSERT INTO card_token_map (card_no, token) SELECT * FROM unnest($1::text[], $2::text[])', [sealed.map(c => c.cardNo), sealed.map(c => c.token)])
  }
  await client.query('ALTER TABLE cards ALTER COLUMN sealed SET NOT NULL, DROP COLUMN birth_date, DROP COLUMN categories')
  for (const statement of CARD_TOKEN_REWRITES) await client.query(statement)
  await client.query(`INSERT INTO meta (key, value) VALUES ('card_data_key_id', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [vault.keyId])
  // The old row versions still hold the numbers until the tables are rewritten.
  return ['cards', 'taps', 'credits', 'card_state', 'denylist', 'accounts', 'transfers']
}

export const PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]!.version

// Any constant: the key of the advisory lock migrations run under.
const MIGRATION_LOCK_KEY = 0x796b74 // "ykt"

/** Brings the database to PG_SCHEMA_VERSION; refuses one newer than this program. */
export async function migratePg (client: pg.ClientBase, vault: CardVault): Promise<void> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
  try {
    await client.query('CREATE TABLE IF NOT EXISTS meta (key text PRIMARY KEY, value text NOT NULL)')
    const found = await client.query<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'")
    const version = found.rows.length === 0 ? 0 : Number(found.rows[0]!.value)
    if (version > PG_SCHEMA_VERSION) throw new Error(`ledger schema version ${version} is newer than this program (${PG_SCHEMA_VERSION})`)
    for (const migration of PG_MIGRATIONS) {
      if (migration.version <= version) continue
      await client.query('BEGIN')
      let rewritten: string[] = []
      try {
        if (migration.sql !== '') await client.query(migration.sql)
        if (migration.run !== undefined) rewritten = await migration.run(client, vault)
        await client.query(`INSERT INTO meta (key, value) VALUES ('schema_version', $1)
          ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [String(migration.version)])
        await client.query('COMMIT')
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {})
        throw error
      }
      // VACUUM FULL writes each table anew and drops the old files, with the dead row versions
      // that held what the migration replaced (it cannot run inside a transaction).
      if (rewritten.length > 0) await client.query(`VACUUM FULL ${rewritten.join(', ')}`)
    }
    const keyId = await client.query<{ value: string }>("SELECT value FROM meta WHERE key = 'card_data_key_id'")
    if (cardDataKeyVerdict(keyId.rows[0]?.value, vault.keyId) === 'unset') {
      await client.query("INSERT INTO meta (key, value) VALUES ('card_data_key_id', $1) ON CONFLICT (key) DO NOTHING", [vault.keyId])
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {})
  }
}
