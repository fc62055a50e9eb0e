// Terminal routes (HMAC-authenticated): taps, offline batch upload, the terminal's own
// registration, and reversal of a reversible tap (pharmacy / hospital settlement cancel).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import { checkTerminalHeaders, verifyTerminalSignature, type TerminalAuthOptions } from '../auth/terminal-auth.js'
import { errorBody } from '../errors.js'
import { AT_PAST_MS_MAX_ONLINE } from '../constants.js'
import type { TapOutcome, TapRequest, TerminalRecord } from '../ledger/engine.js'
import type { Service } from '../service/service.js'
import { tapHash } from '../service/tap-checks.js'
import { tapLineLogger, type CardTokenizer } from '../log.js'
import type { Metrics } from '../metrics.js'
import { toApiFailure } from './error-handler.js'
import type { LiveFeed } from './live-feed.js'
import type { Heartbeat } from '../service/terminal-heartbeats.js'

/** An upload item's time for ordering; an unreadable one sorts first (its precheck refuses it). */
function atMsOf (tap: TapRequest): number {
  const ms = Date.parse(tap.at)
  return Number.isFinite(ms) ? ms : Number.NEGATIVE_INFINITY
}

export interface TerminalRoutesOptions {
  service: Service
  metrics: Metrics
  auth: TerminalAuthOptions
  cardToken: CardTokenizer
  tapBodyBytesMax: number
  batchBodyBytesMax: number
  /** Offline uploads may carry older taps than online ones. */
  batchAtPastMsMax: number
  /** The ops console's live decisions (src/api/live-feed.ts). */
  liveFeed?: LiveFeed
  /** The ops console's terminal table: each agent's deny-list version and offline queue. */
  onHeartbeat?: (terminalId: string, heartbeat: Heartbeat) => void
}


