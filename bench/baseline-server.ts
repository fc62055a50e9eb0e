// The ceiling the service is compared with: a Fastify 5 server answering POST /v1/taps with a
// constant tap answer, run as its own process like the service, and fed the very same signed
// requests over the same number of keep-alive connections by the same load generator.
//
// BASELINE_MODE=empty  — Fastify defaults: the built-in JSON body parser (the body IS parsed), no
//                        schema, no authentication, no logging; answers a constant approved-tap JSON.
// BASELINE_MODE=verify — everything the service does in front of the ledger, with the service's own
//                        code: its JSON body parser (SHA-256 of the raw bytes, nesting-depth check,
//                        secure-json-parse), its Fastify options and ajv settings, the tap-request
//                        schema, authenticateTerminal (terminal lookup in a Map, ±300 s timestamp,
//                        HMAC-SHA256 check in constant time, the per-terminal rate limiter (its
//                        bookkeeping, with a limit it never reaches); answers the same constant JSON. No rules, no
//                        ledger, no logging, no metrics.
//
// env: PORT (0), HOST (127.0.0.1), BASELINE_MODE (empty), BENCH_FLEET (full | quick; verify mode).
// Prints `baseline listening on http://...` when ready; exits on SIGTERM/SIGINT.
import Fastify, { type FastifyInstance } from 'fastify'
import { RateLimiter } from '../src/auth/rate-limit.js'
import { authenticateTerminal } from '../src/auth/terminal-auth.js'
import { registerServiceParsing, SERVICE_FASTIFY_OPTIONS } from '../src/app.js'
import { errorBody } from '../src/errors.js'
import type { TerminalRecord } from '../src/ledger/engine.js'
import { buildFleet, FLEET_FULL, FLEET_QUICK } from './lib/fleet.js'

/** A typical approved bus answer (same length class as the service's answers in the mix). */
export const BASELINE_ANSWER = JSON.stringify({
  tapId: 't-1234567',
  decision: 'approved',
  amount: 200,
  account: 'bank',
  balance: 9_998_800,
  authCode: '9F3A61C2',
  message: { zh: '乘车成功，扣费2元', en: 'Have a good ride: 2 yuan' },
  details: { baseFareFen: 200, concession: null, allowanceExhausted: false, transferDiscountFen: 0, fareFen: 200 }
})

const TAP_BODY_BYTES_MAX = 16 * 1024

function emptyServer (): FastifyInstance {
  const app = Fastify()
  app.post('/v1/taps', async (_request, reply) => reply.type('application/json; charset=utf-8').send(BASELINE_ANSWER))
  return app
}

function verifyServer (fleet: 'full' | 'quick'): FastifyInstance {
  const terminals = new Map<string, TerminalRecord>()
  for (const t of buildFleet(fleet === 'full' ? FLEET_FULL : FLEET_QUICK).terminals) {
    terminals.set(t.terminalId, { ...t, status: 'active', createdAt: '2026-01-01T00:00:00.000Z' })
  }
  // The service's own Fastify options, schemas and body parser (src/app.ts), logging aside.
  const app = Fastify(SERVICE_FASTIFY_OPTIONS)
  registerServiceParsing(app)
  // The limiter's work is measured; its limit is not (the recycled pool may run faster per terminal).
  const auth = { lookup: (id: string) => terminals.get(id), rateLimiter: new RateLimiter({ ratePerSecond: 1e9, burst: 1e9 }), nowMs: Date.now }
  app.addHook('preValidation', async (request) => {
    request.terminal = authenticateTerminal(request, auth)
  })
  app.setErrorHandler((error: Error & { statusCode?: number, code?: string }, _request, reply) => {
    void reply.code(error.statusCode ?? 500).send(errorBody(error.code ?? 'INTERNAL', error.message))
  })
  app.post('/v1/taps', { bodyLimit: TAP_BODY_BYTES_MAX, schema: { body: { $ref: 'tap-request.json#' } } },
    async (_request, reply) => reply.code(200).type('application/json; charset=utf-8').send(BASELINE_ANSWER))
  return app
}

async function main (): Promise<void> {
  const mode = process.env.BASELINE_MODE ?? 'empty'
  if (mode !== 'empty' && mode !== 'verify') throw new Error(`BASELINE_MODE must be empty or verify, got ${mode}`)
  const app = mode === 'empty' ? emptyServer() : verifyServer(process.env.BENCH_FLEET === 'quick' ? 'quick' : 'full')
  const address = await app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' })
  process.stdout.write(`baseline (${mode}) listening on ${address}\n`)
  const stop = (): void => { app.close().then(() => process.exit(0), () => process.exit(1)) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main().catch((error: unknown) => {
  process.stderr.write(`baseline failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exit(1)
})
