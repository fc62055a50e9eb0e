// The tap state machine: decides and records one tap against the ledger as the open transaction
// sees it. idempotency → the service's prechecks → card (physical, or the QR the service already
// verified) → rule engine → journal row with its transfer, card balances, rule state, QR nonce.
//
// A tap cannot fail halfway: everything that can decline or refuse it is decided before the first
// write, and the writes themselves fail only when storage fails, which fails the whole batch. So
// there is no per-tap savepoint (measured: ~2 µs a tap).
import { randomFillSync } from 'node:crypto'
import { conflict, DomainError, ErrorCode, forbidden } from '../errors.js'
import type { Catalogue } from '../rules/catalogue.js'
import { declined, decideTap, type CardRecord } from '../rules/engine.js'
import { localTime } from '../rules/local-time.js'
import type { Payment, RuleDecision, StateReader, TapFacts, TerminalFacts as RuleTerminal } from '../rules/types.js'
import { STATE_TTL_MS_MAX } from '../constants.js'
import type { TapAnswer, TapJob, TapOutcome } from './engine.js'
import { accountCode, LedgerInvariantError } from './postings.js'
import type { LedgerState } from './ledger-state.js'
import type { CardWithAccounts } from './store.js'

/** The last application transaction counter accepted for a card (card_state). */
export const CARD_ATC_KEY = 'card:atc'

export interface TapMachineOptions {
  store: LedgerState
  catalogue: Catalogue
  serialize: (answer: TapAnswer) => string
}

type CardResolution =
  | { card: CardWithAccounts, qrNonce?: { nonce: string, expiresAtMs: number }, atc?: number }
  | { declined: RuleDecision, cardNo: string | null }

interface Decided {
  body: TapAnswer
  payments: Payment[]
  stateWrites: Array<{ key: string, value: unknown, expiresAtMs: number | null }>
}

export class TapMachine {
  private readonly o: TapMachineOptions
  constructor (options: TapMachineOptions) { this.o = options }

  /** Throws DomainError for a tap that must not be recorded (conflict, bad request, a rule module
   *  that broke its contract: INTERNAL for this tap alone). Anything thrown once the writes began
   *  is storage failing, and fails the batch. */
  process (job: TapJob): TapOutcome {
    let decided: ReturnType<TapMachine['decideOnly']>
    try {
      decided = this.decideOnly(job)
    } catch (error) {
      if (error instanceof DomainError || isStorageError(error)) throw error
      throw new DomainError(ErrorCode.INTERNAL, `the tap could not be decided: ${(error as Error).message}`)
    }
    return 'replay' in decided ? decided.replay : this.record(job, decided)
  }

  private decideOnly (job: TapJob): { replay: TapOutcome } | { resolved: CardResolution, decided: Decided, payload: string } {
    const { store } = this.o
    const { terminal, tap } = job
    // The status as the transaction sees it: with several service processes (PostgreSQL), one may
    // have disabled the terminal after another authenticated its request.
    if (terminal.status !== 'active') throw forbidden(`terminal ${terminal.terminalId} is disabled`)
    const existing = store.tap(terminal.terminalId, tap.tapId)
    if (existing !== undefined) {
      if (existing.bodyHash !== job.bodyHash) {
        throw conflict(`tapId ${tap.tapId} was already used by this terminal with another body`, ErrorCode.TAP_ID_CONFLICT)
      }
      return { replay: { payload: existing.response, replay: true, decision: existing.decision, reason: existing.reason, amount: existing.amount, scenario: existing.scenario, cardNo: existing.cardNo } }
    }
    if (job.precheck !== undefined) throw new DomainError(job.precheck.code, job.precheck.message)
    const scenario = this.o.catalogue.scenarios.get(terminal.scenario)
    const city = this.o.catalogue.cities.get(terminal.city)
    if (scenario === undefined || city === undefined) throw new DomainError(ErrorCode.BAD_REQUEST, 'the terminal\'s scenario or city is not in the catalogue')
    const facts: TapFacts = {
      tapId: tap.tapId,
      at: localTime(Date.parse(tap.at), city.fixture.utcOffsetMinutes),
      amount: tap.amount ?? null,
      context: tap.context ?? {},
      cardType: tap.card.type,
      receivedAtMs: job.nowMs
    }
    const resolved = this.resolveCard(job)
    const decided = 'card' in resolved
      ? this.decide(job, facts, resolved.card)
      : { body: answerFor(tap.tapId, resolved.declined), payments: [], stateWrites: [] }
    return { resolved, decided, payload: this.o.serialize(decided.body) }
  }