export async function terminalRoutes (app: FastifyInstance, o: TerminalRoutesOptions): Promise<void> {
  // Headers before the body is read (a stranger gets 401 at once), the signature after it.
  app.addHook('onRequest', async (request) => { checkTerminalHeaders(request, o.auth) })
  app.addHook('preValidation', async (request) => {
    request.terminal = verifyTerminalSignature(request, o.auth)
  })

  const logTap = tapLineLogger(app.log as unknown as Logger)
  const record = (request: FastifyRequest, terminal: TerminalRecord, outcome: TapOutcome, latencyMs: number): void => {
    o.metrics.decisions.inc({ scenario: outcome.scenario, decision: outcome.decision, reason: outcome.reason ?? '' })
    o.metrics.tapLatency.observe({ scenario: outcome.scenario }, latencyMs / 1000)
    const card = outcome.cardNo === null ? null : o.cardToken(outcome.cardNo)
    logTap({
      reqId: request.id,
      terminal: terminal.terminalId,
      tapId: (request.body as TapRequest | undefined)?.tapId,
      scenario: outcome.scenario,
      card,
      decision: outcome.decision,
      reason: outcome.reason ?? undefined,
      amount: outcome.amount,
      replay: outcome.replay || undefined,
      latencyMs: Math.round(latencyMs * 1000) / 1000
    })
    o.liveFeed?.publish({ at: new Date().toISOString(), terminal: terminal.terminalId, scenario: outcome.scenario, city: terminal.city, decision: outcome.decision, reason: outcome.reason ?? null, amount: outcome.amount, card, latencyMs: Math.round(latencyMs * 1000) / 1000, replay: outcome.replay })
  }

  app.post('/v1/taps', {
    bodyLimit: o.tapBodyBytesMax,
    schema: { body: { $ref: 'tap-request.json#' } }
  }, async (request: FastifyRequest<{ Body: TapRequest }>, reply: FastifyReply) => {
    const terminal = request.terminal!
    const outcome = await o.service.submitTap(terminal, request.body, tapHash(request.body), AT_PAST_MS_MAX_ONLINE)
    record(request, terminal, outcome, reply.elapsedTime)
    return reply.code(200).type('application/json; charset=utf-8').send(outcome.payload)
  })

  app.post('/v1/taps/batch', {
    bodyLimit: o.batchBodyBytesMax,
    schema: { body: { $ref: 'tap-batch-request.json#' } }
  }, async (request: FastifyRequest<{ Body: { taps: TapRequest[] } }>, reply: FastifyReply) => {
    const terminal = request.terminal!
    // Submitted together, so the taps join one group commit; in `at` order (api-v1.1: offline taps
    // are decided in at order per card), stable, each answer back in its upload position.
    const taps = request.body.taps
    const order = taps.map((_, i) => i).sort((a, b) => atMsOf(taps[a]!) - atMsOf(taps[b]!) || a - b)
    const submitted = order.map(i => o.service.submitTap(terminal, taps[i]!, tapHash(taps[i]!), o.batchAtPastMsMax))
    const settled: Array<PromiseSettledResult<TapOutcome>> = new Array(taps.length)
    const results = await Promise.allSettled(submitted)
    order.forEach((i, k) => { settled[i] = results[k]! })
    const parts = settled.map(result => {
      if (result.status === 'fulfilled') {
        o.metrics.decisions.inc({ scenario: result.value.scenario, decision: result.value.decision, reason: result.value.reason ?? '' })
        return `{"status":200,"tap":${result.value.payload}}`
      }
      const failure = toApiFailure(result.reason as Error)
      if (failure === undefined) request.log.error({ err: result.reason }, 'unexpected error in batch tap')
      const status = failure?.statusCode ?? 500
      return JSON.stringify({ status, ...errorBody(failure?.code ?? 'INTERNAL', failure?.message ?? 'internal error') })
    })
    request.log.info({ terminal: terminal.terminalId, taps: parts.length, latencyMs: reply.elapsedTime }, 'tap batch')
    return reply.code(200).type('application/json; charset=utf-8').send(`{"results":[${parts.join(',')}]}`)
  })

  // api-v1.1: the deny list by versioned deltas (src/ledger/denylist-read.ts), with the token key.
  app.get('/v1/terminal/denylist', {
    schema: {
      querystring: { type: 'object', additionalProperties: false, properties: { since: { type: 'string', pattern: '^[0-9]{1,15}$' } } },
      response: { 200: { $ref: 'denylist-response.json#' } }
    }
  }, async (request: FastifyRequest<{ Querystring: { since?: string } }>) => {
    const since = request.query.since === undefined ? undefined : Number(request.query.since)
    return await o.service.denylist(since)
  })

  // What the agent's offline queue looks like (extension; docs/offline.md), for ops.
  app.post('/v1/terminal/heartbeat', {
    bodyLimit: 1024,
    schema: { body: { $ref: 'terminal-heartbeat.json#' }, response: { 204: { type: 'null', description: 'recorded' } } }
  }, async (request: FastifyRequest<{ Body: Heartbeat }>, reply: FastifyReply) => {
    o.service.recordHeartbeat(request.terminal!.terminalId, request.body)
    o.onHeartbeat?.(request.terminal!.terminalId, request.body)
    return await reply.code(204).send()
  })

  app.get('/v1/terminal/me', {
    schema: { response: { 200: { $ref: 'terminal.json#' } } }
  }, async (request) => {
    const { secret: _secret, ...registration } = request.terminal!
    return registration
  })

  app.post('/v1/terminal/taps/:tapId/reversal', {
    schema: {
      params: { type: 'object', properties: { tapId: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,64}$' } }, required: ['tapId'] },
      response: { 200: { $ref: 'reversal-response.json#' } }
    }
  }, async (request: FastifyRequest<{ Params: { tapId: string } }>) => {
    const result = await o.service.reverseTap(request.terminal!.terminalId, request.params.tapId)
    request.log.info({ terminal: request.terminal!.terminalId, tapId: request.params.tapId, amount: result.amount }, 'tap reversed')
    return result
  })
}
