// Checks of a tap that need no storage, made on the event loop before the ledger: the time window,
// amount and context against the scenario, and the electronic card's QR signature (one Ed25519
// verify, ~50 µs, kept off the writer). A failed check travels with the tap as `precheck`: the
// writer reports it only when the tap is not already recorded, so a retry of a recorded tap replays.
import { createHash } from 'node:crypto'
import { badRequest, DomainError, ErrorCode } from '../errors.js'
import { verifyCardProof, type CardAuthKeys } from '../cards/card-auth.js'
import { verifyQr, type QrKeyRing } from '../cards/qr-token.js'
import { AT_FUTURE_MS_MAX } from '../constants.js'
import type { Catalogue, ScenarioEntry } from '../rules/catalogue.js'
import type { QrResolution, TapJob, TapRequest, TerminalFacts } from '../ledger/engine.js'

/** Idempotency key material: the tap as parsed, so whitespace differences are the same body.
 *  `offline` (a batch item's flag) is not part of it: a tap sent online whose answer was lost, then
 *  uploaded as decided offline, is the same tap and replays what was recorded. */
export function tapHash (tap: TapRequest): string {
  const body = tap.offline === undefined ? tap : withoutOffline(tap)
  return createHash('sha256').update(JSON.stringify(body)).digest('hex')
}

function withoutOffline (tap: TapRequest): TapRequest {
  const { offline: _offline, ...body } = tap
  return body
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/

/** `at` must be RFC 3339 with an offset, within [now - pastMax, now + 5 min] by the server's clock. */
export function parseAt (at: string, nowMs: number, atPastMsMax: number): number {
  if (!RFC3339.test(at)) throw badRequest('at must be an RFC 3339 time with an offset, e.g. 2026-07-01T08:15:30.123+08:00')
  const atMs = Date.parse(at)
  if (!Number.isFinite(atMs)) throw badRequest('at is not a valid time')
  if (atMs > nowMs + AT_FUTURE_MS_MAX) throw badRequest('at is more than 5 minutes after the server clock')
  if (atMs < nowMs - atPastMsMax) throw badRequest(`at is more than ${Math.round(atPastMsMax / 86_400_000)} days before the server clock`)
  return atMs
}

export function checkRequestShape (tap: TapRequest, scenario: ScenarioEntry): void {
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

export interface TapCheckContext { catalogue: Catalogue, qrKeys: QrKeyRing, cardAuthKeys: CardAuthKeys }

/** The job the writer decides: the tap, its hash, and what the checks found. */
export function prepareTapJob (ctx: TapCheckContext, terminal: TerminalFacts, tap: TapRequest, bodyHash: string, nowMs: number, atPastMsMax: number): TapJob {
  const job: TapJob = { terminal, tap, bodyHash, nowMs }
  try {
    const scenario = ctx.catalogue.scenarios.get(terminal.scenario)
    if (scenario === undefined) throw badRequest(`terminal scenario ${terminal.scenario} is not in the catalogue`)
    if (!ctx.catalogue.cities.has(terminal.city)) throw badRequest(`terminal city ${terminal.city} is not known`)
    parseAt(tap.at, nowMs, atPastMsMax)
    checkRequestShape(tap, scenario)
  } catch (error) {
    if (!(error instanceof DomainError)) throw error
    job.precheck = { code: error.code, message: error.message }
    return job
  }
  if (tap.card.type === 'qr') job.qr = resolveQr(ctx, tap.card.qr, nowMs)
  else job.cardProof = checkCardProof(ctx, terminal, tap)
  return job
}

/** The cryptogram is checked here (AES, no storage); whether the counter rose is the writer's. */
function checkCardProof (ctx: TapCheckContext, terminal: TerminalFacts, tap: TapRequest): TapJob['cardProof'] {
  if (tap.card.type !== 'physical') return undefined
  const required = terminal.cardAuthentication === 'required'
  if (tap.card.atc === undefined && tap.card.cryptogram === undefined && !required) return undefined
  const result = verifyCardProof({
    card: { cardNo: tap.card.cardNo, issuer: tap.card.issuer },
    atc: tap.card.atc,
    cryptogram: tap.card.cryptogram,
    tapFields: { terminalId: terminal.terminalId, tapId: tap.tapId, at: tap.at, amount: tap.amount },
    issuerKeys: ctx.cardAuthKeys,
    lastAtc: null,
    required
  })
  if (!result.ok) return { ok: false, why: result.why }
  return result.atc === null ? undefined : { ok: true, atc: result.atc }
}

function resolveQr (ctx: TapCheckContext, qr: string, nowMs: number): QrResolution {
  const verification = verifyQr(ctx.qrKeys, qr, nowMs)
  if (!verification.ok) return { ok: false, reason: verification.reason }
  const { claims } = verification
  if (!ctx.catalogue.cityByIssuer.has(claims.issuer)) return { ok: false, reason: 'ISSUER_NOT_ACCEPTED' }
  return { ok: true, cardNo: claims.cardNo, issuer: claims.issuer, nonce: claims.nonce, expiresAtMs: claims.expiresAtMs }
}

export { ErrorCode }