  /** The writes: nothing here may decline or refuse the tap. */
  private record (job: TapJob, { resolved, decided, payload }: { resolved: CardResolution, decided: Decided, payload: string }): TapOutcome {
    const { store } = this.o
    const { terminal, tap } = job
    const cardNo = 'card' in resolved ? resolved.card.cardNo : resolved.cardNo
    const legs = 'card' in resolved ? this.postPayments(job, resolved.card, decided.payments) : { bankFen: 0, medicalFen: 0, operatorAccountId: null }
    if ('card' in resolved) {
      for (const write of decided.stateWrites) store.writeState(resolved.card.cardNo, write.key, write.value, write.expiresAtMs)
      if (resolved.qrNonce !== undefined) store.rememberNonce(resolved.qrNonce.nonce, resolved.qrNonce.expiresAtMs)
      // The card proved itself with this counter: remembered whatever the rules decided.
      if (resolved.atc !== undefined) store.writeState(resolved.card.cardNo, CARD_ATC_KEY, resolved.atc, null)
    }
    store.insertTap({
      terminalId: terminal.terminalId,
      tapId: tap.tapId,
      bodyHash: job.bodyHash,
      cardNo,
      scenario: terminal.scenario,
      city: terminal.city,
      decision: decided.body.decision,
      reason: decided.body.reason ?? null,
      amount: decided.body.amount,
      account: decided.body.account ?? null,
      at: tap.at,
      recordedAt: new Date(job.nowMs).toISOString(),
      response: payload,
      ...legs
    })
    return { payload, replay: false, decision: decided.body.decision, reason: decided.body.reason ?? null, amount: decided.body.amount, scenario: terminal.scenario, cardNo }
  }

  private resolveCard (job: TapJob): CardResolution {
    const { store, catalogue } = this.o
    const card = job.tap.card
    if (card.type === 'physical') {
      if (!catalogue.cityByIssuer.has(card.issuer)) return { declined: declined('ISSUER_NOT_ACCEPTED'), cardNo: null }
      // A missing or forged proof is refused before the card is looked up: it learns nothing,
      // not even whether the number exists.
      const proof = job.cardProof
      if (proof !== undefined && !proof.ok) return { declined: declined('CARD_AUTH_FAILED'), cardNo: null }
      const found = store.card(card.cardNo)
      if (found === undefined || found.issuer !== card.issuer) return { declined: declined('CARD_UNKNOWN'), cardNo: null }
      if (proof === undefined) return { card: found }
      // The counter must rise: a replayed or cloned card repeats one already seen.
      const lastAtc = store.stateValue(found.cardNo, CARD_ATC_KEY, job.nowMs)
      if (typeof lastAtc === 'number' && proof.atc <= lastAtc) return { declined: declined('CARD_AUTH_FAILED'), cardNo: found.cardNo }
      return { card: found, atc: proof.atc }
    }
    const qr = job.qr
    if (qr === undefined) throw new LedgerInvariantError('a QR tap reached the ledger without its verification')
    if (!qr.ok) return { declined: declined(qr.reason), cardNo: null }
    if (store.nonceUsed(qr.nonce)) return { declined: declined('QR_REUSED'), cardNo: qr.cardNo }
    const found = store.card(qr.cardNo)
    if (found === undefined || found.issuer !== qr.issuer) return { declined: declined('CARD_UNKNOWN'), cardNo: null }
    return { card: found, qrNonce: { nonce: qr.nonce, expiresAtMs: qr.expiresAtMs } }
  }

