import t from 'tap'
import { Postings } from '../../src/ledger/postings.js'
import { openLedgerDb } from '../../src/ledger/schema.js'
import { checkLedger } from '../../src/ledger/check.js'

t.test('transfers must balance, be integer, and never take a card account below zero', async t => {
  const db = openLedgerDb(':memory:')
  const postings = new Postings(db)
  const card = postings.accountId('card:X:bank', 'card')
  const clearing = postings.accountId('clearing:jinan', 'clearing')
  const operator = postings.accountId('operator:bus:jinan', 'operator')
  t.equal(postings.accountId('card:X:bank', 'card'), card, 'ids are stable')
  const now = new Date().toISOString()
  t.same(postings.transfer('credit', 'c1', [{ accountId: clearing, amount: -500 }, { accountId: card, amount: 500 }], now).balances, [-500, 500])
  t.throws(() => postings.transfer('tap', 't1', [{ accountId: card, amount: -100 }, { accountId: operator, amount: 99 }], now), { code: 'LEDGER_INVARIANT' }, 'unbalanced')
  t.throws(() => postings.transfer('tap', 't2', [{ accountId: card, amount: -1.5 }, { accountId: operator, amount: 1.5 }], now), { code: 'LEDGER_INVARIANT' }, 'fractional fen')
  t.throws(() => postings.transfer('tap', 't3', [{ accountId: card, amount: 0 }, { accountId: operator, amount: 0 }], now), { code: 'LEDGER_INVARIANT' }, 'zero legs')
  t.throws(() => postings.transfer('tap', 't4', [{ accountId: card, amount: -100 }], now), { code: 'LEDGER_INVARIANT' }, 'one leg')
  t.throws(() => db.transaction(() => postings.transfer('tap', 't5', [{ accountId: card, amount: -501 }, { accountId: operator, amount: 501 }], now))(), 'overdraw refused')
  t.same(db.prepare('SELECT balance FROM accounts WHERE id = ?').pluck().get(card), 500, 'nothing changed')
  t.ok(checkLedger(db).ok)
})

t.test('ledger check finds tampering', async t => {
  const db = openLedgerDb(':memory:')
  const postings = new Postings(db)
  const card = postings.accountId('card:X:bank', 'card')
  const clearing = postings.accountId('clearing:jinan', 'clearing')
  postings.transfer('credit', 'c1', [{ accountId: clearing, amount: -500 }, { accountId: card, amount: 500 }], new Date().toISOString())
  db.prepare('UPDATE accounts SET balance = 400 WHERE id = ?').run(card)
  const report = checkLedger(db)
  t.notOk(report.ok)
  t.match(report.problems.join('\n'), /balance 400 but postings sum to 500/)
  t.match(report.problems.join('\n'), /all balances sum to -100/)
})
