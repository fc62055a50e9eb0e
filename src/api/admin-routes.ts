// Admin routes (Bearer ADMIN_TOKEN): terminals, cards, credits, QR minting, tap history, ledger check.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { adminRouteGuard } from '../auth/ops-role.js'
import { CARD_NO_PATTERN } from '../cards/card-identity.js'
import { notFound } from '../errors.js'
import type { CardInput } from '../ledger/engine.js'
import type { Service, TerminalInput } from '../service/service.js'
import type { AccountKind } from '../rules/types.js'

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

export async function adminRoutes (app: FastifyInstance, o: AdminRoutesOptions): Promise<void> {
  const guard = adminRouteGuard(o)
  const { service } = o
  app.addHook('onRequest', async (request) => { guard(request) })

  app.post('/v1/admin/terminals', {
    schema: { body: { $ref: 'terminal-registration.json#' }, response: { 201: { $ref: 'terminal.json#' } } }
  }, async (request: FastifyRequest<{ Body: TerminalInput }>, reply) => {
    const { secret: _ignored, ...input } = request.body
    return reply.code(201).send(await service.registerTerminal(input))
  })

  app.get('/v1/admin/terminals/:terminalId', {
    schema: { params: terminalParams, response: { 200: { $ref: 'terminal.json#' } } }
  }, async (request: FastifyRequest<TerminalParams>) => {
    const terminal = service.terminal(request.params.terminalId)
    if (terminal === undefined) throw notFound('terminal not found')
    const { secret: _secret, ...view } = terminal
    return view
  })

  app.patch('/v1/admin/terminals/:terminalId', {
    schema: { params: terminalParams, body: { $ref: 'terminal-patch.json#' }, response: { 200: { $ref: 'terminal.json#' } } }
  }, async (request: FastifyRequest<TerminalParams & { Body: { status: 'active' | 'disabled' } }>) => {
    const { secret: _secret, ...view } = await service.setTerminalStatus(request.params.terminalId, request.body.status)
    return view
  })

  app.post('/v1/admin/cards', {
    schema: { body: { $ref: 'card-registration.json#' }, response: { 201: { $ref: 'card.json#' } } }
  }, async (request: FastifyRequest<{ Body: CardInput }>, reply) => {
    return reply.code(201).send(await service.createCard(request.body))
  })

  app.get('/v1/admin/cards/:cardNo', {
    schema: { params: cardParams, response: { 200: { $ref: 'card.json#' } } }
  }, async (request: FastifyRequest<CardParams>) => await service.cardView(request.params.cardNo))

  app.patch('/v1/admin/cards/:cardNo', {
    schema: { params: cardParams, body: { $ref: 'card-patch.json#' }, response: { 200: { $ref: 'card.json#' } } }
  }, async (request: FastifyRequest<CardParams & { Body: { status: 'active' | 'lost' | 'frozen' } }>) =>
    await service.setCardStatus(request.params.cardNo, request.body.status))

  app.post('/v1/admin/cards/:cardNo/credits', {
    schema: { params: cardParams, body: { $ref: 'credit-request.json#' }, response: { 200: { $ref: 'card.json#' } } }
  }, async (request: FastifyRequest<CardParams & { Body: { account: AccountKind, amount: number, reference: string } }>) => {
    const { account, amount, reference } = request.body
    return await service.credit(request.params.cardNo, account, amount, reference)
  })

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
  }, async (request: FastifyRequest<CardParams & { Body: { ttlSeconds?: number } | undefined }>) =>
    await service.mintQr(request.params.cardNo, request.body?.ttlSeconds ?? QR_TTL_SECONDS_DEFAULT))

  app.get('/v1/admin/ledger/check', async () => await service.check())

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
}
