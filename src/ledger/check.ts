// `ledger check`: the invariants ops can verify on any ledger file, live or after a crash.
//   1. every transfer's postings sum to zero (and it has at least two legs);
//   2. every account's cached balance equals the sum of its postings;
//   3. no card account is below zero;
//   4. all balances together sum to zero (money is neither created nor lost);
//   5. every approved tap that moved money has its transfer, charging exactly its amount.
import type { Db } from './schema.js'

export interface LedgerCheckReport {
  ok: boolean
  problems: string[]
  counts: { accounts: number, transfers: number, postings: number, taps: number }
}

const PROBLEMS_MAX = 50

export function checkLedger (db: Db): LedgerCheckReport {
  const problems: string[] = []
  const add = (rows: unknown[], describe: (row: any) => string): void => {
    for (const row of rows.slice(0, PROBLEMS_MAX - problems.length)) problems.push(describe(row))
  }
  add(db.prepare(`SELECT t.id, COALESCE(SUM(p.amount), 0) AS sum, COUNT(p.account_id) AS legs FROM transfers t
    LEFT JOIN postings p ON p.transfer_id = t.id GROUP BY t.id HAVING sum <> 0 OR legs < 2`).all(),
  r => `transfer ${r.id}: legs sum to ${r.sum} over ${r.legs} legs`)
  add(db.prepare(`SELECT a.id, a.code, a.balance, COALESCE(SUM(p.amount), 0) AS posted FROM accounts a
    LEFT JOIN postings p ON p.account_id = a.id GROUP BY a.id HAVING a.balance <> posted`).all(),
  r => `account ${r.code}: balance ${r.balance} but postings sum to ${r.posted}`)
  add(db.prepare("SELECT code, balance FROM accounts WHERE kind = 'card' AND balance < 0").all(),
    r => `account ${r.code}: negative balance ${r.balance}`)
  const total = db.prepare('SELECT COALESCE(SUM(balance), 0) FROM accounts').pluck().get() as number
  if (total !== 0) problems.push(`all balances sum to ${total}, not 0`)
  add(db.prepare(`SELECT t.terminal_id, t.tap_id, t.amount, t.transfer_id,
      (SELECT COALESCE(SUM(p.amount), 0) FROM postings p JOIN accounts a ON a.id = p.account_id
        WHERE p.transfer_id = t.transfer_id AND a.kind = 'card') AS charged
    FROM taps t WHERE t.decision = 'approved' AND t.amount > 0 AND (t.transfer_id IS NULL OR charged <> -t.amount)`).all(),
  r => `tap ${r.terminal_id}/${r.tap_id}: amount ${r.amount} but transfer ${r.transfer_id} charged ${-r.charged}`)
  const count = (table: string): number => db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number
  return {
    ok: problems.length === 0,
    problems,
    counts: { accounts: count('accounts'), transfers: count('transfers'), postings: count('postings'), taps: count('taps') }
  }
}
