// The ledger state of one PostgreSQL transaction, held in memory: every row the batch can touch
// was read (and its card locked) before the state machine runs, and every write the state machine
// makes is collected here, to be sent in a few multi-row statements (pg-writes.ts).
//
// A network round trip per read would cost more than the decision itself (measured: ~0.1 ms a
// query on loopback, against ~30 µs to decide a tap), so the batch reads by key, all at once.
// Reads see the batch's own earlier writes, as they do inside a SQLite transaction: a tap retried
// within one batch replays, a state write is seen by the next tap of the same card.
import type { CardVault } from '../cards/card-vault.js'
import type { AccountKind } from '../rules/types.js'
import type { AuditEntry, TerminalRecord } from './engine.js'
import type { CreditRecord, LedgerState } from './ledger-state.js'
import { AWAITING_ENTRY_KEY, type AwaitingExit } from './late-entry.js'
import { accountCode, assertBalanced, LedgerInvariantError, type AccountClass, type Leg, type TransferKind } from './postings.js'
import type { CardWithAccounts, DenyReason, JournalTap, MoneyLeg, NewCard, RecordedTap, RefundRecord, RefundTotals } from './store.js'

export interface Preloaded {
  terminals: Map<string, TerminalRecord>
  /** The cards the batch names that exist, their rows locked. */
  cards: Map<string, CardWithAccounts>
  /** Recorded taps by tapKey(). */
  taps: Map<string, RecordedTap>
  /** Rule state rows by stateKey(): the JSON text and expiry. */
  state: Map<string, { value: string, expiresAtMs: number | null }>
  nonces: Set<string>
  accounts: Map<string, { id: number, kind: AccountClass }>
  credits: Map<string, CreditRecord>
  /** Transfer ids drawn from the sequence for this transaction (credits, reversals). */
  transferIds: number[]
  /** Refunds by reference, and the totals of the taps the transaction may refund, by tapKey(). */
  refunds: Map<string, RefundRecord>
  refundTotals: Map<string, RefundTotals>
  /** Preloaded cards whose sealed data did not open, with the error their calls get. */
  damagedCards: Map<string, Error>
  /** The deny-list rows of the preloaded cards, by card token. */
  denylist: Map<string, { token: string, reason: DenyReason }>
}

export interface CollectedWrites {
  newTerminals: TerminalRecord[]
  terminalStatus: Map<string, 'active' | 'disabled'>
  terminalSecrets: Map<string, string>
  /** New cards with their token and sealed data (the row as written: never the number in clear). */
  newCards: Array<{ card: NewCard, token: string, sealed: string, bankAccountId: number, medicalAccountId: number, createdAt: string }>
  cardStatus: Map<string, 'active' | 'lost' | 'frozen'>
  taps: JournalTap[]
  reversals: Array<{ tapRowId: number, transferId: number }>
  transfers: Array<{ id: number, kind: TransferKind, ref: string, createdAt: string, legs: Leg[] }>
  credits: Array<{ reference: string, cardToken: string, account: string, amount: number, transferId: number, debtFen: number }>
  /** The last write of each (card, key); value null deletes the row. */
  state: Map<string, { cardToken: string, key: string, value: string | null, expiresAtMs: number | null }>
  nonces: Array<{ nonce: string, expiresAtMs: number }>
  /** Balance changes by account id. */
  deltas: Map<number, number>
  /** Card accounts' balances as computed here: the database must agree after the deltas. */
  expectedCardBalances: Map<number, number>
  /** Kinds of the accounts in deltas (card accounts are written on their row, others on a shard). */
  accountKinds: Map<number, AccountClass>
  /** Admin audit rows: insert-only, so nothing to preload; written with the change they record. */
  audit: AuditEntry[]
  /** Each changed card's debt after the transaction. */
  cardDebt: Map<string, number>
  refunds: RefundRecord[]
  /** Deny-list changes in order; versions are drawn at flush under the meta row's lock. */
  denylist: Array<{ cardToken: string, token: string, reason: DenyReason | null }>
  /** Closed settlement days (insert-only; the close reads the day itself, pg-engine.ts). */
  settlementDays: Array<{ day: string, closedAt: string, report: string }>
}

export const tapKey = (terminalId: string, tapId: string): string => `${terminalId}\u0000${tapId}`
export const stateKey = (cardToken: string, key: string): string => `${cardToken}\u0000${key}`

export class PreloadedState implements LedgerState {
  readonly postings: { accountId: (code: string, kind: AccountClass) => number }
  readonly vault: CardVault
  private readonly loaded: Preloaded
  private readonly out: CollectedWrites
  private readonly changedCards = new Set<string>()

