// Preloads a ledger with N recorded taps (the "growth" run: 10 M taps ≈ 17 hours of the three
// cities' traffic at their daily 14 M), fast: the rows are generated inside SQLite by recursive CTEs,
// 1 M taps per transaction, with the two secondary indexes of `taps` dropped during the load and
// rebuilt once at the end (sorting beats 10 M random B-tree inserts).
//
// The history is realistic and consistent, so `ledger check` passes on the result:
// - every history tap is an approved tap of the bench fleet (terminals round-robin, cards spread by
//   a stride), priced like its scenario, a v2 journal row carrying its transfer (bank_fen off the
//   card's bank account, onto the terminal operator's account), `at` spread over the 7 days
//   before now, and a stored answer of the service's shape and size (~260 bytes);
// - account balances are moved by exactly the journal legs (one GROUP BY over the new taps); cards
//   open with 100,000 yuan, far above their history's spend, so none goes below zero;
// - per-card rule state (card_state) is not written: as if each card's last history tap were long
//   ago (no open metro journey, no bus double-tap window).
// Tap ids are `h-<n>`; live bench taps are `t-<n>`, so they never collide.
import Database from 'better-sqlite3'
import { closeSync, fsyncSync, openSync, statSync } from 'node:fs'
import type { Fleet } from './fleet.js'
import { benchVault } from './provision.js'

/** Typical fare per scenario (fen) for history taps. */
const HISTORY_AMOUNT_FEN: Record<string, number> = {
  bus: 200, metro: 400, scenic: 4000, library: 0, pharmacy: 3500, 'bank-payment': 4800, 'highway-etc': 2500,
  'utility-water': 6000, 'utility-electricity': 9000, 'utility-gas': 7000
}

export interface PreloadResult {
  taps: number
  ms: number
  insertMs: number
  indexMs: number
  balanceMs: number
  /** fsync of the built file: without it the kernel is still writing gigabytes back during the
   *  measured run (first full run: generator send lag p99 86 ms, service p99 108 ms). */
  syncMs: number
  fileBytes: number
  walBytes: number
}

const CHUNK = 1_000_000

