import t from 'tap'
import { openLedgerDb } from '../../src/ledger/schema.js'
import { checkLedger } from '../../src/ledger/check.js'
import { LedgerStore } from '../../src/ledger/store.js'
import { testVault } from '../helpers/vault.js'

function setUp () {
  const db = openLedgerDb(':memory:')
  const store = new LedgerStore(db, testVault())
  const now = new Date().toISOString()
  db.transaction(() => {
    store.insertCard({ cardNo: 'X00000001', issuer: '370100', issuerCity: 'jinan', status: 'active', expiresOn: null, birthDate: null, categories: [] }, now)
    store.rememberNewCard(store.vault.token('X00000001'))
    store.flushBalances()
  })()
  store.commit()
  const card = store.card(store.vault.token('X00000001'))!
  const clearing = db.transaction(() => store.postings.accountId('clearing:jinan', 'clearing'))()
  const operator = db.transaction(() => store.postings.accountId('operator:bus:jinan', 'operator'))()
  store.commit()
  return { db, store, card, clearing, operator, now }
}

/** One transaction as the writer runs it: work, flush balances, commit; or roll back the lot. */
function write (db: ReturnType<typeof openLedgerDb>, store: LedgerStore, work: () => void): void {
  try {
    db.transaction(() => { work(); store.flushBalances() })()
    store.commit()
  } catch (error) {
    store.rollback()
    throw error
  }
}

t.test('transfers must balance, be integer, and never take a card account below zero', async t => {
  const { db, store, card, clearing, operator, now } = setUp()
  const bank = { cardToken: card.token, account: 'bank' as const }
  const cardLeg = (amount: number) => ({ accountId: card.accountIds.bank, amount, card: bank })
  write(db, store, () => store.postTransfer('credit', 'c1', [{ accountId: clearing, amount: -500 }, cardLeg(500)], now))
  t.equal(store.card(card.token)!.balances.bank, 500)
  t.throws(() => write(db, store, () => store.postTransfer('tap', 't1', [cardLeg(-100), { accountId: operator, amount: 99 }], now)), { code: 'LEDGER_INVARIANT' }, 'unbalanced')
  t.throws(() => write(db, store, () => store.postTransfer('tap', 't2', [cardLeg(-1.5), { accountId: operator, amount: 1.5 }], now)), { code: 'LEDGER_INVARIANT' }, 'fractional fen')
  t.throws(() => write(db, store, () => store.postTransfer('tap', 't3', [cardLeg(0), { accountId: operator, amount: 0 }], now)), { code: 'LEDGER_INVARIANT' }, 'zero legs')
  t.throws(() => write(db, store, () => store.postTransfer('tap', 't4', [cardLeg(-100)], now)), { code: 'LEDGER_INVARIANT' }, 'one leg')
  t.throws(() => write(db, store, () => store.postTransfer('tap', 't5', [cardLeg(-501), { accountId: operator, amount: 501 }], now)), { code: 'LEDGER_INVARIANT' }, 'overdraw refused')
  t.equal(db.prepare('SELECT balance FROM accounts WHERE id = ?').pluck().get(card.accountIds.bank), 500, 'nothing changed in the file')
  t.equal(store.card(card.token)!.balances.bank, 500, 'nothing changed in the cache')
  t.ok(checkLedger(db).ok)
})

t.test('a balance the code computed must equal the balance posted', async t => {
  const { db, store, card, clearing, now } = setUp()
  write(db, store, () => store.postTransfer('credit', 'c1', [{ accountId: clearing, amount: -500 }, { accountId: card.accountIds.bank, amount: 500, card: { cardToken: card.token, account: 'bank' } }], now))
  // Someone changes the row behind the writer's back: the next flush notices.
  db.prepare('UPDATE accounts SET balance = balance + 7 WHERE id = ?').run(card.accountIds.bank)
  t.throws(() => write(db, store, () => store.moveCardMoney(card.token, 'bank', -100)), /posted balance 407, computed 400/)
})

t.test('ledger check finds tampering', async t => {
  const { db, store, card, clearing, now } = setUp()
  write(db, store, () => store.postTransfer('credit', 'c1', [{ accountId: clearing, amount: -500 }, { accountId: card.accountIds.bank, amount: 500, card: { cardToken: card.token, account: 'bank' } }], now))
  db.prepare('UPDATE accounts SET balance = 400 WHERE id = ?').run(card.accountIds.bank)
  const report = checkLedger(db)
  t.notOk(report.ok)
  t.match(report.problems.join('\n'), /balance 400 but its legs sum to 500/)
  t.match(report.problems.join('\n'), /all balances sum to -100/)
})

t.test('ledger check finds an account with two owners and a tap paying a card', async t => {
  const { db, store, card, now } = setUp()
  write(db, store, () => {
    store.insertCard({ cardNo: 'X00000002', issuer: '370100', issuerCity: 'jinan', status: 'active', expiresOn: null, birthDate: null, categories: [] }, now)
  })
  // What the aliasing bug did: a second card pointing at the first card's bank account.
  db.prepare('UPDATE cards SET bank_account_id = ? WHERE card_token = ?').run(card.accountIds.bank, store.vault.token('X00000002'))
  db.prepare("INSERT INTO terminals (terminal_id, city, scenario, operator, location, secret, status, created_at) VALUES ('bus-1', 'jinan', 'bus', 'bus', '{}', 's', 'active', ?)").run(now)
  db.prepare(`INSERT INTO taps (terminal_id, tap_id, body_hash, card_token, scenario, city, decision, amount, at, recorded_at, response, bank_fen, operator_account_id)
    VALUES ('bus-1', 't1', 'h', ?, 'bus', 'jinan', 'approved', 0, ?, ?, '{}', 0, ?)`).run(card.token, now, now, card.accountIds.medical)
  const problems = checkLedger(db).problems.join('\n')
  t.match(problems, /belongs to 2 card accounts/)
  t.match(problems, /its bank account is card account card:[0-9a-f]{2}\*{5}[0-9a-f]{2}:bank, not its own/, 'named by its token, masked')
  t.match(problems, /belongs to no card/)
  t.match(problems, /credit leg on card account .*, not its operator's/)
})