  constructor (loaded: Preloaded, vault: CardVault) {
    this.loaded = loaded
    this.vault = vault
    this.out = {
      newTerminals: [],
      terminalStatus: new Map(),
      terminalSecrets: new Map(),
      newCards: [],
      cardStatus: new Map(),
      taps: [],
      reversals: [],
      transfers: [],
      credits: [],
      state: new Map(),
      nonces: [],
      deltas: new Map(),
      expectedCardBalances: new Map(),
      // Every account the transaction read, by id: a delta on one needs its kind (pg-batch.ts).
      accountKinds: new Map([...loaded.accounts.values()].map(account => [account.id, account.kind])),
      audit: [],
      cardDebt: new Map(),
      refunds: [],
      denylist: [],
      settlementDays: []
    }
    this.postings = {
      accountId: (code, kind) => {
        const account = loaded.accounts.get(code)
        // The preload creates every account a batch can name (pg-engine.ts); a miss is a bug there.
        if (account === undefined) throw new LedgerInvariantError(`account ${code.startsWith('card:') ? 'card:…' : code} was not preloaded`)
        if (account.kind !== kind) throw new LedgerInvariantError(`account ${code} is a ${account.kind} account, not ${kind}`)
        return account.id
      }
    }
  }

  /** What a late metro entry of this batch may need beyond the preload: the operator accounts and
   *  refund totals of the exits waiting on its cards (late-entry.ts). Usually nothing. */
  awaitingExitNeeds (): { accountIds: number[], taps: Array<[string, string]>, exits: number } {
    const accountIds = new Set<number>()
    const taps: Array<[string, string]> = []
    let exits = 0
    for (const [key, row] of this.loaded.state) {
      if (!key.endsWith(`\u0000${AWAITING_ENTRY_KEY}`)) continue
      for (const exit of JSON.parse(row.value) as AwaitingExit[]) {
        exits++
        if (!this.out.accountKinds.has(exit.operatorAccountId)) accountIds.add(exit.operatorAccountId)
        if (!this.loaded.refundTotals.has(tapKey(exit.terminal.terminalId, exit.tapId))) taps.push([exit.terminal.terminalId, exit.tapId])
      }
    }
    return { accountIds: [...accountIds], taps, exits }
  }

  /** Adds what awaitingExitNeeds() asked for, read in the same transaction, and a transfer id for
   *  each exit's refund. */
  addLoaded (accounts: Array<{ id: number, code: string, kind: AccountClass }>, refundTotals: Array<[string, string, RefundTotals]>, transferIds: number[]): void {
    this.loaded.transferIds.push(...transferIds)
    for (const account of accounts) {
      this.loaded.accounts.set(account.code, { id: account.id, kind: account.kind })
      this.out.accountKinds.set(account.id, account.kind)
    }
    for (const [terminalId, tapId, totals] of refundTotals) this.loaded.refundTotals.set(tapKey(terminalId, tapId), totals)
  }

  /** What the transaction must write; the card balances it computed, for the flush's assertion. */
  writes (): CollectedWrites {
    for (const cardToken of this.changedCards) {
      const card = this.loaded.cards.get(cardToken)!
      this.out.expectedCardBalances.set(card.accountIds.bank, card.balances.bank)
      this.out.expectedCardBalances.set(card.accountIds.medical, card.balances.medical)
    }
    return this.out
  }

  // Terminals

  terminal (terminalId: string): TerminalRecord | undefined {
    const record = this.loaded.terminals.get(terminalId)
    if (record === undefined) return undefined
    const status = this.out.terminalStatus.get(terminalId)
    const secret = this.out.terminalSecrets.get(terminalId)
    return status === undefined && secret === undefined ? record : { ...record, status: status ?? record.status, secret: secret ?? record.secret }
  }

  insertTerminal (record: TerminalRecord): void {
    if (this.loaded.terminals.has(record.terminalId)) throw new LedgerInvariantError(`terminal ${record.terminalId} exists`)
    this.loaded.terminals.set(record.terminalId, record)
    this.out.newTerminals.push(record)
  }

  setTerminalStatus (terminalId: string, status: 'active' | 'disabled'): boolean {
    if (!this.loaded.terminals.has(terminalId)) return false
    this.out.terminalStatus.set(terminalId, status)
    return true
  }

  setTerminalSecret (terminalId: string, storedSecret: string): boolean {
    if (!this.loaded.terminals.has(terminalId)) return false
    this.out.terminalSecrets.set(terminalId, storedSecret)
    return true
  }

