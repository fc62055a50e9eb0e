// The engine seam: everything the service needs from storage, and nothing about HTTP. The SQLite
// engine (a writer thread owning the only write connection, a reader thread for reports) is one
// implementation; a PostgreSQL engine is the next. Every call is asynchronous because in both
// engines the work happens somewhere else (another thread, another machine).
//
// Taps are decided where they are recorded: the engine runs the pure rule engine inside the write
// transaction, against committed state plus the batch's own earlier writes, so "approved" always
// means "decided on the balance that was really there, and durable".
import type { TapAnswer } from '../api/tap-answer.js'
import type { ErrorCode } from '../errors.js'
import type { AccountKind, CityCode, TerminalLocation } from '../rules/types.js'
import type { LedgerCheckReport } from './check.js'
import type { SettlementRow } from './settlement.js'
import type { SettlementDayReport } from './settlement-days.js'

export type { TapAnswer }

export interface TapRequest {
  tapId: string
  at: string
  card: { type: 'physical', cardNo: string, issuer: string, atc?: number, cryptogram?: string } | { type: 'qr', qr: string }
  amount?: number
  context?: Record<string, unknown>
  /** api-v1.1 batch items: the terminal let the holder through without asking. */
  offline?: boolean
}

export interface TerminalRecord {
  terminalId: string
  city: CityCode
  scenario: string
  operator: string
  location: TerminalLocation
  secret: string
  status: 'active' | 'disabled'
  createdAt: string
  /** "required": a physical card without a valid proof of presence is declined CARD_AUTH_FAILED. */
  cardAuthentication?: 'optional' | 'required'
}

/** What the writer needs of the terminal: never its secret. */
export type TerminalFacts = Omit<TerminalRecord, 'secret'>

/** A QR card resolved by the service before the ledger: the signature check needs no storage. */
export type QrResolution =
  | { ok: true, cardNo: string, issuer: string, nonce: string, expiresAtMs: number }
  | { ok: false, reason: 'QR_INVALID' | 'QR_EXPIRED' | 'ISSUER_NOT_ACCEPTED' }

export interface TapJob {
  terminal: TerminalFacts
  tap: TapRequest
  /** SHA-256 of the parsed tap: the idempotency key's body check. */
  bodyHash: string
  /** The server's clock when the tap arrived. */
  nowMs: number
  /** A check the service made before the ledger failed (time window, amount, context). It is
   *  reported only if the tap is not already recorded, so a retry of a recorded tap still replays. */
  precheck?: { code: ErrorCode, message: string }
  qr?: QrResolution
  /** A physical card's proof of presence, checked by the service (the cryptogram needs no storage);
   *  the writer checks that its counter rose. Absent: no proof sent and none required. */
  cardProof?: { ok: true, atc: number } | { ok: false, why: string }
}

export interface TapOutcome {
  /** The exact JSON answer (replayed byte for byte on a retry). */
  payload: string
  replay: boolean
  decision: 'approved' | 'declined'
  reason: string | null
  amount: number
  scenario: string
  /** For log correlation without the card number (the service tokenises it). */
  cardNo: string | null
}

export interface EngineError { code: ErrorCode, message: string }
export type TapResult = { ok: true, outcome: TapOutcome } | { ok: false, error: EngineError }

export interface CardInput {
  cardNo: string
  issuer: string
  holder?: { birthDate?: string, categories?: string[] }
  expiresOn?: string
  status?: 'active' | 'lost' | 'frozen'
  accounts?: Partial<Record<AccountKind, number>>
}

export interface CardView {
  cardNo: string
  issuer: string
  city: string
  status: string
  expiresOn: string | null
  holder: { birthDate: string | null, categories: string[] }
  balances: Record<AccountKind, number>
  /** api-v1.1: owed for offline taps the card could not pay (fen). */
  debt: number
}

export interface StoredTap {
  terminalId: string
  tapId: string
  cardNo: string | null
  scenario: string
  city: string
  decision: 'approved' | 'declined'
  reason: string | null
  amount: number
  account: string | null
  at: string
  recordedAt: string
  reversed: boolean
}

/** api-v1.1 refund answer: the tap's refunds so far, and where this one went. */
export interface RefundResult {
  refunded: number
  payments: Array<{ account: AccountKind, amount: number }>
  /** Of this refund, what cancelled the card's debt instead of returning money. */
  debtCancelled: number
}

/** api-v1.1 deny list, as a terminal gets it (GET /v1/terminal/denylist). */
export interface DenylistAnswer {
  version: number
  full: boolean
  add: Array<{ token: string, reason: 'debt' | 'lost' | 'frozen' }>
  remove: string[]
}

export interface ReversalResult {
  tapId: string
  reversed: true
  amount: number
  payments: Array<{ account: string, amount: number }>
}

/** Who asked for an admin change and from where (the route knows): the bearer's role, never its
 *  token; request.ip; the request id of its log lines. */
