// Admin routes (Bearer ADMIN_TOKEN): terminals, cards, credits, QR minting, tap history, ledger
// check, the audit trail. Every change passes its actor (role, request id, client address) to the
// service, which has the engine record it in the change's own transaction (issue #13 item 8).
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { adminRouteGuard } from '../auth/ops-role.js'
import { CARD_NO_PATTERN } from '../cards/card-identity.js'
import { AUDIT_PAGE_ROWS_DEFAULT, TERMINAL_SECRET_OVERLAP_S_DEFAULT } from '../constants.js'
import { notFound } from '../errors.js'
import type { AdminActor, AuditRecord, CardInput, TerminalRecord } from '../ledger/engine.js'
import type { AuthTerminal } from '../auth/terminal-auth.js'
import type { Service, TerminalInput } from '../service/service.js'
import type { AccountKind } from '../rules/types.js'
import { operatorsCsv } from './settlement-csv.js'

export interface AdminRoutesOptions { service: Service, adminToken: string, opsToken?: string }

const cardParams = {
  type: 'object',
  required: ['cardNo'],
  properties: { cardNo: { type: 'string', pattern: CARD_NO_PATTERN } }
}
const terminalParams = {
  type: 'object',
  required: ['terminalId'],
  properties: { terminalId: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } }
}
type CardParams = { Params: { cardNo: string } }
type TerminalParams = { Params: { terminalId: string } }
const QR_TTL_SECONDS_DEFAULT = 60
const DATE = '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
// Query strings are not coerced (app.ts): digits by pattern, bounds in the service. At most 15
// digits, so the number is exact.
const POSITIVE_INTEGER = '^[1-9][0-9]{0,14}$'
const pageQuery = { limit: { type: 'string', pattern: POSITIVE_INTEGER }, before: { type: 'string', pattern: POSITIVE_INTEGER } }
const auditQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...pageQuery,
    // A terminal id or a card token (card_ + 12 hex): never a card number in a query string (the
    // logs redact card numbers in /cards/ paths; a card's own trail is /cards/:cardNo/audit).
    target: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' }
  }
}
const cardAuditQuery = { type: 'object', additionalProperties: false, properties: pageQuery }
type AuditQuerystring = { Querystring: { limit?: string, before?: string, target?: string } }
// A calendar date is checked again by the service (2026-02-30 matches the pattern): 400 either way.
const dayParams = { type: 'object', required: ['date'], properties: { date: { type: 'string', pattern: DATE } } }
const dayQuery = { type: 'object', additionalProperties: false, properties: { format: { type: 'string', enum: ['json', 'csv'] } } }
type DayParams = { Params: { date: string } }

/** Who is asking: the role the guard found (never the token), the request id, the peer address. */
function actorOf (request: FastifyRequest): AdminActor {
  return { role: request.role ?? 'admin', requestId: String(request.id), clientIp: request.ip }
}

/** The audit row again as a log line (shipped off the machine), once the change committed. */
function logChange (request: FastifyRequest, action: string, target: string): void {
  request.log.info({ audit: { action, target, actor: request.role, clientIp: request.ip } }, 'admin change')
}