  // Cards and money

  card (cardToken: string): CardWithAccounts | undefined {
    const damaged = this.loaded.damagedCards.get(cardToken)
    if (damaged !== undefined) throw damaged
    return this.loaded.cards.get(cardToken)
  }

  cardExists (cardToken: string): boolean {
    return this.card(cardToken) !== undefined
  }

  insertCard (card: NewCard, nowIso: string): void {
    const { token, sealed } = this.vault.sealCard(card)
    const bankAccountId = this.postings.accountId(accountCode.card(token, 'bank'), 'card')
    const medicalAccountId = this.postings.accountId(accountCode.card(token, 'medical'), 'card')
    if (bankAccountId === medicalAccountId) throw new LedgerInvariantError('a card\'s two accounts must differ')
    this.out.newCards.push({ card, token, sealed, bankAccountId, medicalAccountId, createdAt: nowIso })
  }

  rememberNewCard (cardToken: string): void {
    const created = this.out.newCards.find(entry => entry.token === cardToken)
    if (created === undefined) throw new LedgerInvariantError('new card not found')
    const { card } = created
    this.loaded.cards.set(cardToken, {
      token: cardToken,
      cardNo: card.cardNo,
      issuer: card.issuer,
      status: card.status,
      expiresOn: card.expiresOn,
      birthDate: card.birthDate,
      categories: [...card.categories],
      balances: { bank: 0, medical: 0 },
      accountIds: { bank: created.bankAccountId, medical: created.medicalAccountId },
      debtFen: 0
    })
    this.out.accountKinds.set(created.bankAccountId, 'card')
    this.out.accountKinds.set(created.medicalAccountId, 'card')
  }

  setCardStatus (cardToken: string, status: 'active' | 'lost' | 'frozen'): boolean {
    const card = this.loaded.cards.get(cardToken)
    if (card === undefined) return false
    card.status = status
    this.out.cardStatus.set(cardToken, status)
    return true
  }

  moveCardMoney (cardToken: string, account: AccountKind, amountFen: number): number {
    const card = this.loaded.cards.get(cardToken)
    if (card === undefined) throw new LedgerInvariantError('money moved on a card that was not preloaded')
    const after = card.balances[account] + amountFen
    if (after < 0) throw new LedgerInvariantError(`card account would go below zero (${after})`)
    card.balances[account] = after
    this.changedCards.add(cardToken)
    this.out.accountKinds.set(card.accountIds[account], 'card')
    this.addDelta(card.accountIds[account], amountFen)
    return after
  }

  addToBalance (accountId: number, amountFen: number): void {
    if (!this.out.accountKinds.has(accountId)) throw new LedgerInvariantError(`account ${accountId} was not preloaded`)
    this.addDelta(accountId, amountFen)
  }

  postTransfer (kind: TransferKind, ref: string, legs: MoneyLeg[], nowIso: string): number {
    assertBalanced(legs)
    const id = this.loaded.transferIds.shift()
    if (id === undefined) throw new LedgerInvariantError('no transfer id was drawn for this transaction')
    this.out.transfers.push({ id, kind, ref, createdAt: nowIso, legs: legs.map(leg => ({ accountId: leg.accountId, amount: leg.amount })) })
    for (const leg of legs) {
      if (leg.card !== undefined) this.moveCardMoney(leg.card.cardToken, leg.card.account, leg.amount)
      else this.addToBalance(leg.accountId, leg.amount)
    }
    return id
  }

  // Taps

  tap (terminalId: string, tapId: string): RecordedTap | undefined {
    return this.loaded.taps.get(tapKey(terminalId, tapId))
  }

  insertTap (tap: JournalTap): void {
    const key = tapKey(tap.terminalId, tap.tapId)
    if (this.loaded.taps.has(key)) throw new LedgerInvariantError('a tap recorded twice in one transaction')
    this.out.taps.push(tap)
    this.loaded.taps.set(key, {
      id: -1,
      bodyHash: tap.bodyHash,
      cardToken: tap.cardToken,
      scenario: tap.scenario,
      decision: tap.decision,
      reason: tap.reason,
      amount: tap.amount,
      response: tap.response,
      transferId: null,
      reversalTransferId: null,
      bankFen: tap.bankFen,
      medicalFen: tap.medicalFen,
      operatorAccountId: tap.operatorAccountId,
      debtFen: tap.debtFen
    })
  }

