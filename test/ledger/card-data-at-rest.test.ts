// Card numbers and holder data at rest (issue #13 item 7), written as the attacks:
// - someone with a copy of the ledger (the SQLite file with its WAL, or every row of a PostgreSQL
//   database) looks for card numbers, birth dates and concession categories: there are none, yet
//   the admin API still reads them in clear;
// - a sealed value moved onto another card's row: that card's calls get a 503 naming the damage,
//   never the other holder's data, and the other cards go on;
// - a process given another card data key refuses to start instead of finding no card;
// - a ledger from before (schema v4, PostgreSQL migration 3: numbers in clear) is tokenised at
//   start: same cards, balances and taps, its check passes, and a copy holds no number any more.
import t, { type Test } from 'tap'
import { readFileSync, existsSync } from 'node:fs'
import { CardVault } from '../../src/cards/card-vault.js'
import { buildTestApp, localAt, physical, tapId, type TestApp } from '../helpers/app.js'
import { checkStoredLedger, execStoredLedger, queryStoredLedger, sqliteOnly } from '../helpers/engine.js'

const KEY_A = Buffer.from('card-data-key-a-0123456789abcdef-0123', 'utf8')
const KEY_B = Buffer.from('card-data-key-b-0123456789abcdef-0123', 'utf8')
const demo = JSON.parse(readFileSync(new URL('../../fixtures/demo.json', import.meta.url), 'utf8')) as {
  cards: Array<{ cardNo: string, holder?: { birthDate?: string, categories?: string[] } }>
}
const CARD_NOS = demo.cards.map(c => c.cardNo)
const BIRTH_DATES = [...new Set(demo.cards.map(c => c.holder?.birthDate).filter((d): d is string => d !== undefined))]
const CATEGORIES = [...new Set(demo.cards.flatMap(c => c.holder?.categories ?? []))]
const TABLES = ['meta', 'terminals', 'accounts', 'cards', 'transfers', 'postings', 'taps', 'credits', 'card_state', 'qr_nonces',
  'admin_audit', 'refunds', 'denylist', 'denylist_changes', 'settlement_days']

type Where = { dbPath: string, databaseUrl?: string }
const whereOf = (h: TestApp): Where => ({ dbPath: h.dbPath, ...(h.databaseUrl === undefined ? {} : { databaseUrl: h.databaseUrl }) })

/** Every row of every table, as text: what a copy of the ledger gives whoever holds it. */
async function allRows (where: Where): Promise<string> {
  const parts: string[] = []
  for (const table of TABLES) parts.push(JSON.stringify(await queryStoredLedger(where, `SELECT * FROM ${table}`)))
  return parts.join('\n')
}

/** The SQLite file and its WAL, byte for byte, as an attacker would copy them. */
function fileBytes (dbPath: string): string {
  return [dbPath, `${dbPath}-wal`].filter(existsSync).map(file => readFileSync(file).toString('latin1')).join('')
}

function found (text: string, needles: string[]): string[] {
  return needles.filter(needle => text.includes(needle))
}

/** Taps, a QR tap, a credit, a refund, a frozen card: a card is written everywhere it can be. */
async function activity (h: TestApp): Promise<void> {
  const now = Date.now()
  const bus = await h.tap('jinan-bus-01', { tapId: 'rest-bus-1', at: localAt(0, now), card: physical('JN0000001', '370100') })
  if (bus.json.decision !== 'approved') throw new Error(`bus tap: ${bus.body}`)
  const minted = await h.admin('POST', '/v1/admin/cards/QD0000001/qr', { ttlSeconds: 30 })
  await h.tap('qingdao-bus-01', { tapId: tapId(), at: localAt(0, now), card: { type: 'qr', qr: minted.json.qr } })
  if ((await h.admin('POST', '/v1/admin/cards/JN0000001/credits', { account: 'bank', amount: 500, reference: 'rest-topup-1' })).statusCode !== 200) throw new Error('credit')
  if ((await h.admin('POST', '/v1/admin/taps/jinan-bus-01/rest-bus-1/refund', { reference: 'rest-refund-1' })).statusCode !== 200) throw new Error('refund')
  if ((await h.admin('PATCH', '/v1/admin/cards/ZZ0000001', { status: 'frozen' })).statusCode !== 200) throw new Error('freeze')
}

async function cardViews (h: TestApp): Promise<unknown[]> {
  return await Promise.all(CARD_NOS.map(async cardNo => (await h.admin('GET', `/v1/admin/cards/${cardNo}`)).json))
}

