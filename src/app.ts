// Builds the service: ledger, catalogue, logging, metrics and the three route plugins
// (public, terminal, admin). Tests boot this same app with `inject` or on port 0.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyHttpOptions, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Server } from 'node:http'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastJson from 'fast-json-stringify'
import type { DestinationStream, Logger } from 'pino'
import { RateLimiter } from './auth/rate-limit.js'
import { loadIssuerKeys, type IssuerKeys } from './cards/issuer-keys.js'
import { loadFixtures, FIXTURES_DIR } from './fixtures.js'
import { Ledger } from './ledger/ledger.js'
import { openLedgerDb } from './ledger/schema.js'
import { seedDemo } from './ledger/seed.js'
import type { TapAnswer } from './ledger/tap-processor.js'
import { cardTokenizer, createLogger, redactUrl } from './log.js'
import { createMetrics, type Metrics } from './metrics.js'
import { buildCatalogue } from './rules/catalogue.js'
import { errorBody } from './errors.js'
import { registerErrorHandling } from './api/error-handler.js'
import { clientErrorHandler, registerEarlyAnswers } from './api/early-answer.js'
import { checkHttpLimits, HTTP_LIMITS, type HttpLimits } from './api/http-limits.js'
import { registerGracefulClose, type GracefulClose } from './api/graceful-close.js'
import { registerJsonBodyParser } from './api/json-body.js'
import { publicRoutes } from './api/public-routes.js'
import { terminalRoutes } from './api/terminal-routes.js'
import { adminRoutes } from './api/admin-routes.js'

export const SCHEMAS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas')

export interface AppOptions {
  dbPath: string
  adminToken: string
  seed: 'demo' | 'none'
  fixturesDir?: string
  logLevel?: string
  /** Where log lines go (tests capture them); default stdout, asynchronously. */
  logStream?: DestinationStream
  nowMs?: () => number
  rateLimit?: { ratePerSecond: number, burst: number }
  batchSizeMax?: number
  queueDepthMax?: number
  tapBodyBytesMax?: number
  batchBodyBytesMax?: number
  /** ISSUER_KEYS_FILE; unset: the key file next to the ledger (generated there with the demo seed). */
  issuerKeysFile?: string
  /** Client bounds (src/api/http-limits.ts); tests shorten them. */
  httpLimits?: Partial<HttpLimits>
}

export interface App {
  app: FastifyInstance
  ledger: Ledger
  metrics: Metrics
  logger: Logger
  seeded: { terminals: number, cards: number }
  /** QR verifying keys and card-authentication master keys, by issuer. */
  issuerKeys: IssuerKeys
  /** main.ts begins it on SIGTERM, before app.close(). */
  shutdown: GracefulClose
}

export function loadSchemas (dir: string = SCHEMAS_DIR): Array<Record<string, unknown>> {
  return readdirSync(dir).filter(f => f.endsWith('.json')).sort()
    .map(f => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>)
}

const TAP_BODY_BYTES_MAX = 16 * 1024
const BATCH_BODY_BYTES_MAX = HTTP_LIMITS.bodyBytesMax
const BATCH_AT_PAST_MS_MAX = 30 * 24 * 3_600_000

/** The service's Fastify options, logging aside, for the given client bounds. */
export function serviceFastifyOptions (limits: HttpLimits = HTTP_LIMITS): FastifyHttpOptions<Server> {
  return {
    ...SERVICE_FASTIFY_OPTIONS,
    // Bounded clients (issue #13 item 6): see src/api/http-limits.ts for each figure.
    connectionTimeout: limits.connectionTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.connectionsCheckingIntervalMs,
      maxHeaderSize: limits.headerBytesMax
    },
    clientErrorHandler: clientErrorHandler(limits),
    // Closing is handled by src/api/graceful-close.ts (registered by buildApp): the api-v1 503 body,
    // and no reset of a connection whose request has arrived but is not parsed yet (Fastify's
    // 'idle' close does that).
    return503OnClosing: false,
    forceCloseConnections: false
  }
}

/** The service's Fastify options without the client bounds. The bench's "verify" baseline runs with these too. */
export const SERVICE_FASTIFY_OPTIONS: FastifyServerOptions = {
  bodyLimit: BATCH_BODY_BYTES_MAX,
  routerOptions: { maxParamLength: 128 },
  return503OnClosing: true,
  // Unknown fields are rejected (400), never silently removed; no type coercion of bodies.
  ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  frameworkErrors: (error, _request, reply) => {
    void (reply as unknown as { code: (n: number) => { send: (b: unknown) => unknown } }).code(400).send(errorBody('BAD_REQUEST', error.message))
  }
}

