// Bounded growth: QR nonces and dated rule state are deleted once they stop mattering, a little
// with every committed batch (at least as many rows as a batch can add), so the tables stay bounded
// at any insert rate. And one writer per ledger: a second service on the same file is refused.
import t from 'tap'
import { closeSync, openSync, statSync, writeSync } from 'node:fs'
import { buildApp } from '../../src/app.js'
import { STATE_PURGE_PER_BATCH_MAX } from '../../src/constants.js'
import { openLedgerDb } from '../../src/ledger/schema.js'
import { LedgerStore } from '../../src/ledger/store.js'
import { buildTestApp, localAt, physical, tapId, tempDbPath } from '../helpers/app.js'
import { testVault } from '../helpers/vault.js'

const DAY_MS = 86_400_000

t.test('expired QR nonces and expired rule state are purged by later batches', async t => {
  let nowMs = Date.now()
  const h = await buildTestApp(t, { nowMs: () => nowMs })
  const qr = await h.admin('POST', '/v1/admin/cards/JN0000001/qr', { ttlSeconds: 60 })
  t.equal((await h.tap('jinan-bus-01', { tapId: tapId('qr'), at: localAt(0, nowMs), card: { type: 'qr', qr: qr.json.qr } }, { nowMs })).json.decision, 'approved')
  const count = async (sql: string): Promise<number> => Number((await h.query(sql))[0].n)
  const nonces = { get: async () => await count('SELECT COUNT(*) AS n FROM qr_nonces') }
  const state = { get: async () => await count(`SELECT COUNT(*) AS n FROM card_state WHERE card_token = '${h.cardToken('JN0000001')}'`) }
  t.equal(await nonces.get(), 1, 'the nonce is remembered while the QR is valid')
  t.ok((await state.get()) > 0, 'the bus ride wrote rule state')

  nowMs += 2 * 60_000
  await h.tap('qingdao-bus-01', { tapId: tapId('later'), at: localAt(0, nowMs), card: physical('QD0000001', '370200') }, { nowMs })
  t.equal(await nonces.get(), 0, 'the expired QR\'s nonce is gone after the next batch')
  t.ok((await state.get()) > 0, 'rule state is kept while it may matter')

  nowMs += 401 * DAY_MS
  await h.tap('qingdao-bus-01', { tapId: tapId('next-year'), at: localAt(0, nowMs), card: physical('QD0000001', '370200') }, { nowMs })
  t.ok((await state.get()) > 0, 'state that asked for no expiry stays (a loan must not vanish by age)')
})

t.test('state written with an expiry is purged once it passed, at most so many rows a batch', async t => {
  const db = openLedgerDb(':memory:')
  const store = new LedgerStore(db, testVault())
  const nowMs = Date.now()
  db.transaction(() => {
    for (let i = 0; i < 700; i++) store.writeState(`C${i}`, 'payment:days', { [i]: 1 }, nowMs - 1)
    store.writeState('C-live', 'payment:days', { x: 1 }, nowMs + DAY_MS)
    store.writeState('C-forever', 'library:loans', [], null)
  })()
  const rows = db.prepare('SELECT COUNT(*) FROM card_state').pluck()
  t.equal(store.stateValue('C1', 'payment:days', nowMs), undefined, 'an expired value reads as absent before it is purged')
  t.equal(store.purgeState(nowMs, STATE_PURGE_PER_BATCH_MAX), STATE_PURGE_PER_BATCH_MAX, 'a batch purges at most its bound')
  t.equal(store.purgeState(nowMs, STATE_PURGE_PER_BATCH_MAX), 700 - STATE_PURGE_PER_BATCH_MAX)
  t.equal(rows.get(), 2, 'what has not expired stays')
})

t.test('a second service on the same ledger file is refused with a clear message', async t => {
  const dbPath = tempDbPath(t)
  const first = await buildApp({ dbPath, adminToken: 'x', seed: 'none', logLevel: 'silent' })
  t.teardown(async () => { await first.app.close() })
  await t.rejects(buildApp({ dbPath, adminToken: 'x', seed: 'none', logLevel: 'silent' }), { code: 'LEDGER_LOCKED', message: /in use by another yikatong process/ })
  await first.app.close()
  const again = await buildApp({ dbPath, adminToken: 'x', seed: 'none', logLevel: 'silent' })
  t.ok(again.engine, 'once the first one stopped, the ledger opens')
  await again.app.close()
})

t.test('a ledger with a damaged page is refused at start, by name', async t => {
  const dbPath = tempDbPath(t)
  const first = await buildApp({ dbPath, adminToken: 'x', seed: 'demo', logLevel: 'silent' })
  await first.app.close()
  // Scribble over a page in the middle of the file, as a failing disk would.
  const size = statSync(dbPath).size
  const fd = openSync(dbPath, 'r+')
  writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, Math.floor(size / 4096 / 2) * 4096)
  closeSync(fd)
  await t.rejects(buildApp({ dbPath, adminToken: 'x', seed: 'none', logLevel: 'silent' }), { code: 'LEDGER_DAMAGED', message: new RegExp(`ledger ${dbPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged`) })
})
