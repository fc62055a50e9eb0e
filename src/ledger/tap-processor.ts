// Decides and records one tap inside the group commit's write transaction:
// idempotency → request checks → card identity (physical or QR) → rule engine → postings →
// state writes → the tap row with the exact answer. Runs synchronously; the caller commits.
import { randomFillSync } from 'node:crypto'
import type { TapAnswer } from '../api/tap-answer.js'
import { badRequest, conflict, ErrorCode } from '../errors.js'
import { verifyQr, type QrKeyRing } from '../cards/qr-token.js'
import type { Catalogue, ScenarioEntry } from '../rules/catalogue.js'
import { declined, decideTap, type CardRecord } from '../rules/engine.js'
import { localTime } from '../rules/local-time.js'
import type { RuleDecision, StateReader, TapFacts, TerminalFacts } from '../rules/types.js'
import { accountCode, type Leg } from './postings.js'
import type { LedgerStore, TerminalRecord, CardWithAccounts } from './store.js'

export interface TapRequest {
  tapId: string
  at: string
  card: { type: 'physical', cardNo: string, issuer: string } | { type: 'qr', qr: string }
  amount?: number
  context?: Record<string, unknown>
}

export interface TapJob {
  terminal: TerminalRecord
  tap: TapRequest
  bodyHash: string
  /** How far before the server's clock `at` may be: 7 days online (api-v1), longer for offline uploads. */
  atPastMsMax: number
}

export interface TapOutcome {
  /** The exact JSON answer (replayed byte for byte on a retry). */
  payload: string
  replay: boolean
  decision: 'approved' | 'declined'
  reason: string | null
  amount: number
  scenario: string
  /** For log correlation without the card number. */
  cardNo: string | null
}

export const AT_FUTURE_MS_MAX = 5 * 60_000
export const AT_PAST_MS_MAX_ONLINE = 7 * 24 * 3_600_000
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/

export type { TapAnswer }

export interface TapProcessorOptions {
  store: LedgerStore
  catalogue: Catalogue
  qrKeys: QrKeyRing
  nowMs: () => number
  serialize: (answer: TapAnswer) => string
}


type CardResolution = { card: CardWithAccounts, qrNonce?: { nonce: string, expiresAtMs: number } } | { declined: RuleDecision, cardNo: string | null }

export class TapProcessor {
  private readonly o: TapProcessorOptions
  constructor (options: TapProcessorOptions) { this.o = options }

  process (job: TapJob): TapOutcome {
    const { store } = this.o
    const { terminal, tap } = job
    const existing = store.tap(terminal.terminalId, tap.tapId)
    if (existing !== undefined) {
      if (existing.bodyHash !== job.bodyHash) {
        throw conflict(`tapId ${tap.tapId} was already used by this terminal with another body`, ErrorCode.TAP_ID_CONFLICT)
      }
      return { payload: existing.response, replay: true, decision: existing.decision, reason: existing.reason, amount: existing.amount, scenario: existing.scenario, cardNo: existing.cardNo }
    }
    const scenario = this.o.catalogue.scenarios.get(terminal.scenario)
    if (scenario === undefined) throw badRequest(`terminal scenario ${terminal.scenario} is not in the catalogue`)
    const nowMs = this.o.nowMs()
    const atMs = parseAt(tap.at, nowMs, job.atPastMsMax)
    checkRequestShape(tap, scenario)
    const city = this.o.catalogue.cities.get(terminal.city)
    if (city === undefined) throw badRequest(`terminal city ${terminal.city} is not known`)
    const facts: TapFacts = {
      tapId: tap.tapId,
      at: localTime(atMs, city.fixture.utcOffsetMinutes),
      amount: tap.amount ?? null,
      context: tap.context ?? {},
      cardType: tap.card.type
    }
    const resolved = this.resolveCard(tap, nowMs)
    const cardNo = 'card' in resolved ? resolved.card.cardNo : resolved.cardNo
    const answer = 'card' in resolved
      ? this.decideAndPost(job, scenario, facts, resolved.card, nowMs)
      : answerFor(tap.tapId, resolved.declined)
    if ('card' in resolved && resolved.qrNonce !== undefined) store.rememberNonce(resolved.qrNonce.nonce, resolved.qrNonce.expiresAtMs)
    const payload = this.o.serialize(answer.body)
    store.insertTap({
      terminalId: terminal.terminalId,
      tapId: tap.tapId,
      bodyHash: job.bodyHash,
      cardNo,
      scenario: terminal.scenario,
      city: terminal.city,
      decision: answer.body.decision,
      reason: answer.body.reason ?? null,
      amount: answer.body.amount,
      account: answer.body.account ?? null,
      at: tap.at,
      recordedAt: new Date(nowMs).toISOString(),
      transferId: answer.transferId,
      response: payload
    })
    return { payload, replay: false, decision: answer.body.decision, reason: answer.body.reason ?? null, amount: answer.body.amount, scenario: terminal.scenario, cardNo }
  }

