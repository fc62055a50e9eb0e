// Builds the service: the ledger engine, the service layer, the catalogue, logging, metrics and the
// three route plugins (public, terminal, admin). Tests boot this same app with `inject` or port 0.
import { SecretBox } from './auth/secret-box.js'
import { cardDataKey, denylistTokenKey, terminalSecretsKey } from './ops/card-token-key.js'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyHttpOptions, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Server } from 'node:http'
import type { DestinationStream, Logger } from 'pino'
import { RateLimiter } from './auth/rate-limit.js'
import { loadIssuerKeys, type IssuerKeys } from './cards/issuer-keys.js'
import { AT_PAST_MS_MAX_UPLOAD, BATCH_BODY_BYTES_MAX, TAP_BODY_BYTES_MAX } from './constants.js'
import { loadFixtures, FIXTURES_DIR } from './fixtures.js'
import type { BatchStats, LedgerEngine } from './ledger/engine.js'
import { SqliteEngine } from './ledger/sqlite-engine.js'
import { PgEngine } from './ledger/pg-engine.js'
import { buildTapSerializer } from './api/tap-answer.js'
import { cardTokenizer, createLogger } from './log.js'
import { createMetrics, type Metrics } from './metrics.js'
import { buildCatalogue } from './rules/catalogue.js'
import { loadSchemas, SCHEMAS_DIR } from './schemas.js'
import { Service } from './service/service.js'
import { seedDemo } from './service/demo-seed.js'
import { errorBody } from './errors.js'
import { registerErrorHandling } from './api/error-handler.js'
import { clientErrorHandler, registerEarlyAnswers } from './api/early-answer.js'
import { checkHttpLimits, HTTP_LIMITS, type HttpLimits } from './api/http-limits.js'
import { registerGracefulClose, type GracefulClose } from './api/graceful-close.js'
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
  /** The PostgreSQL ledger (DATABASE_URL); unset: SQLite at dbPath. */
  databaseUrl?: string
  /** Processes sharing the ledger: each enforces 1/N of the per-terminal rate limit. */
  serviceProcesses?: number
  batchSizeMax?: number
  queueDepthMax?: number
  tapBodyBytesMax?: number
  batchBodyBytesMax?: number
  /** Tests only: the engine accepts planned storage faults (SqliteEngine.injectFault). */
  faultInjection?: boolean
  /** ISSUER_KEYS_FILE; unset: the key file next to the ledger (generated there with the demo seed). */
  issuerKeysFile?: string
  /** Client bounds (src/api/http-limits.ts); tests shorten them. */
  httpLimits?: Partial<HttpLimits>
  /** Read-only ops role (console, settlement, ledger check); unset: none. */
  opsToken?: string
  /** Key of the card tokens in logs, on the console and in the audit trail; unset: random per process (tests). */
  cardTokenKey?: Buffer
  /** Tests only: a lower bound of the admin audit trail than AUDIT_ROWS_MAX. */
  auditRowsMax?: number
  /** Key material sealing terminal secrets in the ledger (TERMINAL_SECRETS_KEY); unset: the key
   *  file beside DB_PATH (src/ops/card-token-key.ts terminalSecretsKey), created once. */
  terminalSecretsKey?: Buffer
  /** The deny list's token key, 32 bytes (DENYLIST_TOKEN_KEY); unset: the key file beside DB_PATH. */
  denylistTokenKey?: Buffer
  /** Key material of card tokens and sealed holder data in the ledger (CARD_DATA_KEY); unset: the
   *  key file beside DB_PATH (src/ops/card-token-key.ts cardDataKey), created once. */
  cardDataKey?: Buffer
}