  markReversed (tapRowId: number, transferId: number): void {
    if (tapRowId < 0) throw new LedgerInvariantError('a tap reversed in the transaction that recorded it')
    this.out.reversals.push({ tapRowId, transferId })
  }

  postingsOfTransfer (_transferId: number): Array<{ accountId: number, amount: number }> {
    // Taps with postings rows are v1 SQLite files; a PostgreSQL ledger journals every tap's legs.
    throw new LedgerInvariantError('a tap transfer in postings rows: only v1 SQLite ledgers have them')
  }

  // Credits

  credit (reference: string): CreditRecord | undefined {
    const fresh = this.out.credits.find(c => c.reference === reference)
    if (fresh !== undefined) return { reference, card_token: fresh.cardToken, account: fresh.account, amount: fresh.amount }
    return this.loaded.credits.get(reference)
  }

  insertCredit (reference: string, cardToken: string, account: string, amount: number, transferId: number, debtFen: number): void {
    this.out.credits.push({ reference, cardToken, account, amount, transferId, debtFen })
  }

  // Debt, refunds, the deny list

  addCardDebt (cardToken: string, deltaFen: number): number {
    const card = this.loaded.cards.get(cardToken)
    if (card === undefined) throw new LedgerInvariantError('debt moved on a card that was not preloaded')
    const after = card.debtFen + deltaFen
    if (!Number.isSafeInteger(after) || after < 0) throw new LedgerInvariantError(`card debt would be ${after}`)
    card.debtFen = after
    this.out.cardDebt.set(cardToken, after)
    return after
  }

  refund (reference: string): RefundRecord | undefined {
    return this.out.refunds.find(r => r.reference === reference) ?? this.loaded.refunds.get(reference)
  }

  refundTotals (terminalId: string, tapId: string): RefundTotals {
    const loaded = this.loaded.refundTotals.get(tapKey(terminalId, tapId))
    // Refund bounds are checked against these: a tap the preload did not name is a bug there.
    if (loaded === undefined) throw new LedgerInvariantError('the refunds of a tap were not preloaded')
    const totals = { ...loaded }
    for (const r of this.out.refunds) {
      if (r.terminalId !== terminalId || r.tapId !== tapId) continue
      totals.amount += r.amount
      totals.bankFen += r.bankFen
      totals.medicalFen += r.medicalFen
      totals.debtFen += r.debtFen
    }
    return totals
  }

  insertRefund (refund: RefundRecord): void {
    this.out.refunds.push(refund)
  }

  denylistEntry (cardToken: string): { token: string, reason: DenyReason } | undefined {
    if (!this.loaded.cards.has(cardToken)) throw new LedgerInvariantError('the deny-list row of a card that was not preloaded')
    return this.loaded.denylist.get(cardToken)
  }

  writeDenylist (cardToken: string, token: string, reason: DenyReason | null): void {
    if (reason === null) this.loaded.denylist.delete(cardToken)
    else this.loaded.denylist.set(cardToken, { token, reason })
    this.out.denylist.push({ cardToken, token, reason })
  }

  // Rule state and nonces

  stateValue (cardToken: string, key: string, nowMs: number): unknown {
    const k = stateKey(cardToken, key)
    const row = this.out.state.get(k) ?? this.loaded.state.get(k)
    if (row === undefined || row.value === null) return undefined
    if (row.expiresAtMs !== null && row.expiresAtMs <= nowMs) return undefined
    return JSON.parse(row.value)
  }

  writeState (cardToken: string, key: string, value: unknown, expiresAtMs: number | null): void {
    const text = value === null || value === undefined ? null : JSON.stringify(value)
    this.out.state.set(stateKey(cardToken, key), { cardToken, key, value: text, expiresAtMs: text === null ? null : expiresAtMs })
  }

  nonceUsed (nonce: string): boolean {
    return this.loaded.nonces.has(nonce)
  }

  rememberNonce (nonce: string, expiresAtMs: number): void {
    if (this.loaded.nonces.has(nonce)) throw new LedgerInvariantError('a QR nonce used twice')
    this.loaded.nonces.add(nonce)
    this.out.nonces.push({ nonce, expiresAtMs })
  }

  // Admin audit trail

  insertSettlementDay (day: string, closedAtIso: string, report: string): void {
    this.out.settlementDays.push({ day, closedAt: closedAtIso, report })
  }

  insertAudit (entry: AuditEntry): void {
    this.out.audit.push(entry)
  }

  private addDelta (accountId: number, amountFen: number): void {
    this.out.deltas.set(accountId, (this.out.deltas.get(accountId) ?? 0) + amountFen)
  }
}
