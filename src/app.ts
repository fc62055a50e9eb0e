// Builds the service: ledger, catalogue, logging, metrics and the three route plugins
// (public, terminal, admin). Tests boot this same app with `inject` or on port 0.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastJson from 'fast-json-stringify'
import type { DestinationStream, Logger } from 'pino'
import { RateLimiter } from './auth/rate-limit.js'
import { keyRingFromFixtures } from './cards/qr-token.js'
import { loadFixtures, FIXTURES_DIR } from './fixtures.js'
import { Ledger } from './ledger/ledger.js'
import { openLedgerDb } from './ledger/schema.js'
import { seedDemo } from './ledger/seed.js'
import type { TapAnswer } from './ledger/tap-processor.js'
import { cardTokenizer, createLogger } from './log.js'
import { createMetrics, type Metrics } from './metrics.js'
import { buildCatalogue } from './rules/catalogue.js'
import { errorBody } from './errors.js'
import { registerErrorHandling } from './api/error-handler.js'
import { registerJsonBodyParser } from './api/json-body.js'
import { publicRoutes } from './api/public-routes.js'
import { terminalRoutes } from './api/terminal-routes.js'
import { adminRoutes } from './api/admin-routes.js'
// Ops and integrator faces (issue #11): request ids and log lines, docs, console, live decisions.
import { registerRequestLog, requestId } from './api/request-log.js'
import { LiveFeed } from './api/live-feed.js'
import { docsRoutes } from './docs/docs-routes.js'
import { consoleRoutes } from './console/console-routes.js'
import { ConsoleStats } from './console/console-stats.js'

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
  /** Read-only ops role (console, settlement, ledger check); unset: none. */
  opsToken?: string
  /** Key of the card tokens in logs and on the console; unset: random per process (tests). */
  cardTokenKey?: Buffer
}

export interface App {
  app: FastifyInstance
  ledger: Ledger
  metrics: Metrics
  logger: Logger
  liveFeed: LiveFeed
  seeded: { terminals: number, cards: number }
}

export function loadSchemas (dir: string = SCHEMAS_DIR): Array<Record<string, unknown>> {
  return readdirSync(dir).filter(f => f.endsWith('.json')).sort()
    .map(f => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>)
}

const TAP_BODY_BYTES_MAX = 16 * 1024
const BATCH_BODY_BYTES_MAX = 512 * 1024
const BATCH_AT_PAST_MS_MAX = 30 * 24 * 3_600_000

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
  const fixtures = loadFixtures(o.fixturesDir ?? FIXTURES_DIR)
  const catalogue = buildCatalogue(fixtures)
  const schemas = loadSchemas()
  const serializeTap = fastJson(schemas.find(s => s.$id === 'tap-response.json') as unknown as fastJson.Schema, { schema: Object.fromEntries(schemas.map(s => [String(s.$id), s])) as unknown as Record<string, fastJson.Schema> }) as (a: TapAnswer) => string

  let metrics: Metrics | undefined
  const ledger = new Ledger({
    db: openLedgerDb(o.dbPath),
    catalogue,
    qrKeys: keyRingFromFixtures(fixtures.qrKeys),
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
  const cardToken = cardTokenizer(o.cardTokenKey)
  const app: FastifyInstance = Fastify({
    ...SERVICE_FASTIFY_OPTIONS,
    // X-Request-Id: the caller's when short and plain, else a UUID (src/api/request-log.ts).
    requestIdHeader: false,
    genReqId: requestId,
    loggerInstance: logger as FastifyBaseLogger,
    // One log line per request comes from our onResponse hook (URLs redacted), not Fastify's.
    logController: new LogController({ disableRequestLogging: true })
  })
  registerServiceParsing(app, schemas)
  registerErrorHandling(app)

  const consoleStats = new ConsoleStats(nowMs)
  const liveFeed = new LiveFeed({ sinks: [consoleStats.onDecision] })
  registerRequestLog(app, { metrics, cardToken, onRejected: (code, terminal) => consoleStats.onRejected(code, terminal) })
  await app.register(docsRoutes, {})

  await app.register(publicRoutes, { ledger, metrics })
  await app.register(terminalRoutes, {
    ledger,
    metrics,
    cardToken,
    auth: { lookup: id => ledger.terminal(id), rateLimiter: new RateLimiter(o.rateLimit ?? { ratePerSecond: 50, burst: 100 }), nowMs },
    tapBodyBytesMax: o.tapBodyBytesMax ?? TAP_BODY_BYTES_MAX,
    batchBodyBytesMax: o.batchBodyBytesMax ?? BATCH_BODY_BYTES_MAX,
    batchAtPastMsMax: BATCH_AT_PAST_MS_MAX,
    liveFeed
  })
  await app.register(adminRoutes, { ledger, adminToken: o.adminToken, opsToken: o.opsToken })
  const queueDepthMax = o.queueDepthMax ?? 4096
  await app.register(consoleRoutes, {
    adminToken: o.adminToken,
    opsToken: o.opsToken,
    liveFeed,
    stats: consoleStats,
    ready: () => !ledger.db.open || ledger.db.readonly ? { ready: false, why: 'ledger is not open for writing' }
      : ledger.queueDepth >= queueDepthMax * 0.9 ? { ready: false, why: 'tap queue is nearly full' } : { ready: true }
  })

  const purgeTimer = setInterval(() => { ledger.purgeExpiredNonces() }, 60_000)
  purgeTimer.unref()
  app.addHook('onClose', async () => {
    clearInterval(purgeTimer)
    await ledger.close()
  })
  return { app, ledger, metrics, logger, liveFeed, seeded }
}