export interface App {
  app: FastifyInstance
  service: Service
  engine: LedgerEngine
  metrics: Metrics
  logger: Logger
  liveFeed: LiveFeed
  seeded: { terminals: number, cards: number }
  /** QR verifying keys and card-authentication master keys, by issuer. */
  issuerKeys: IssuerKeys
  /** main.ts begins it on SIGTERM, before app.close(). */
  shutdown: GracefulClose
}

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
  const fixturesDir = o.fixturesDir ?? FIXTURES_DIR
  const fixtures = loadFixtures(fixturesDir)
  const catalogue = buildCatalogue(fixtures)
  const schemas = loadSchemas()
  // Issuer keys come from configuration or a per-deployment file, never from fixtures/.
  const issuerKeys = loadIssuerKeys({ file: o.issuerKeysFile, dbPath: o.dbPath, seed: o.seed, issuers: fixtures.cities.map(c => c.issuer) })

  let metrics: Metrics | undefined
  const onBatch = ({ size, commitMs }: BatchStats): void => {
    metrics?.batchSize.observe(size)
    metrics?.commitSeconds.observe(commitMs / 1000)
  }
  let logger: ReturnType<typeof createLogger> | undefined
  // Before the engine opens: a bad key file is refused with nothing to clean up.
  const secretBox = new SecretBox(o.terminalSecretsKey ?? terminalSecretsKey({ envValue: undefined, dbPath: o.dbPath }).key)
  const denylistKey = o.denylistTokenKey ?? denylistTokenKey({ envValue: undefined, dbPath: o.dbPath }).key
  const cardDataKeyMaterial = o.cardDataKey ?? cardDataKey({ envValue: undefined, dbPath: o.dbPath }).key
  const engine: LedgerEngine = o.databaseUrl === undefined
    ? await SqliteEngine.open({
      dbPath: o.dbPath,
      fixturesDir,
      schemasDir: SCHEMAS_DIR,
      issuerCities: Object.fromEntries(catalogue.cityByIssuer),
      faultInjection: o.faultInjection,
      onBatch,
      auditRowsMax: o.auditRowsMax,
      denylistKeyHex: denylistKey.toString('hex'),
      cardDataKeyHex: cardDataKeyMaterial.toString('hex')
    })
    : await PgEngine.open({
      databaseUrl: o.databaseUrl,
      catalogue,
      serialize: buildTapSerializer(schemas),
      onBatch,
      onEvent: message => logger?.warn(message),
      auditRowsMax: o.auditRowsMax,
      denylistKey,
      cardDataKey: cardDataKeyMaterial
    })
  const cardToken = cardTokenizer(o.cardTokenKey)
  // A refusal to start (a secret that does not open) must not leave the engine's threads, lock and
  // connections behind it.
  const service = await Service.create({
    engine,
    secretBox,
    cardToken,
    catalogue,
    qrKeys: issuerKeys.qr,
    cardAuthKeys: issuerKeys.cardAuth,
    nowMs,
    batchSizeMax: o.batchSizeMax,
    queueDepthMax: o.queueDepthMax,
    denylistKey
  }).catch(async (error: unknown) => {
    await engine.close().catch(() => {})
    throw error
  })

  metrics = createMetrics(() => service.queueDepth, () => service.heartbeats.summary())
  const seeded = o.seed === 'demo' ? await seedDemo(service, fixtures) : { terminals: 0, cards: 0 }

  logger = createLogger({ level: o.logLevel ?? 'info', stream: o.logStream })
  const httpLimits = checkHttpLimits({ ...HTTP_LIMITS, ...o.httpLimits })
  const app: FastifyInstance = Fastify({
    ...serviceFastifyOptions(httpLimits),
    // X-Request-Id: the caller's when short and plain, else a UUID (src/api/request-log.ts).
    requestIdHeader: false,
    genReqId: requestId,
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

  const consoleStats = new ConsoleStats(nowMs)
  const liveFeed = new LiveFeed({ sinks: [consoleStats.onDecision] })
  registerRequestLog(app, { metrics, cardToken, onRejected: (code, terminal) => consoleStats.onRejected(code, terminal) })
  // Before the other routes: swagger collects routes as they are added.
  await app.register(docsRoutes, {})

  await app.register(publicRoutes, { service, metrics })
  await app.register(terminalRoutes, {
    service,
    metrics,
    cardToken,
    auth: { lookup: id => service.terminal(id), rateLimiter: new RateLimiter(shareOfRate(o.rateLimit ?? { ratePerSecond: 50, burst: 100 }, o.serviceProcesses ?? 1)), nowMs },
    tapBodyBytesMax: o.tapBodyBytesMax ?? TAP_BODY_BYTES_MAX,
    batchBodyBytesMax: o.batchBodyBytesMax ?? BATCH_BODY_BYTES_MAX,
    batchAtPastMsMax: AT_PAST_MS_MAX_UPLOAD,
    liveFeed,
    onHeartbeat: consoleStats.onHeartbeat
  })
  await app.register(adminRoutes, { service, adminToken: o.adminToken, opsToken: o.opsToken })
  await app.register(consoleRoutes, {
    adminToken: o.adminToken,
    opsToken: o.opsToken,
    liveFeed,
    stats: consoleStats,
    ready: () => service.readiness()
  })

  app.addHook('onClose', async () => {
    await service.close()
  })
  return { app, service, engine, metrics, logger, liveFeed, seeded, issuerKeys, shutdown }
}

/** N processes behind one load balancer: each allows 1/N of a terminal's rate, so together they
 *  allow what one process would, however the balancer spreads a terminal's requests. */
function shareOfRate (limit: { ratePerSecond: number, burst: number }, processes: number): { ratePerSecond: number, burst: number } {
  return { ratePerSecond: limit.ratePerSecond / processes, burst: Math.max(1, Math.floor(limit.burst / processes)) }
}