export async function adminRoutes (app: FastifyInstance, o: AdminRoutesOptions): Promise<void> {
  const guard = adminRouteGuard(o)
  const { service } = o
  app.addHook('onRequest', async (request) => { request.role = guard(request) })

  app.post('/v1/admin/terminals', {
    schema: { body: { $ref: 'terminal-registration.json#' }, response: { 201: { $ref: 'terminal.json#' } } }
  }, async (request: FastifyRequest<{ Body: TerminalInput }>, reply) => {
    const { secret: _ignored, ...input } = request.body
    const record = await service.registerTerminal(input, actorOf(request))
    logChange(request, 'terminal.register', record.terminalId)
    return reply.code(201).send(record)
  })

  app.get('/v1/admin/terminals/:terminalId', {
    schema: { params: terminalParams, response: { 200: { $ref: 'terminal.json#' } } }
  }, async (request: FastifyRequest<TerminalParams>) => {
    const terminal = service.terminal(request.params.terminalId)
    if (terminal === undefined) throw notFound('terminal not found')
    return terminalView(terminal)
  })

  app.patch('/v1/admin/terminals/:terminalId', {
    schema: { params: terminalParams, body: { $ref: 'terminal-patch.json#' }, response: { 200: { $ref: 'terminal.json#' } } }
  }, async (request: FastifyRequest<TerminalParams & { Body: { status: 'active' | 'disabled' } }>) => {
    const view = terminalView(await service.setTerminalStatus(request.params.terminalId, request.body.status, actorOf(request)))
    logChange(request, 'terminal.status', view.terminalId)
    return view
  })

  app.post('/v1/admin/terminals/:terminalId/secret', {
    schema: { params: terminalParams, body: { $ref: 'terminal-secret-rotation.json#' }, response: { 200: { $ref: 'terminal-secret.json#' } } }
  }, async (request: FastifyRequest<TerminalParams & { Body: { overlapS?: number } | undefined }>) => {
    const rotated = await service.rotateTerminalSecret(request.params.terminalId, request.body?.overlapS ?? TERMINAL_SECRET_OVERLAP_S_DEFAULT, actorOf(request))
    logChange(request, 'terminal.secret', rotated.terminalId)
    return rotated
  })

  app.post('/v1/admin/cards', {
    schema: { body: { $ref: 'card-registration.json#' }, response: { 201: { $ref: 'card.json#' } } }
  }, async (request: FastifyRequest<{ Body: CardInput }>, reply) => {
    const card = await service.createCard(request.body, actorOf(request))
    logChange(request, 'card.create', service.cardTokenOf(card.cardNo))
    return reply.code(201).send(card)
  })

  app.get('/v1/admin/cards/:cardNo', {
    schema: { params: cardParams, response: { 200: { $ref: 'card.json#' } } }
  }, async (request: FastifyRequest<CardParams>) => await service.cardView(request.params.cardNo))

  app.patch('/v1/admin/cards/:cardNo', {
    schema: { params: cardParams, body: { $ref: 'card-patch.json#' }, response: { 200: { $ref: 'card.json#' } } }
  }, async (request: FastifyRequest<CardParams & { Body: { status: 'active' | 'lost' | 'frozen' } }>) => {
    const card = await service.setCardStatus(request.params.cardNo, request.body.status, actorOf(request))
    logChange(request, 'card.status', service.cardTokenOf(card.cardNo))
    return card
  })

  app.post('/v1/admin/cards/:cardNo/credits', {
    schema: { params: cardParams, body: { $ref: 'credit-request.json#' }, response: { 200: { $ref: 'card.json#' } } }
  }, async (request: FastifyRequest<CardParams & { Body: { account: AccountKind, amount: number, reference: string } }>) => {
    const { account, amount, reference } = request.body
    const card = await service.credit(request.params.cardNo, account, amount, reference, actorOf(request))
    logChange(request, 'card.credit', service.cardTokenOf(card.cardNo))
    return card
  })

  // api-v1.1 refunds of an approved tap, idempotent on reference.
  app.post('/v1/admin/taps/:terminalId/:tapId/refund', {
    schema: {
      params: { type: 'object', required: ['terminalId', 'tapId'], properties: { terminalId: terminalParams.properties.terminalId, tapId: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,64}$' } } },
      body: { $ref: 'refund-request.json#' },
      response: { 200: { $ref: 'refund-response.json#' } }
    }
  }, async (request: FastifyRequest<{ Params: { terminalId: string, tapId: string }, Body: { amount?: number, reference: string } }>) => {
    const { terminalId, tapId } = request.params
    const result = await service.refundTap(terminalId, tapId, request.body.amount, request.body.reference, actorOf(request))
    logChange(request, 'tap.refund', terminalId)
    return result
  })

  // What each terminal's agent last reported of its offline queue (heartbeats; admin or ops).
  app.get('/v1/admin/heartbeats', {
    schema: { response: { 200: { $ref: 'heartbeats-response.json#' } } }
  }, async () => ({ summary: service.heartbeats.summary(), terminals: service.heartbeats.all() }))

  app.get('/v1/admin/cards/:cardNo/taps', {
    schema: { params: cardParams, response: { 200: { $ref: 'card-taps-response.json#' } } }
  }, async (request: FastifyRequest<CardParams>) => ({
    taps: (await service.tapsForCard(request.params.cardNo)).map(t => ({
      terminalId: t.terminalId,
      tapId: t.tapId,
      decision: t.decision,
      reason: t.reason ?? undefined,
      amount: t.amount,
      account: t.account ?? undefined,
      at: t.at,
      scenario: t.scenario,
      city: t.city,
      recordedAt: t.recordedAt,
      reversed: t.reversed
    }))
  }))

  app.post('/v1/admin/cards/:cardNo/qr', {
    // The body is optional (api-v1: {"ttlSeconds"?}); no body means the defaults.
    preValidation: async (request) => { request.body ??= {} },
    schema: { params: cardParams, body: { $ref: 'qr-request.json#' }, response: { 200: { $ref: 'qr-response.json#' } } }
  }, async (request: FastifyRequest<CardParams & { Body: { ttlSeconds?: number } | undefined }>) => {
    const minted = await service.mintQr(request.params.cardNo, request.body?.ttlSeconds ?? QR_TTL_SECONDS_DEFAULT, actorOf(request))
    logChange(request, 'card.qr', service.cardTokenOf(request.params.cardNo))
    return minted
  })

  app.get('/v1/admin/ledger/check', async () => await service.check())

  app.get('/v1/admin/audit', {
    schema: { querystring: auditQuery, response: { 200: { $ref: 'audit-response.json#' } } }
  }, async (request: FastifyRequest<AuditQuerystring>) => await auditPage(service, request.query, request.query.target))

  // "Who froze this card?": the card's own trail, by its number in the path (redacted in the logs),
  // admin only like every card route.
  app.get('/v1/admin/cards/:cardNo/audit', {
    schema: { params: cardParams, querystring: cardAuditQuery, response: { 200: { $ref: 'audit-response.json#' } } }
  }, async (request: FastifyRequest<CardParams & AuditQuerystring>) => {
    await service.cardView(request.params.cardNo)
    return await auditPage(service, request.query, service.cardTokenOf(request.params.cardNo))
  })

  app.get('/v1/admin/settlement', {
    schema: {
      querystring: {
        type: 'object',
        required: ['from', 'to'],
        additionalProperties: false,
        properties: { from: { type: 'string', pattern: DATE }, to: { type: 'string', pattern: DATE } }
      }
    }
  }, async (request: FastifyRequest<{ Querystring: { from: string, to: string } }>) => {
    const { from, to } = request.query
    const rows = await service.settlement(from, to)
    const totals = { taps: 0, amount: 0, reversedAmount: 0, netAmount: 0, crossCityNetAmount: 0 }
    for (const row of rows) {
      totals.taps += row.taps
      totals.amount += row.amount
      totals.reversedAmount += row.reversedAmount
      totals.netAmount += row.netAmount
      if (row.city !== row.issuerCity) totals.crossCityNetAmount += row.netAmount
    }
    return { from, to, rows, totals }
  })

  // Daily settlement between the cities (api-v1 1.1, docs/settlement.md). Admin or ops may read.
  app.get('/v1/admin/settlement/days/:date', {
    schema: { params: dayParams, querystring: dayQuery, response: { 200: { $ref: 'settlement-day.json#' } } }
  }, async (request: FastifyRequest<DayParams & { Querystring: { format?: 'json' | 'csv' } }>, reply) => {
    const report = await service.settlementDay(request.params.date)
    if (request.query.format !== 'csv') return report
    return await reply.type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="settlement-${report.date}-${report.status}.csv"`)
      .send(operatorsCsv(report.operators))
  })

  // Admin only: it posts the settlement transfers. Not in the audit trail (admin_audit's target_kind
  // is card or terminal); its log line and the settlement_days row (closed_at) record it.
  app.post('/v1/admin/settlement/days/:date/close', {
    schema: { params: dayParams, response: { 200: { $ref: 'settlement-day.json#' } } }
  }, async (request: FastifyRequest<DayParams>) => {
    const report = await service.closeSettlementDay(request.params.date)
    logChange(request, 'settlement.close', report.date)
    return report
  })
}

async function auditPage (service: Service, query: { limit?: string, before?: string }, target: string | undefined): Promise<Record<string, unknown>> {
  const pageRows = query.limit === undefined ? AUDIT_PAGE_ROWS_DEFAULT : Number(query.limit)
  const before = query.before === undefined ? {} : { before: Number(query.before) }
  const entries = await service.auditTrail({ limit: pageRows, ...before, ...(target === undefined ? {} : { target }) })
  // A full page may have older rows after it: the cursor to ask for them.
  return { entries: entries.map(auditView), ...(entries.length === pageRows ? { nextBefore: entries[entries.length - 1]!.id } : {}) }
}

/** An audit row on the wire: `at` in RFC 3339 like every time of the API, `atMs` as stored. */
function auditView (r: AuditRecord): Record<string, unknown> {
  return {
    id: r.id,
    at: new Date(r.atMs).toISOString(),
    atMs: r.atMs,
    actor: r.actor,
    action: r.action,
    target: { kind: r.targetKind, id: r.target },
    requestId: r.requestId,
    clientIp: r.clientIp,
    detail: r.detail
  }
}

/** A terminal as admin reads it: never a secret, current or previous. */
function terminalView (record: AuthTerminal): Omit<TerminalRecord, 'secret'> {
  const { secret: _secret, previousSecret: _previous, previousSecretUntilMs: _until, ...view } = record
  return view
}