  private decide (job: TapJob, tap: TapFacts, card: CardWithAccounts): Decided {
    const { store, catalogue } = this.o
    const scenario = catalogue.scenarios.get(job.terminal.scenario)!
    const terminal: RuleTerminal = job.terminal
    const decision = decideTap({ catalogue, scenario, tap, card: card as CardRecord, terminal, state: stateReader(store, card.cardNo, job.nowMs) })
    if (decision.decision === 'declined') return { body: answerFor(tap.tapId, decision), payments: [], stateWrites: [] }

    const total = decision.payments.reduce((sum, p) => sum + p.amount, 0)
    const balances = { ...card.balances }
    for (const p of decision.payments) balances[p.account] -= p.amount
    const first = decision.payments[0]!
    const body: TapAnswer = { tapId: tap.tapId, decision: 'approved', amount: total, authCode: authCode(), message: decision.message }
    // account and balance are optional in api-v1's answer: an identity counter gets neither.
    if (scenario.module.identityOnly !== true) {
      body.account = first.account
      body.balance = balances[first.account]
      if (decision.payments.length > 1) body.payments = decision.payments
    }
    if (decision.details !== undefined) body.details = decision.details
    const stateWrites = (decision.stateWrites ?? []).map(write => ({
      key: write.key,
      value: write.value,
      expiresAtMs: stateExpiry(write, job.nowMs)
    }))
    return { body, payments: decision.payments, stateWrites }
  }

  /** The tap's transfer: the card's accounts pay the terminal operator's receivable in the
   *  terminal's city. Card balances move in the batch; the receivable once per batch. */
  private postPayments (job: TapJob, card: CardWithAccounts, payments: Payment[]): { bankFen: number, medicalFen: number, operatorAccountId: number | null } {
    const { store } = this.o
    let bankFen = 0
    let medicalFen = 0
    for (const p of payments) {
      if (!Number.isSafeInteger(p.amount) || p.amount < 0) throw new LedgerInvariantError(`payment amount must be a whole non-negative fen, got ${p.amount}`)
      if (p.account === 'bank') bankFen += p.amount
      else medicalFen += p.amount
    }
    const total = bankFen + medicalFen
    if (total === 0) return { bankFen, medicalFen, operatorAccountId: null }
    const operatorAccountId = store.postings.accountId(accountCode.operator(job.terminal.operator, job.terminal.city), 'operator')
    if (bankFen > 0) store.moveCardMoney(card.cardNo, 'bank', -bankFen)
    if (medicalFen > 0) store.moveCardMoney(card.cardNo, 'medical', -medicalFen)
    store.addToBalance(operatorAccountId, total)
    return { bankFen, medicalFen, operatorAccountId }
  }
}

/** better-sqlite3 names storage failures SQLITE_*: they fail the batch, never one tap. */
function isStorageError (error: unknown): boolean {
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' && code.startsWith('SQLITE_')
}

/** Rule state is bounded per card: a module writes a fixed set of keys, and dated counters keep
 *  their newest periods inside one key (src/rules/dated-entries.ts). A write may also ask to be
 *  deleted at `expiresAtMs` (at most STATE_TTL_MS_MAX ahead); unset, the row lives until rewritten:
 *  loans and open journeys must not vanish by age. */
function stateExpiry (write: { expiresAtMs?: number }, nowMs: number): number | null {
  return write.expiresAtMs === undefined ? null : Math.min(write.expiresAtMs, nowMs + STATE_TTL_MS_MAX)
}

// Auth codes come from the CSPRNG in 4 KiB draws, 4 bytes a tap. Measured (bench/PERFORMANCE.md):
// randomBytes(4) per tap was ~3 % of the service's CPU at full load (one CSPRNG call per tap).
const RANDOM_POOL_BYTES = 4096
const randomPool = Buffer.alloc(RANDOM_POOL_BYTES)
let randomOffset = RANDOM_POOL_BYTES

function authCode (): string {
  if (randomOffset + 4 > RANDOM_POOL_BYTES) {
    randomFillSync(randomPool)
    randomOffset = 0
  }
  const code = randomPool.toString('hex', randomOffset, randomOffset + 4).toUpperCase()
  randomOffset += 4
  return code
}

function answerFor (tapId: string, decision: RuleDecision): TapAnswer {
  if (decision.decision !== 'declined') throw new Error('answerFor takes declines')
  const body: TapAnswer = { tapId, decision: 'declined', reason: decision.reason, amount: 0, message: decision.message }
  if (decision.details !== undefined) body.details = decision.details
  return body
}

function stateReader (store: LedgerState, cardNo: string, nowMs: number): StateReader {
  const cache = new Map<string, unknown>()
  return {
    get (key: string): unknown {
      if (!cache.has(key)) cache.set(key, store.stateValue(cardNo, key, nowMs))
      return cache.get(key)
    }
  }
}
