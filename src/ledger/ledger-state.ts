// What the state machine (tap-machine.ts, writer-ops.ts) may ask of storage: small synchronous
// reads and writes keyed by card, terminal, tap or reference, inside one open transaction.
//
// Two implementations: the SQLite writer's LedgerStore (store.ts), which runs each statement on
// its own connection as it is asked, and the PostgreSQL engine's PreloadedState
// (preloaded-state.ts), which reads every row a batch can touch in a few round trips before the
// state machine runs and writes what it collected afterwards. So the rules of the ledger are one
// code, whatever holds the rows.
import type { CardVault } from '../cards/card-vault.js'
import type { AccountKind } from '../rules/types.js'
import type { AuditEntry, TerminalRecord } from './engine.js'
import type { AccountClass, TransferKind } from './postings.js'
import type { CardWithAccounts, DenyReason, JournalTap, MoneyLeg, NewCard, RecordedTap, RefundRecord, RefundTotals } from './store.js'

export interface CreditRecord { reference: string, card_token: string, account: string, amount: number }

export interface LedgerState {
  readonly postings: { accountId: (code: string, kind: AccountClass) => number }
  /** Card tokens and sealed card data (src/cards/card-vault.ts): every card below is keyed by its
   *  token; a card number from a request becomes one with vault.token before it reaches storage. */
  readonly vault: CardVault

  // Terminals
  terminal: (terminalId: string) => TerminalRecord | undefined
  insertTerminal: (record: TerminalRecord) => void
  setTerminalStatus: (terminalId: string, status: 'active' | 'disabled') => boolean
  setTerminalSecret: (terminalId: string, storedSecret: string) => boolean

  // Cards and money
  card: (cardToken: string) => CardWithAccounts | undefined
  cardExists: (cardToken: string) => boolean
  insertCard: (card: NewCard, nowIso: string) => void
  rememberNewCard: (cardToken: string) => void
  setCardStatus: (cardToken: string, status: 'active' | 'lost' | 'frozen') => boolean
  moveCardMoney: (cardToken: string, account: AccountKind, amountFen: number) => number
  addToBalance: (accountId: number, amountFen: number) => void
  postTransfer: (kind: TransferKind, ref: string, legs: MoneyLeg[], nowIso: string) => number

  // Taps
  tap: (terminalId: string, tapId: string) => RecordedTap | undefined
  insertTap: (tap: JournalTap) => void
  markReversed: (tapRowId: number, reversalTransferId: number) => void
  postingsOfTransfer: (transferId: number) => Array<{ accountId: number, amount: number }>

  // Credits
  credit: (reference: string) => CreditRecord | undefined
  /** debtFen: the part of the credit that repaid the card's debt. */
  insertCredit: (reference: string, cardToken: string, account: string, amount: number, transferId: number, debtFen: number) => void

  // Per-card rule state and QR nonces
  stateValue: (cardToken: string, key: string, nowMs: number) => unknown
  writeState: (cardToken: string, key: string, value: unknown, expiresAtMs: number | null) => void
  nonceUsed: (nonce: string) => boolean
  rememberNonce: (nonce: string, expiresAtMs: number) => void

  // Debt, refunds and the deny list (api-v1.1)
  /** Changes the card's debt by deltaFen (never below zero); returns the debt after. */
  addCardDebt: (cardToken: string, deltaFen: number) => number
  refund: (reference: string) => RefundRecord | undefined
  refundTotals: (terminalId: string, tapId: string) => RefundTotals
  insertRefund: (refund: RefundRecord) => void
  denylistEntry: (cardToken: string) => { token: string, reason: DenyReason } | undefined
  /** Lists the card's token with a reason, or unlists it (null), under the next deny-list version. */
  writeDenylist: (cardToken: string, token: string, reason: DenyReason | null) => void

  // Admin audit trail: insert-only (pruned to its bound by the implementation)
  insertAudit: (entry: AuditEntry) => void

  // Closed settlement days: insert-only, never changed after (settlement-days.ts). The day's
  // journal is read by the engine inside the same transaction and handed to WriterOps.
  insertSettlementDay: (day: string, closedAtIso: string, report: string) => void
}