export function preloadTaps (dbPath: string, fleet: Fleet, taps: number, nowMs: number = Date.now()): PreloadResult {
  const started = performance.now()
  // Cards are keyed by token (src/cards/card-vault.ts): the key the service will use on this file.
  const vault = benchVault(dbPath)
  const db = new Database(dbPath)
  try {
    // A throwaway file being built: no journal, no fsync, a large cache. The file is switched back
    // to WAL at the end; the service opens it with its own settings (openLedgerDb).
    db.pragma('journal_mode = OFF')
    db.pragma('synchronous = OFF')
    db.pragma('cache_size = -1048576')
    db.pragma('temp_store = MEMORY')
    db.pragma('foreign_keys = OFF')

    db.exec(`CREATE TEMP TABLE h_term (i INTEGER PRIMARY KEY, terminal_id TEXT, scenario TEXT, city TEXT, operator_account INTEGER, amount INTEGER);
             CREATE TEMP TABLE h_card (i INTEGER PRIMARY KEY, card_token TEXT, bank_account INTEGER)`)
    const accountId = db.prepare('SELECT id FROM accounts WHERE code = ?').pluck()
    const insertAccount = db.prepare("INSERT OR IGNORE INTO accounts (code, kind) VALUES (?, 'operator')")
    const insertTerm = db.prepare('INSERT INTO h_term VALUES (?, ?, ?, ?, ?, ?)')
    const insertCard = db.prepare('INSERT INTO h_card VALUES (?, ?, ?)')
    const bankAccount = db.prepare('SELECT bank_account_id FROM cards WHERE card_token = ?').pluck()
    db.transaction(() => {
      // Only money-moving scenarios: a library loan moves no money and has no transfer.
      const paying = fleet.terminals.filter(t => (HISTORY_AMOUNT_FEN[t.scenario] ?? 0) > 0)
      paying.forEach((t, i) => {
        const code = `operator:${t.operator}:${t.city}`
        insertAccount.run(code)
        insertTerm.run(i, t.terminalId, t.scenario, t.city, accountId.get(code), HISTORY_AMOUNT_FEN[t.scenario])
      })
      fleet.cards.forEach((c, i) => { const token = vault.token(c.cardNo); insertCard.run(i, token, bankAccount.get(token)) })
    })()
    const nTerm = db.prepare('SELECT COUNT(*) FROM temp.h_term').pluck().get() as number
    const nCard = fleet.cards.length
    const firstTap = (db.prepare('SELECT COALESCE(MAX(id), 0) + 1 FROM taps').pluck().get() as number)
    const spanMs = 7 * 86_400_000 - 3_600_000
    const startMs = nowMs - spanMs

    db.exec('DROP INDEX IF EXISTS taps_idempotency; DROP INDEX IF EXISTS taps_by_card')
    const series = (from: number, to: number): string => `WITH RECURSIVE s(x) AS (SELECT ${from} UNION ALL SELECT x + 1 FROM s WHERE x < ${to - 1})`
    // x → terminal x mod T, card (x · 7919) mod C: every terminal and card gets an even share.
    const pick = `FROM s JOIN temp.h_term t ON t.i = s.x % ${nTerm} JOIN temp.h_card c ON c.i = (s.x * 7919) % ${nCard}`
    const atMs = `(${startMs} + s.x * ${spanMs / taps})`
    const insertStarted = performance.now()
    for (let from = 0; from < taps; from += CHUNK) {
      const to = Math.min(taps, from + CHUNK)
      db.transaction(() => {
        db.exec(`${series(from, to)}
          INSERT INTO taps (id, terminal_id, tap_id, body_hash, card_token, scenario, city, decision, reason, amount, account, at, recorded_at, response, bank_fen, operator_account_id)
          SELECT ${firstTap} + s.x, t.terminal_id, 'h-' || s.x,
                 printf('%016x%016x%016x%016x', s.x * 2654435761, s.x * 40503, s.x * 2246822519, s.x * 3266489917),
                 c.card_token, t.scenario, t.city, 'approved', NULL, t.amount, 'bank',
                 strftime('%Y-%m-%dT%H:%M:%f', ${atMs} / 1000.0, 'unixepoch', '+8 hours') || '+08:00',
                 strftime('%Y-%m-%dT%H:%M:%fZ', ${atMs} / 1000.0 + 0.004, 'unixepoch'),
                 printf('{"tapId":"h-%d","decision":"approved","amount":%d,"account":"bank","balance":%d,"authCode":"%08X","message":{"zh":"交易成功，扣费%d.%02d元","en":"Paid %d.%02d yuan"},"details":{"fareFen":%d,"concession":null,"transferDiscountFen":0}}',
                        s.x, t.amount, 9000000 + (s.x % 999983), (s.x * 2654435761) % 4294967296, t.amount / 100, t.amount % 100, t.amount / 100, t.amount % 100, t.amount),
                 t.amount, t.operator_account
          ${pick}`)
      })()
    }
    const insertMs = performance.now() - insertStarted

    const indexStarted = performance.now()
    db.exec(`CREATE UNIQUE INDEX IF NOT EXISTS taps_idempotency ON taps (terminal_id, tap_id);
             CREATE INDEX IF NOT EXISTS taps_by_card ON taps (card_token, id)`)
    const indexMs = performance.now() - indexStarted

    const balanceStarted = performance.now()
    db.transaction(() => {
      db.exec(`CREATE TEMP TABLE h_delta (account_id INTEGER PRIMARY KEY, delta INTEGER NOT NULL);
               INSERT INTO temp.h_delta SELECT account_id, SUM(amount) FROM (
                 SELECT c.bank_account_id AS account_id, -t.bank_fen AS amount FROM taps t JOIN cards c ON c.card_token = t.card_token WHERE t.id >= ${firstTap}
                 UNION ALL SELECT operator_account_id, bank_fen FROM taps WHERE id >= ${firstTap}) GROUP BY account_id`)
      db.exec('UPDATE accounts SET balance = balance + (SELECT delta FROM temp.h_delta d WHERE d.account_id = accounts.id) WHERE id IN (SELECT account_id FROM temp.h_delta)')
    })()
    const balanceMs = performance.now() - balanceStarted
    db.exec('DROP TABLE temp.h_term; DROP TABLE temp.h_card; DROP TABLE temp.h_delta')
    db.pragma('journal_mode = WAL')
    db.pragma('wal_checkpoint(TRUNCATE)')
    const syncStarted = performance.now()
    const fd = openSync(dbPath, 'r+')
    try { fsyncSync(fd) } finally { closeSync(fd) }
    const syncMs = performance.now() - syncStarted
    return {
      taps,
      ms: Math.round(performance.now() - started),
      insertMs: Math.round(insertMs),
      indexMs: Math.round(indexMs),
      balanceMs: Math.round(balanceMs),
      syncMs: Math.round(syncMs),
      fileBytes: statSync(dbPath).size,
      walBytes: (() => { try { return statSync(`${dbPath}-wal`).size } catch { return 0 } })()
    }
  } finally {
    db.close()
  }
}
