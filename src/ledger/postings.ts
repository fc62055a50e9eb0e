// Double-entry postings: every money movement is one transfer whose legs sum to zero, applied to
// the cached account balances in the same transaction. Invariants are asserted before writing
// (legs balance, integer fen) and after (no card account below zero).
import type { Db } from './schema.js'

export type TransferKind = 'tap' | 'credit' | 'reversal'
export type AccountClass = 'card' | 'operator' | 'clearing'

export interface Leg { accountId: number, amount: number }

export class LedgerInvariantError extends Error {
  readonly code = 'LEDGER_INVARIANT'
}

export const accountCode = {
  card: (cardNo: string, account: string): string => `card:${cardNo}:${account}`,
  operator: (operator: string, city: string): string => `operator:${operator}:${city}`,
  clearing: (city: string): string => `clearing:${city}`
}

export class Postings {
  private readonly insertTransfer
  private readonly insertPosting
  private readonly applyToBalance
  private readonly insertAccount
  private readonly selectAccountId
  private readonly accountIds = new Map<string, number>()

  constructor (db: Db) {
    this.insertTransfer = db.prepare('INSERT INTO transfers (kind, ref, created_at) VALUES (?, ?, ?)')
    this.insertPosting = db.prepare('INSERT INTO postings (transfer_id, account_id, amount) VALUES (?, ?, ?)')
    this.applyToBalance = db.prepare('UPDATE accounts SET balance = balance + ? WHERE id = ? RETURNING balance, kind')
    this.insertAccount = db.prepare('INSERT OR IGNORE INTO accounts (code, kind) VALUES (?, ?)')
    this.selectAccountId = db.prepare('SELECT id FROM accounts WHERE code = ?').pluck()
  }

  /** The id of the account with this code, created at zero if missing. Cached: ids never change. */
  accountId (code: string, kind: AccountClass): number {
    const cached = this.accountIds.get(code)
    if (cached !== undefined) return cached
    this.insertAccount.run(code, kind)
    const id = this.selectAccountId.get(code) as number
    this.accountIds.set(code, id)
    return id
  }

  /** Writes one balanced transfer; returns its id and each leg's account balance after it. */
  transfer (kind: TransferKind, ref: string, legs: Leg[], nowIso: string): { transferId: number, balances: number[] } {
    assertBalanced(legs)
    const transferId = Number(this.insertTransfer.run(kind, ref, nowIso).lastInsertRowid)
    const balances: number[] = []
    for (const leg of legs) {
      this.insertPosting.run(transferId, leg.accountId, leg.amount)
      const after = this.applyToBalance.get(leg.amount, leg.accountId) as { balance: number, kind: AccountClass }
      if (after.kind === 'card' && after.balance < 0) {
        throw new LedgerInvariantError(`card account ${leg.accountId} would go below zero`)
      }
      balances.push(after.balance)
    }
    return { transferId, balances }
  }
}

function assertBalanced (legs: Leg[]): void {
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