export interface AdminActor { role: 'admin' | 'ops', requestId: string, clientIp: string }

/** What an engine needs to record an admin change in the change's own transaction: the actor,
 *  when (the service's clock) and the target as it may be stored (a card as its token). */
export interface AuditStamp extends AdminActor { atMs: number, target: string }

export type AuditAction = 'card.create' | 'card.status' | 'card.credit' | 'card.qr' | 'tap.refund' | 'terminal.register' | 'terminal.status' | 'terminal.secret'

/** One row of the admin audit trail. `detail` names what changed: never a secret, a card number
 *  or holder data. */
export interface AuditEntry {
  atMs: number
  actor: 'admin' | 'ops'
  action: AuditAction
  targetKind: 'card' | 'terminal'
  target: string
  requestId: string
  clientIp: string
  detail: Record<string, unknown>
}

export interface AuditRecord extends AuditEntry { id: number }

/** A page of the trail, newest first: ids below `before`, of `target` when given. */
export interface AuditQuery { limit: number, before?: number, target?: string }

export interface BatchStats { size: number, commitMs: number }

export interface EngineHealth { writable: boolean, detail: string }

export interface LedgerEngine {
  readonly kind: 'sqlite' | 'postgres'
  /** Decides and durably records the taps, in order; one result per job. A failed commit fails
   *  every job of the batch with OVERLOADED and leaves nothing behind. */
  decideTaps (jobs: TapJob[]): Promise<TapResult[]>
  // Admin changes take an AuditStamp: the engine writes the audit row in the change's own
  // transaction, so a change that rolls back leaves no row and a committed one always has one.
  // No stamp (the demo seed, tests below the service): no row.
  createCard (input: CardInput & { issuerCity: CityCode }, nowMs: number, audit?: AuditStamp): Promise<CardView>
  card (cardNo: string): Promise<CardView | undefined>
  setCardStatus (cardNo: string, status: 'active' | 'lost' | 'frozen', audit?: AuditStamp): Promise<CardView>
  credit (cardNo: string, account: AccountKind, amount: number, reference: string, nowMs: number, audit?: AuditStamp): Promise<CardView>
  reverseTap (terminalId: string, tapId: string, nowMs: number): Promise<ReversalResult>
  /** Refunds all (amount undefined) or part of an approved tap's charge; idempotent on reference. */
  refundTap (terminalId: string, tapId: string, amount: number | undefined, reference: string, nowMs: number, audit?: AuditStamp): Promise<RefundResult>
  /** Lists the cards a ledger from before the deny list has lost, frozen or in debt; returns how
   *  many it synced (run at start; nothing to do on a ledger that always had the list). */
  backfillDenylist (): Promise<number>
  /** Reads off the writer: the deny list's changes after `since`, or all of it. */
  denylist (since: number | undefined): Promise<DenylistAnswer>
  registerTerminal (record: TerminalRecord, audit?: AuditStamp): Promise<TerminalRecord>
  setTerminalStatus (terminalId: string, status: 'active' | 'disabled', audit?: AuditStamp): Promise<TerminalRecord>
  /** Stores a terminal's secret as given: the service hands it sealed (src/auth/secret-box.ts). */
  setTerminalSecret (terminalId: string, storedSecret: string, audit?: AuditStamp, detail?: Record<string, unknown>): Promise<TerminalRecord>
  /** An admin act that changes no ledger row (minting a card's QR): its audit row alone, committed. */
  recordAudit (entry: AuditEntry): Promise<void>
  /** Reads off the writer: the audit trail, newest first. */
  auditTrail (query: AuditQuery): Promise<AuditRecord[]>
  terminals (): Promise<TerminalRecord[]>
  counts (): Promise<{ cards: number, terminals: number }>
  /** Reads off the writer. */
  tapsForCard (cardNo: string, limit: number): Promise<StoredTap[] | undefined>
  check (): Promise<LedgerCheckReport>
  settlement (fromDate: string, toDate: string): Promise<SettlementRow[]>
  /** One settlement day (settlement-days.ts): a closed day's stored report, or an open day's
   *  figures read off the writer (SQLite reader thread, PostgreSQL one snapshot). */
  settlementDay (date: string): Promise<SettlementDayReport>
  /** Closes a day that is over (the service checked): computes it, posts the settlement transfers
   *  and stores the report in ONE write transaction; a closed day answers its stored report. */
  closeSettlementDay (date: string, nowMs: number): Promise<SettlementDayReport>
  /** Terminals registered or changed by another service process on the same ledger (PostgreSQL);
   *  an engine that is the only writer of its ledger never calls it. */
  watchTerminals?: (onChange: (record: TerminalRecord) => void) => void
  /** Proves the ledger can be written now (a committed probe write). */
  health (): Promise<EngineHealth>
  /** What the engine knows without asking storage: false while it cannot take writes at all
   *  (its writer is down, its connection lost). */
  readonly up: boolean
  close (): Promise<void>
}
