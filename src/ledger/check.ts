// `ledger check`: the invariants ops can verify on any ledger file, live or after a crash.
//   1. every transfer's postings sum to zero (and it has at least two legs);
//   2. every account's cached balance equals the sum of its legs: postings rows, plus the legs
//      carried by v2 tap journal rows (bank_fen and medical_fen off the card's accounts, their sum
//      onto operator_account_id);
//   3. no card account is below zero;
//   4. all balances together sum to zero (money is neither created nor lost);
//   5. every approved tap that moved money charged exactly its amount (journal legs, or its
//      v1 transfer);
//   6. every account has one owner: each card account belongs to exactly one card, under that
//      card's own code (card:<token>:bank|medical), and no card points at another kind of account;
//   7. each tap's credit leg goes to an operator account: the one of the terminal's operator in the
//      terminal's city;
//   8. each card's debt is what its offline taps left unpaid, less what credits repaid, refunds and
//      reversals cancelled; each issuer's debt account is minus its cards' debts (api-v1.1);
//   9. the deny list names exactly the cards that are lost, frozen or in debt, with that reason;
//  10. the refunds of a tap never exceed its charge, and a reversed tap has none;
//  11. every closed settlement day: its settlement transfers are its stored cross-city positions,
//      and its journal still gives its stored report (settlement-day-check.ts; a second step after
//      the SQL above, in the same transaction or snapshot, because it recomputes each day);
//  12. every card is keyed by a token and its number and holder data are sealed (schema v5): the
//      ledger holds no card in clear (src/cards/card-vault.ts).
import { CHECK_PROBLEMS_MAX } from '../constants.js'
import type { Db } from './schema.js'
import { settlementDayProblems, type SettlementLegRow } from './settlement-day-check.js'
import { CLOSED_DAYS_SQL, readSettlementDay, SETTLEMENT_LEGS_SQL } from './settlement-days.js'

export interface LedgerCheckReport {
  ok: boolean
  problems: string[]
  counts: { accounts: number, transfers: number, postings: number, taps: number }
}

const LEGS = `
  SELECT account_id, amount FROM postings
  UNION ALL SELECT c.bank_account_id, -t.bank_fen FROM taps t JOIN cards c ON c.card_token = t.card_token WHERE t.bank_fen > 0
  UNION ALL SELECT c.medical_account_id, -t.medical_fen FROM taps t JOIN cards c ON c.card_token = t.card_token WHERE t.medical_fen > 0
  UNION ALL SELECT a.id, -t.debt_fen FROM taps t JOIN cards c ON c.card_token = t.card_token JOIN accounts a ON a.code = 'debt:' || c.issuer WHERE t.debt_fen > 0
  UNION ALL SELECT t.operator_account_id, t.bank_fen + t.medical_fen + t.debt_fen FROM taps t WHERE t.operator_account_id IS NOT NULL`

/** One invariant as a query whose every row is a problem. The SQL is portable: the SQLite engine
 *  and the PostgreSQL engine run the same text (account_balances is a view in both: on
 *  PostgreSQL it adds the hot accounts' balance shards, pg-schema.ts). */
interface CheckQuery { sql: string, describe: (row: any) => string }

