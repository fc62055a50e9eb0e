// Double-entry postings: every money movement is one transfer whose legs sum to zero, applied to
// the cached account balances in the same transaction. Invariants are asserted before writing
// (legs balance, integer fen) and when balances are written (no card account below zero).
import { ACCOUNT_ID_CACHE_ENTRIES_MAX } from '../constants.js'
import type { Db } from './schema.js'

export type TransferKind = 'tap' | 'credit' | 'reversal' | 'refund' | 'settlement'
export type AccountClass = 'card' | 'operator' | 'clearing'

export interface Leg { accountId: number, amount: number }

export class LedgerInvariantError extends Error {
  readonly code = 'LEDGER_INVARIANT'
}

export const accountCode = {
  card: (cardNo: string, account: string): string => `card:${cardNo}:${account}`,
  operator: (operator: string, city: string): string => `operator:${operator}:${city}`,
  clearing: (city: string): string => `clearing:${city}`,
  /** What the cards of one issuer owe, together (a clearing-class control account, at most 0);
   *  each card's share is cards.debt_fen. */
  debt: (issuer: string): string => `debt:${issuer}`
}

export class Postings {
  private readonly insertTransfer
  private readonly insertPosting
  private readonly insertAccount
  private readonly selectAccountId
  /** Ids of committed accounts only. An id read inside a transaction that then rolls back must not
   *  outlive it: SQLite hands the same rowid to the next new account, and two owners would share
   *  one account (the aliasing bug of the ledger engine issue). */
  private readonly committedIds = new Map<string, number>()
  /** Ids learned in the open transaction: promoted by commit(), dropped by rollback(). */
  private readonly pendingIds = new Map<string, number>()

  constructor (db: Db) {
    this.insertTransfer = db.prepare('INSERT INTO transfers (kind, ref, created_at) VALUES (?, ?, ?)')
    this.insertPosting = db.prepare('INSERT INTO postings (transfer_id, account_id, amount) VALUES (?, ?, ?)')
    this.insertAccount = db.prepare('INSERT OR IGNORE INTO accounts (code, kind) VALUES (?, ?)')
    this.selectAccountId = db.prepare('SELECT id, kind FROM accounts WHERE code = ?')
  }

  /** The id of the account with this code, created at zero if missing. Call inside a transaction. */
  accountId (code: string, kind: AccountClass): number {
    const known = this.committedIds.get(code) ?? this.pendingIds.get(code)
    if (known !== undefined) return known
    this.insertAccount.run(code, kind)
    const row = this.selectAccountId.get(code) as { id: number, kind: AccountClass }
    // One owner per account: a code names one class of account, whoever asks.
    if (row.kind !== kind) throw new LedgerInvariantError(`account ${code} is a ${row.kind} account, not ${kind}`)
    this.pendingIds.set(code, row.id)
    return row.id
  }

  /** The transaction committed: what it learned is now true. */
  commit (): void {
    for (const [code, id] of this.pendingIds) {
      if (this.committedIds.size >= ACCOUNT_ID_CACHE_ENTRIES_MAX) this.committedIds.delete(this.committedIds.keys().next().value!)
      this.committedIds.set(code, id)
    }
    this.pendingIds.clear()
  }

  /** The transaction rolled back: forget every id it handed out. */
  rollback (): void {
    this.pendingIds.clear()
  }

  /** Records one balanced transfer's rows (credits, reversals; a tap's legs live on its journal
   *  row). Balances move through the store's batch deltas, so its caches see every change. */
  recordTransfer (kind: TransferKind, ref: string, legs: Leg[], nowIso: string): number {
    assertBalanced(legs)
    const transferId = Number(this.insertTransfer.run(kind, ref, nowIso).lastInsertRowid)
    for (const leg of legs) this.insertPosting.run(transferId, leg.accountId, leg.amount)
    return transferId
  }
}

export function assertBalanced (legs: Leg[]): void {
  if (legs.length < 2) throw new LedgerInvariantError('a transfer needs at least two legs')
  let sum = 0
  for (const leg of legs) {
    if (!Number.isSafeInteger(leg.amount) || leg.amount === 0) {
      throw new LedgerInvariantError(`leg amount must be a non-zero integer, got ${leg.amount}`)
    }
    sum += leg.amount
  }
  if (sum !== 0) throw new LedgerInvariantError(`transfer legs sum to ${sum}, not 0`)
}
