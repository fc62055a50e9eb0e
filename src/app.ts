// Builds the service: the ledger engine, the service layer, the catalogue, logging, metrics and the
// three route plugins (public, terminal, admin). Tests boot this same app with `inject` or port 0.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { DestinationStream, Logger } from 'pino'
import { RateLimiter } from './auth/rate-limit.js'
import { keyRingFromFixtures } from './cards/qr-token.js'
import { AT_PAST_MS_MAX_UPLOAD, BATCH_BODY_BYTES_MAX, TAP_BODY_BYTES_MAX } from './constants.js'
import { loadFixtures, FIXTURES_DIR } from './fixtures.js'
import type { LedgerEngine } from './ledger/engine.js'
import { SqliteEngine } from './ledger/sqlite-engine.js'
import { cardTokenizer, createLogger, redactUrl } from './log.js'
import { createMetrics, type Metrics } from './metrics.js'
import { buildCatalogue } from './rules/catalogue.js'
import { loadSchemas, SCHEMAS_DIR } from './schemas.js'
import { Service } from './service/service.js'
import { seedDemo } from './service/demo-seed.js'
import { errorBody } from './errors.js'
import { registerErrorHandling } from './api/error-handler.js'
import { registerJsonBodyParser } from './api/json-body.js'
import { publicRoutes } from './api/public-routes.js'
import { terminalRoutes } from './api/terminal-routes.js'
import { adminRoutes } from './api/admin-routes.js'

export { loadSchemas, SCHEMAS_DIR }

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
  /** Tests only: the engine accepts planned storage faults (SqliteEngine.injectFault). */
  faultInjection?: boolean
}

export interface App {
  app: FastifyInstance
  service: Service
  engine: LedgerEngine
  metrics: Metrics
  logger: Logger
  seeded: { terminals: number, cards: number }
}

/** The service's Fastify options, logging aside. The bench's "verify" baseline runs with these too. */
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
  const fixturesDir = o.fixturesDir ?? FIXTURES_DIR
  const fixtures = loadFixtures(fixturesDir)
  const catalogue = buildCatalogue(fixtures)
  const schemas = loadSchemas()

  let metrics: Metrics | undefined
  const engine = await SqliteEngine.open({
    dbPath: o.dbPath,
    fixturesDir,
    schemasDir: SCHEMAS_DIR,
    issuerCities: Object.fromEntries(catalogue.cityByIssuer),
    faultInjection: o.faultInjection,
    onBatch: ({ size, commitMs }) => {
      metrics?.batchSize.observe(size)
      metrics?.commitSeconds.observe(commitMs / 1000)
    }
  })
  const service = await Service.create({
    engine,
    catalogue,
    qrKeys: keyRingFromFixtures(fixtures.qrKeys),
    nowMs,
    batchSizeMax: o.batchSizeMax,
    queueDepthMax: o.queueDepthMax
  })
  metrics = createMetrics(() => service.queueDepth)
  const seeded = o.seed === 'demo' ? await seedDemo(service, fixtures) : { terminals: 0, cards: 0 }

  const logger = createLogger({ level: o.logLevel ?? 'info', stream: o.logStream })
  const cardToken = cardTokenizer()
  const app: FastifyInstance = Fastify({
    ...SERVICE_FASTIFY_OPTIONS,
    loggerInstance: logger as FastifyBaseLogger,
    // One log line per request comes from our onResponse hook (URLs redacted), not Fastify's.
    logController: new LogController({ disableRequestLogging: true })
  })
  registerServiceParsing(app, schemas)
  registerErrorHandling(app)

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched'
    metrics!.requests.inc({ route, status: reply.statusCode })
    if (route !== '/v1/taps') {
      request.log.info({ method: request.method, url: redactUrl(request.url, cardToken), status: reply.statusCode, latencyMs: reply.elapsedTime }, 'request')
    }
  })

  await app.register(publicRoutes, { service, metrics })
  await app.register(terminalRoutes, {
    service,
    metrics,
    cardToken,
    auth: { lookup: id => service.terminal(id), rateLimiter: new RateLimiter(o.rateLimit ?? { ratePerSecond: 50, burst: 100 }), nowMs },
    tapBodyBytesMax: o.tapBodyBytesMax ?? TAP_BODY_BYTES_MAX,
    batchBodyBytesMax: o.batchBodyBytesMax ?? BATCH_BODY_BYTES_MAX,
    batchAtPastMsMax: AT_PAST_MS_MAX_UPLOAD
  })
  await app.register(adminRoutes, { service, adminToken: o.adminToken })

  app.addHook('onClose', async () => {
    await service.close()
  })
  return { app, service, engine, metrics, logger, seeded }
}