const CHECK_QUERIES: CheckQuery[] = [
  // 1. Every transfer balances.
  {
    sql: `SELECT * FROM (SELECT t.id, COALESCE(SUM(p.amount), 0) AS legs_sum, COUNT(p.account_id) AS legs FROM transfers t
      LEFT JOIN postings p ON p.transfer_id = t.id GROUP BY t.id) x WHERE x.legs_sum <> 0 OR x.legs < 2`,
    describe: r => `transfer ${r.id}: legs sum to ${r.legs_sum} over ${r.legs} legs`
  },
  // 2. Every balance is the sum of its legs.
  {
    sql: `WITH legs (account_id, amount) AS (${LEGS}),
        posted AS (SELECT account_id, SUM(amount) AS amount FROM legs GROUP BY account_id)
      SELECT a.code, a.balance, COALESCE(p.amount, 0) AS posted FROM account_balances a LEFT JOIN posted p ON p.account_id = a.id
      WHERE a.balance <> COALESCE(p.amount, 0)`,
    describe: r => `account ${r.code}: balance ${r.balance} but its legs sum to ${r.posted}`
  },
  // 3. No card account below zero.
  {
    sql: "SELECT code, balance FROM account_balances WHERE kind = 'card' AND balance < 0",
    describe: r => `account ${r.code}: negative balance ${r.balance}`
  },
  // 4. Money is neither created nor lost.
  {
    sql: 'SELECT total FROM (SELECT COALESCE(SUM(balance), 0) AS total FROM account_balances) x WHERE x.total <> 0',
    describe: r => `all balances sum to ${r.total}, not 0`
  },
  // 5. Every approved tap that moved money charged exactly its amount.
  {
    sql: `SELECT terminal_id, tap_id, amount, bank_fen + medical_fen AS charged FROM taps
      WHERE operator_account_id IS NOT NULL AND (decision <> 'approved' OR bank_fen + medical_fen + debt_fen <> amount)`,
    describe: r => `tap ${r.terminal_id}/${r.tap_id}: amount ${r.amount} but its journal legs charged ${r.charged}`
  },
  {
    sql: `SELECT * FROM (SELECT t.terminal_id, t.tap_id, t.amount, t.transfer_id,
        (SELECT COALESCE(SUM(p.amount), 0) FROM postings p JOIN accounts a ON a.id = p.account_id
          WHERE p.transfer_id = t.transfer_id AND a.kind = 'card') AS charged
      FROM taps t WHERE t.decision = 'approved' AND t.amount > 0 AND t.operator_account_id IS NULL) x
      WHERE x.transfer_id IS NULL OR x.charged <> -x.amount`,
    describe: r => `tap ${r.terminal_id}/${r.tap_id}: amount ${r.amount} but transfer ${r.transfer_id} charged ${-r.charged}`
  },
  // 6. One owner per account.
  {
    sql: `SELECT a.code, COUNT(*) AS owners FROM accounts a
        JOIN (SELECT bank_account_id AS id FROM cards UNION ALL SELECT medical_account_id FROM cards) o ON o.id = a.id
      GROUP BY a.id, a.code HAVING COUNT(*) <> 1`,
    describe: r => `account ${r.code} belongs to ${r.owners} card accounts`
  },
  {
    sql: `SELECT c.card_token, 'bank' AS kind, a.code, a.kind AS class FROM cards c JOIN accounts a ON a.id = c.bank_account_id
        WHERE a.kind <> 'card' OR a.code <> 'card:' || c.card_token || ':bank'
      UNION ALL SELECT c.card_token, 'medical', a.code, a.kind FROM cards c JOIN accounts a ON a.id = c.medical_account_id
        WHERE a.kind <> 'card' OR a.code <> 'card:' || c.card_token || ':medical'`,
    describe: r => `card ${mask(r.card_token)}: its ${r.kind} account is ${r.class} account ${maskCode(r.code)}, not its own`
  },
  {
    sql: `SELECT a.code FROM accounts a WHERE a.kind = 'card'
        AND NOT EXISTS (SELECT 1 FROM cards c WHERE c.bank_account_id = a.id OR c.medical_account_id = a.id)`,
    describe: r => `card account ${maskCode(r.code)} belongs to no card`
  },
  // 7. A tap's credit leg goes to its terminal operator's account in the terminal's city.
  {
    sql: `SELECT t.terminal_id, t.tap_id, a.code, a.kind FROM taps t
        JOIN accounts a ON a.id = t.operator_account_id JOIN terminals term ON term.terminal_id = t.terminal_id
      WHERE a.kind <> 'operator' OR a.code <> 'operator:' || term.operator || ':' || t.city`,
    describe: r => `tap ${r.terminal_id}/${r.tap_id}: credit leg on ${r.kind} account ${maskCode(r.code)}, not its operator's`
  },
  {
    sql: `SELECT t.terminal_id, t.tap_id, a.code, a.kind FROM taps t
        JOIN postings p ON p.transfer_id = t.transfer_id AND p.amount > 0 JOIN accounts a ON a.id = p.account_id
      WHERE t.transfer_id IS NOT NULL AND a.kind <> 'operator'`,
    describe: r => `tap ${r.terminal_id}/${r.tap_id}: credit leg on ${r.kind} account ${maskCode(r.code)}, not an operator's`
  },
  // 8. Debt: per card from its journal, per issuer on its debt account.
  {
    sql: `SELECT * FROM (SELECT c.card_token, c.debt_fen,
        COALESCE(t.d, 0) - COALESCE(cr.d, 0) - COALESCE(rf.d, 0) - COALESCE(rv.d, 0) AS expected FROM cards c
        LEFT JOIN (SELECT card_token, SUM(debt_fen) AS d FROM taps WHERE debt_fen > 0 GROUP BY card_token) t ON t.card_token = c.card_token
        LEFT JOIN (SELECT card_token, SUM(debt_fen) AS d FROM credits WHERE debt_fen > 0 GROUP BY card_token) cr ON cr.card_token = c.card_token
        LEFT JOIN (SELECT tp.card_token, SUM(r.debt_fen) AS d FROM refunds r JOIN taps tp ON tp.terminal_id = r.terminal_id AND tp.tap_id = r.tap_id
          WHERE r.debt_fen > 0 GROUP BY tp.card_token) rf ON rf.card_token = c.card_token
        LEFT JOIN (SELECT tp.card_token, SUM(p.amount) AS d FROM taps tp JOIN postings p ON p.transfer_id = tp.reversal_transfer_id
          JOIN accounts a ON a.id = p.account_id WHERE a.code LIKE 'debt:%' GROUP BY tp.card_token) rv ON rv.card_token = c.card_token) x
      WHERE x.debt_fen <> x.expected`,
    describe: r => `card ${mask(r.card_token)}: owes ${r.debt_fen} but its taps, credits, refunds and reversals leave ${r.expected}`
  },
  {
    sql: `SELECT a.code, a.balance, COALESCE(s.owed, 0) AS owed FROM account_balances a
        LEFT JOIN (SELECT 'debt:' || issuer AS code, SUM(debt_fen) AS owed FROM cards GROUP BY issuer) s ON s.code = a.code
      WHERE a.code LIKE 'debt:%' AND a.balance <> -COALESCE(s.owed, 0)`,
    describe: r => `debt account ${r.code}: balance ${r.balance} but its cards owe ${r.owed}`
  },
  // 9. The deny list agrees with the cards.
  {
    sql: `SELECT c.card_token, c.status, c.debt_fen, d.reason FROM cards c LEFT JOIN denylist d ON d.card_token = c.card_token
      WHERE COALESCE(d.reason, '-') <> CASE WHEN c.status IN ('lost', 'frozen') THEN c.status WHEN c.debt_fen > 0 THEN 'debt' ELSE '-' END`,
    describe: r => `card ${mask(r.card_token)} (${r.status}, owes ${r.debt_fen}) is on the deny list as ${r.reason ?? 'nothing'}`
  },
  // 10. Refunds stay within their tap's charge.
  {
    sql: `SELECT t.terminal_id, t.tap_id, t.amount, SUM(r.amount) AS refunded FROM refunds r
        JOIN taps t ON t.terminal_id = r.terminal_id AND t.tap_id = r.tap_id
      GROUP BY t.terminal_id, t.tap_id, t.amount, t.reversal_transfer_id
      HAVING SUM(r.amount) > t.amount OR t.reversal_transfer_id IS NOT NULL`,
    describe: r => `tap ${r.terminal_id}/${r.tap_id}: refunds of ${r.refunded} against a charge of ${r.amount}, or refunded and reversed`
  },
  // 12. Cards tokenised and sealed.
  {
    sql: `SELECT card_token FROM cards WHERE length(card_token) <> 32 OR sealed NOT LIKE 'ykc1.%'`,
    describe: r => `card ${mask(r.card_token)}: not keyed by a token with its data sealed`
  }
]