/** The contract schemas and the JSON body parser (raw-body hash, depth bound). */
export function registerServiceParsing (app: FastifyInstance, schemas: Array<Record<string, unknown>> = loadSchemas()): void {
  for (const schema of schemas) app.addSchema(schema)
  registerJsonBodyParser(app, BATCH_BODY_BYTES_MAX)
}

export async function buildApp (o: AppOptions): Promise<App> {
  const nowMs = o.nowMs ?? Date.now
  const fixtures = loadFixtures(o.fixturesDir ?? FIXTURES_DIR)
  const catalogue = buildCatalogue(fixtures)
  const schemas = loadSchemas()
  const serializeTap = fastJson(schemas.find(s => s.$id === 'tap-response.json') as unknown as fastJson.Schema, { schema: Object.fromEntries(schemas.map(s => [String(s.$id), s])) as unknown as Record<string, fastJson.Schema> }) as (a: TapAnswer) => string

  let metrics: Metrics | undefined
  // Issuer keys come from configuration or a per-deployment file, never from fixtures/.
  const issuerKeys = loadIssuerKeys({ file: o.issuerKeysFile, dbPath: o.dbPath, seed: o.seed, issuers: fixtures.cities.map(c => c.issuer) })
  const ledger = new Ledger({
    db: openLedgerDb(o.dbPath),
    catalogue,
    qrKeys: issuerKeys.qr,
    nowMs,
    serializeTap,
    batchSizeMax: o.batchSizeMax,
    queueDepthMax: o.queueDepthMax,
    onBatch: ({ size, commitMs }) => {
      metrics?.batchSize.observe(size)
      metrics?.commitSeconds.observe(commitMs / 1000)
    }
  })
  metrics = createMetrics(() => ledger.queueDepth)
  const seeded = o.seed === 'demo' ? seedDemo(ledger, fixtures) : { terminals: 0, cards: 0 }

  const logger = createLogger({ level: o.logLevel ?? 'info', stream: o.logStream })
  const cardToken = cardTokenizer()
  const httpLimits = checkHttpLimits({ ...HTTP_LIMITS, ...o.httpLimits })
  const app: FastifyInstance = Fastify({
    ...serviceFastifyOptions(httpLimits),
    loggerInstance: logger as FastifyBaseLogger,
    // One log line per request comes from our onResponse hook (URLs redacted), not Fastify's.
    logController: new LogController({ disableRequestLogging: true })
  })
  // Node drops connections over the cap at accept, before any byte is read.
  app.server.maxConnections = httpLimits.connectionsMax
  registerServiceParsing(app, schemas)
  registerErrorHandling(app)
  registerEarlyAnswers(app, httpLimits)
  const shutdown = registerGracefulClose(app)

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics!.requests.inc({ route, status: reply.statusCode })
    if (route !== '/v1/taps') {
      request.log.info({ method: request.method, url: redactUrl(request.url, cardToken), status: reply.statusCode, latencyMs: reply.elapsedTime }, 'request')
    }
  })

  await app.register(publicRoutes, { ledger, metrics })
  await app.register(terminalRoutes, {
    ledger,
    metrics,
    cardToken,
    auth: { lookup: id => ledger.terminal(id), rateLimiter: new RateLimiter(o.rateLimit ?? { ratePerSecond: 50, burst: 100 }), nowMs },
    tapBodyBytesMax: o.tapBodyBytesMax ?? TAP_BODY_BYTES_MAX,
    batchBodyBytesMax: o.batchBodyBytesMax ?? BATCH_BODY_BYTES_MAX,
    batchAtPastMsMax: BATCH_AT_PAST_MS_MAX
  })
  await app.register(adminRoutes, { ledger, adminToken: o.adminToken })

  const purgeTimer = setInterval(() => { ledger.purgeExpiredNonces() }, 60_000)
  purgeTimer.unref()
  app.addHook('onClose', async () => {
    clearInterval(purgeTimer)
    await ledger.close()
  })
  return { app, ledger, metrics, logger, seeded, issuerKeys, shutdown }
}