t.test('a copy of the ledger names no card and no holder; the admin API still reads them', async t => {
  t.ok(CARD_NOS.includes('ZZ0000001') && BIRTH_DATES.length > 3 && CATEGORIES.length > 3, 'the demo cards have numbers, birth dates and categories to look for')
  const h = await buildTestApp(t, { cardDataKey: KEY_A })
  await activity(h)
  const rows = await allRows(whereOf(h))
  t.ok(rows.includes('rest-topup-1') && rows.includes('rest-refund-1'), 'the scan sees the rows written')
  t.same(found(rows, CARD_NOS), [], 'no card number in any row')
  t.same(found(rows, BIRTH_DATES), [], 'no birth date')
  t.same(found(rows, CATEGORIES), [], 'no concession category')
  const [card] = await h.query(`SELECT card_token, sealed FROM cards WHERE card_token = '${h.cardToken('JN0000001')}'`)
  t.match(card, { card_token: /^[0-9a-f]{32}$/, sealed: /^ykc1\./ }, 'the card is kept by token, its data sealed')

  const view = await h.admin('GET', '/v1/admin/cards/JN0000001')
  t.match(view.json, { cardNo: 'JN0000001', holder: demo.cards[0]!.holder }, 'an admin read gives the number and holder in clear')
  t.match((await h.admin('GET', '/v1/admin/cards/JN0000001/taps')).json, { taps: [{ tapId: 'rest-bus-1' }] }, 'and the card\'s taps by its number')
  t.ok((await checkStoredLedger(whereOf(h))).ok, 'ledger check passes')
})

t.test('the SQLite file and its WAL, copied while serving and after, hold no card number or birth date', sqliteOnly('reads the SQLite file\'s bytes'), async t => {
  const h = await buildTestApp(t, { cardDataKey: KEY_A })
  await activity(h)
  const serving = fileBytes(h.dbPath)
  t.ok(serving.includes('rest-topup-1'), 'the copy holds what was written')
  t.same(found(serving, CARD_NOS), [], 'while serving: no card number')
  t.same(found(serving, BIRTH_DATES), [], 'while serving: no birth date')
  await h.app.close()
  const closed = fileBytes(h.dbPath)
  t.same(found(closed, CARD_NOS), [], 'after close: no card number')
  t.same(found(closed, BIRTH_DATES), [], 'after close: no birth date')
})

t.test('a sealed value moved onto another card: that card answers 503, the others go on', async t => {
  const first = await buildTestApp(t, { cardDataKey: KEY_A })
  const where = whereOf(first)
  const victim = first.cardToken('JN0000001')
  const donor = first.cardToken('JN0000002')
  await first.app.close()
  await execStoredLedger(where, `UPDATE cards SET sealed = (SELECT sealed FROM cards WHERE card_token = '${donor}') WHERE card_token = '${victim}'`)
  const h = await buildTestApp(t, { ...where, seed: 'none', cardDataKey: KEY_A })
  const read = await h.admin('GET', '/v1/admin/cards/JN0000001')
  t.equal(read.statusCode, 503)
  t.match(read.json.error, { code: 'OVERLOADED', message: /does not open/ }, 'named as damage')
  t.notOk(read.body.includes('JN0000002'), 'never the other holder\'s data')
  const tap = await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: physical('JN0000001', '370100') })
  t.equal(tap.statusCode, 503, 'a tap of that card is not decided on a guess')
  t.equal((await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: physical('JN0000002', '370100') })).json.decision, 'approved', 'the other card goes on')
})

t.test('another card data key: the service refuses to start and names both key ids', async t => {
  const first = await buildTestApp(t, { cardDataKey: KEY_A })
  const where = whereOf(first)
  await first.app.close()
  const a = new CardVault(KEY_A).keyId
  const b = new CardVault(KEY_B).keyId
  await t.rejects(buildTestApp(t, { ...where, seed: 'none', cardDataKey: KEY_B }), { code: 'CARD_DATA_KEY_MISMATCH', message: new RegExp(`key id ${a}.*key id ${b}`) })
  const again = await buildTestApp(t, { ...where, seed: 'none', cardDataKey: KEY_A })
  t.equal((await again.admin('GET', '/v1/admin/cards/JN0000001')).statusCode, 200, 'the right key still opens it')
})

/** Puts a ledger back in the shape it had before tokens (schema v4 / PostgreSQL migration 3): card
 *  numbers as keys and account codes, holder data in clear columns, opening references by number. */