const COUNTS_SQL = `SELECT (SELECT COUNT(*) FROM accounts) AS accounts, (SELECT COUNT(*) FROM transfers) AS transfers,
  (SELECT COUNT(*) FROM postings) AS postings, (SELECT COUNT(*) FROM taps) AS taps`

/** The check's queries, for an engine that runs them its own way (PostgreSQL: in one snapshot). */
export const LEDGER_CHECK_SQL: readonly string[] = [...CHECK_QUERIES.map(q => q.sql), COUNTS_SQL]

/** Builds the report from the rows of LEDGER_CHECK_SQL, in order. */
export function checkReport (results: unknown[][]): LedgerCheckReport {
  const problems: string[] = []
  CHECK_QUERIES.forEach((query, i) => {
    for (const row of (results[i] ?? []).slice(0, Math.max(0, CHECK_PROBLEMS_MAX - problems.length))) problems.push(query.describe(row))
  })
  const counts = (results[CHECK_QUERIES.length]?.[0] ?? {}) as Record<string, unknown>
  return {
    ok: problems.length === 0,
    problems,
    counts: { accounts: Number(counts.accounts), transfers: Number(counts.transfers), postings: Number(counts.postings), taps: Number(counts.taps) }
  }
}

/** Adds the problems of a second step (closed settlement days) to a report, within the bound. */
export function withProblems (report: LedgerCheckReport, more: string[]): LedgerCheckReport {
  const problems = [...report.problems, ...more.slice(0, Math.max(0, CHECK_PROBLEMS_MAX - report.problems.length))]
  return { ...report, ok: problems.length === 0, problems }
}

/** The SQLite file's check (the reader thread, `npm run ledger:check`, tests). */
export function checkLedger (db: Db): LedgerCheckReport {
  // One read transaction: every query sees the same committed state while the writer goes on.
  return db.transaction(() => {
    const report = checkReport(LEDGER_CHECK_SQL.map(sql => db.prepare(sql).all()))
    const closed = (db.prepare(CLOSED_DAYS_SQL).all() as Array<{ day: string, report: string }>)
      .map(c => ({ ...c, journal: readSettlementDay(db, c.day) }))
    return withProblems(report, settlementDayProblems(closed, db.prepare(SETTLEMENT_LEGS_SQL).all() as SettlementLegRow[]))
  })()
}

// Reports go to ops and logs: card keys (tokens; numbers in a ledger from before v5) masked.
function mask (cardNo: string): string {
  return `${cardNo.slice(0, 2)}*****${cardNo.slice(-2)}`
}

function maskCode (code: string): string {
  return code.replace(/^card:([^:]+):/, (_m, cardNo: string) => `card:${mask(cardNo)}:`)
}
