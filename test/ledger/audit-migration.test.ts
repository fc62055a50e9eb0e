// The audit trail's migrations: a ledger made before it (SQLite schema v2, PostgreSQL migration 1)
// is brought to the new version at start, keeps every row it had, and records admin changes after.
import t from 'tap'
import pg from 'pg'
import { randomBytes } from 'node:crypto'
import { CardVault } from '../../src/cards/card-vault.js'
import { openLedgerDb, SCHEMA_VERSION } from '../../src/ledger/schema.js'
import { migratePg, PG_MIGRATIONS, PG_SCHEMA_VERSION } from '../../src/ledger/pg-schema.js'
import { buildTestApp, tempDbPath } from '../helpers/app.js'
import { createTestDatabase, postgresOnly, sqliteOnly } from '../helpers/engine.js'

t.test('SQLite: a v2 ledger gets the audit table and keeps its data', sqliteOnly('migrates a SQLite file'), async t => {
  const dbPath = tempDbPath(t)
  const first = await buildTestApp(t, { dbPath })
  const card = (await first.admin('GET', '/v1/admin/cards/JN0000001')).json
  await first.app.close()
  // What a v2 file is: today's tables without admin_audit, at version 2.
  const v2 = openLedgerDb(dbPath)
  v2.exec("DROP TABLE admin_audit; UPDATE meta SET value = '2' WHERE key = 'schema_version'")
  v2.close()

  const again = await buildTestApp(t, { dbPath, seed: 'none' })
  const db = again.readLedger()
  t.equal(db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get(), String(SCHEMA_VERSION))
  t.ok(SCHEMA_VERSION >= 3, 'at least the audit version')
  t.same((await again.admin('GET', '/v1/admin/cards/JN0000001')).json, card, 'the card and its balances are as they were')
  t.equal((await again.admin('PATCH', '/v1/admin/cards/JN0000001', { status: 'frozen' })).statusCode, 200)
  t.match((await again.admin('GET', '/v1/admin/audit')).json.entries, [{ action: 'card.status', detail: { from: 'active', to: 'frozen' } }])
})

t.test('PostgreSQL: a database at migration 1 is migrated to 2', postgresOnly('migrates a PostgreSQL database'), async t => {
  const url = await createTestDatabase(t)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(async () => { await client.end() })
  // What a database made before the audit trail is: migration 1 alone.
  await client.query(PG_MIGRATIONS[0]!.sql)
  await client.query("INSERT INTO meta (key, value) VALUES ('schema_version', '1')")
  t.equal((await client.query("SELECT to_regclass('admin_audit') AS t")).rows[0].t, null)
  const cardDataKey = randomBytes(32)
  const vault = new CardVault(cardDataKey)
  await migratePg(client, vault)
  t.equal((await client.query("SELECT value FROM meta WHERE key = 'schema_version'")).rows[0].value, String(PG_SCHEMA_VERSION))
  t.ok(PG_SCHEMA_VERSION >= 2, 'at least the audit migration')
  await migratePg(client, vault)
  t.equal((await client.query("SELECT value FROM meta WHERE key = 'schema_version'")).rows[0].value, String(PG_SCHEMA_VERSION), 'running it again changes nothing')

  const h = await buildTestApp(t, { databaseUrl: url, cardDataKey })
  t.equal((await h.admin('PATCH', '/v1/admin/terminals/jinan-bus-01', { status: 'disabled' })).statusCode, 200)
  t.match((await h.admin('GET', '/v1/admin/audit')).json.entries, [{ action: 'terminal.status', target: { id: 'jinan-bus-01' } }])
})