async function downgradeToClear (where: Where, vault: CardVault): Promise<void> {
  const cards = await queryStoredLedger(where, 'SELECT card_token, sealed FROM cards') as Array<{ card_token: string, sealed: string }>
  const sql: string[] = ['ALTER TABLE cards ADD COLUMN birth_date TEXT', "ALTER TABLE cards ADD COLUMN categories TEXT NOT NULL DEFAULT '[]'"]
  for (const table of ['cards', 'taps', 'credits', 'card_state', 'denylist']) sql.push(`ALTER TABLE ${table} RENAME COLUMN card_token TO card_no`)
  const text = (value: string | null): string => value === null ? 'NULL' : `'${value.replace(/'/g, "''")}'`
  for (const { card_token: token, sealed } of cards) {
    const open = vault.open(token, sealed)
    sql.push(`UPDATE cards SET card_no = ${text(open.cardNo)}, birth_date = ${text(open.birthDate)}, categories = ${text(JSON.stringify(open.categories))} WHERE card_no = '${token}'`)
    for (const table of ['taps', 'credits', 'card_state', 'denylist']) sql.push(`UPDATE ${table} SET card_no = '${open.cardNo}' WHERE card_no = '${token}'`)
    for (const kind of ['bank', 'medical']) {
      sql.push(`UPDATE accounts SET code = 'card:${open.cardNo}:${kind}' WHERE code = 'card:${token}:${kind}'`)
      sql.push(`UPDATE transfers SET ref = 'opening:${open.cardNo}:${kind}' WHERE ref = 'opening:${token}:${kind}'`)
      sql.push(`UPDATE credits SET reference = 'opening:${open.cardNo}:${kind}' WHERE reference = 'opening:${token}:${kind}'`)
    }
  }
  sql.push('ALTER TABLE cards DROP COLUMN sealed', "DELETE FROM meta WHERE key = 'card_data_key_id'")
  sql.push(`UPDATE meta SET value = '${where.databaseUrl === undefined ? 4 : 3}' WHERE key = 'schema_version'`)
  await execStoredLedger(where, sql.join(';\n'))
}

t.test('a ledger with card numbers in clear (v4) is tokenised at start: same cards, taps and money', async t => {
  const first = await buildTestApp(t, { cardDataKey: KEY_A })
  await activity(first)
  const where = whereOf(first)
  const views = await cardViews(first)
  const taps = (await first.admin('GET', '/v1/admin/cards/JN0000001/taps')).json
  await first.app.close()
  await downgradeToClear(where, new CardVault(KEY_A))
  t.ok(found(await allRows(where), CARD_NOS).length === CARD_NOS.length, 'the old ledger names every card in clear (the attack worked on it)')

  const h = await buildTestApp(t, { ...where, seed: 'none', cardDataKey: KEY_A })
  const [version] = await h.query("SELECT value FROM meta WHERE key = 'schema_version'")
  t.equal(String(version.value), where.databaseUrl === undefined ? '5' : '4', 'migrated to the card-token version')
  t.same(await cardViews(h), views, 'every card, holder, balance and debt as before')
  t.same((await h.admin('GET', '/v1/admin/cards/JN0000001/taps')).json, taps, 'the card\'s taps as before')
  const rows = await allRows(where)
  t.same(found(rows, CARD_NOS), [], 'no card number left in any row')
  t.same(found(rows, BIRTH_DATES), [], 'no birth date left')
  if (where.databaseUrl === undefined) {
    await h.app.close()
    t.same(found(fileBytes(where.dbPath), [...CARD_NOS, ...BIRTH_DATES]), [], 'nor in any page of the file (VACUUM) or its WAL')
    const again = await buildTestApp(t, { ...where, seed: 'none', cardDataKey: KEY_A })
    await checkAfter(t, again)
  } else {
    await checkAfter(t, h)
  }
})

/** After the migration the ledger works as ever: a retried credit is a repeat, cards tap, check passes. */
async function checkAfter (t: Test, h: TestApp): Promise<void> {
  const before = (await h.admin('GET', '/v1/admin/cards/JN0000001')).json.balances.bank
  const retry = await h.admin('POST', '/v1/admin/cards/JN0000001/credits', { account: 'bank', amount: 500, reference: 'rest-topup-1' })
  t.equal(retry.json.balances.bank, before, 'a credit retried with its reference after the migration moves no money')
  t.equal((await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: physical('JN0000002', '370100') })).json.decision, 'approved', 'cards tap')
  t.equal((await h.admin('POST', '/v1/admin/cards', { cardNo: 'JN0000001', issuer: '370100' })).statusCode, 409, 'a migrated card is found by its number')
  t.ok((await checkStoredLedger(whereOf(h))).ok, 'ledger check passes')
}