  private resolveCard (tap: TapRequest, nowMs: number): CardResolution {
    const { store, catalogue } = this.o
    if (tap.card.type === 'physical') {
      if (!catalogue.cityByIssuer.has(tap.card.issuer)) return { declined: declined('ISSUER_NOT_ACCEPTED'), cardNo: null }
      const card = store.card(tap.card.cardNo)
      if (card === undefined || card.issuer !== tap.card.issuer) return { declined: declined('CARD_UNKNOWN'), cardNo: null }
      return { card }
    }
    const verification = verifyQr(this.o.qrKeys, tap.card.qr, nowMs)
    if (!verification.ok) return { declined: declined(verification.reason), cardNo: null }
    const { claims } = verification
    if (!catalogue.cityByIssuer.has(claims.issuer)) return { declined: declined('ISSUER_NOT_ACCEPTED'), cardNo: null }
    if (store.nonceUsed(claims.nonce)) return { declined: declined('QR_REUSED'), cardNo: claims.cardNo }
    const card = store.card(claims.cardNo)
    if (card === undefined || card.issuer !== claims.issuer) return { declined: declined('CARD_UNKNOWN'), cardNo: null }
    return { card, qrNonce: { nonce: claims.nonce, expiresAtMs: claims.expiresAtMs } }
  }

  private decideAndPost (job: TapJob, scenario: ScenarioEntry, tap: TapFacts, card: CardWithAccounts, nowMs: number): { body: TapAnswer, transferId: number | null } {
    const { store, catalogue } = this.o
    const terminal: TerminalFacts = job.terminal
    const state = stateReader(store, card.cardNo)
    const decision = decideTap({ catalogue, scenario, tap, card: card as CardRecord, terminal, state })
    if (decision.decision === 'declined') return answerFor(tap.tapId, decision)

    const total = decision.payments.reduce((sum, p) => sum + p.amount, 0)
    let transferId: number | null = null
    const balances = { ...card.balances }
    if (total > 0) {
      const legs = this.tapLegs(job.terminal, card, decision.payments, total)
      const posted = store.postings.transfer('tap', `${job.terminal.terminalId}/${tap.tapId}`, legs, new Date(nowMs).toISOString())
      transferId = posted.transferId
      for (const p of decision.payments) balances[p.account] -= p.amount
    }
    for (const write of decision.stateWrites ?? []) store.writeState(card.cardNo, write.key, write.value)
    const first = decision.payments[0]!
    const body: TapAnswer = {
      tapId: tap.tapId,
      decision: 'approved',
      amount: total,
      account: first.account,
      balance: balances[first.account],
      authCode: authCode(),
      message: decision.message
    }
    if (decision.payments.length > 1) body.payments = decision.payments
    if (decision.details !== undefined) body.details = decision.details
    return { body, transferId }
  }

  /** Card legs (merged per account) pay the terminal operator's receivable in the terminal's city. */
  private tapLegs (terminal: TerminalRecord, card: CardWithAccounts, payments: Array<{ account: 'bank' | 'medical', amount: number }>, total: number): Leg[] {
    const byAccount = new Map<number, number>()
    for (const p of payments) {
      if (p.amount === 0) continue
      const id = card.accountIds[p.account]
      byAccount.set(id, (byAccount.get(id) ?? 0) - p.amount)
    }
    const legs: Leg[] = [...byAccount].map(([accountId, amount]) => ({ accountId, amount }))
    const operatorId = this.o.store.postings.accountId(accountCode.operator(terminal.operator, terminal.city), 'operator')
    legs.push({ accountId: operatorId, amount: total })
    return legs
  }
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

function answerFor (tapId: string, decision: RuleDecision): { body: TapAnswer, transferId: null } {
  if (decision.decision !== 'declined') throw new Error('answerFor takes declines')
  const body: TapAnswer = { tapId, decision: 'declined', reason: decision.reason, amount: 0, message: decision.message }
  if (decision.details !== undefined) body.details = decision.details
  return { body, transferId: null }
}

function stateReader (store: LedgerStore, cardNo: string): StateReader {
  const cache = new Map<string, unknown>()
  return {
    get (key: string): unknown {
      if (!cache.has(key)) cache.set(key, store.stateValue(cardNo, key))
      return cache.get(key)
    }
  }
}

/** `at` must be RFC 3339 with an offset, within [now - pastMax, now + 5 min] by the server's clock. */
export function parseAt (at: string, nowMs: number, atPastMsMax: number): number {
  if (!RFC3339.test(at)) throw badRequest('at must be an RFC 3339 time with an offset, e.g. 2026-07-01T08:15:30.123+08:00')
  const atMs = Date.parse(at)
  if (!Number.isFinite(atMs)) throw badRequest('at is not a valid time')
  if (atMs > nowMs + AT_FUTURE_MS_MAX) throw badRequest('at is more than 5 minutes after the server clock')
  if (atMs < nowMs - atPastMsMax) throw badRequest(`at is more than ${Math.round(atPastMsMax / 86_400_000)} days before the server clock`)
  return atMs
}

function checkRequestShape (tap: TapRequest, scenario: ScenarioEntry): void {
  const priced = scenario.fixture.pricedAtTerminal
  if (priced && tap.amount === undefined) throw badRequest(`scenario ${scenario.fixture.code} is priced at the terminal: amount is required`)
  if (!priced && tap.amount !== undefined) throw badRequest(`scenario ${scenario.fixture.code} is priced by its tariff: amount must be absent`)
  if (!scenario.validateContext(tap.context ?? {})) {
    const first = scenario.validateContext.errors?.[0]
    throw badRequest(`context ${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'} for scenario ${scenario.fixture.code}`.replace(/\s+/g, ' '))
  }
  const problem = scenario.module.checkRequest?.({ amount: tap.amount ?? null, context: tap.context ?? {} })
  if (problem !== undefined) throw badRequest(problem)
}
