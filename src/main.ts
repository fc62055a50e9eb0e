// `npm start`: the auth service on an embedded SQLite ledger (api-v1 "Starting the service").
import { HTTP_LIMITS } from './api/http-limits.js'
import { buildApp } from './app.js'
import { configFromEnv } from './config.js'
import { cardDataKey, cardTokenKey, denylistTokenKey, terminalSecretsKey } from './ops/card-token-key.js'
import { logDestination } from './log.js'

const HELP = `usage: npm start  (production: npm run build && npm run start:prod)
The yikatong auth service. Configured by environment variables:
  PORT (8080)  HOST (127.0.0.1)  DB_PATH (data/ledger.db)  SEED (demo|none, demo)  LOG_LEVEL (info)
  DATABASE_URL    postgres://user:pass@host:port/db (hosts may be a list h1:p1,h2:p2): the ledger
                  in PostgreSQL, shared by several processes (unset: embedded SQLite at DB_PATH)
  SERVICE_PROCESSES  processes sharing the ledger: each enforces 1/N of a terminal's rate (1)
  ADMIN_TOKEN     bearer token for /v1/admin/* (unset: generated, printed once to stderr)
  OPS_TOKEN       read-only ops role for the console, settlement and ledger check (unset: none)
  CARD_TOKEN_KEY  key of the card tokens in logs and the console, >= 32 characters
                  (unset: a key file card-token.key beside DB_PATH, created once)
  TERMINAL_SECRETS_KEY  key sealing terminal secrets in the ledger, >= 32 characters
  DENYLIST_TOKEN_KEY    key of the deny list's card tokens (sent to terminals), >= 32 characters
  CARD_DATA_KEY   key of card tokens and sealed holder data in the ledger, >= 32 characters
                  (unset for each: a key file beside DB_PATH, created once; processes sharing
                  one PostgreSQL ledger on several machines must all be given the same)
Answers /healthz, /readyz, /metrics, /docs, /console once it prints "yikatong listening on URL".`

// Longer than a request may take (src/api/http-limits.ts asserts it), so every request in flight
// at SIGTERM ends on its own: answered, or cut at its request timeout.
const SHUTDOWN_MS_MAX = HTTP_LIMITS.shutdownMs
// After SIGTERM, still accept for this long, answering 503: connections already in the listen
// backlog get an answer instead of a reset when the listener closes.
const DRAIN_ACCEPT_MS = 200

async function main (): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) { process.stdout.write(HELP + '\n'); return }
  const config = configFromEnv(process.env)
  const key = cardTokenKey({ envValue: config.cardTokenKey, dbPath: config.dbPath })
  const secretsKey = terminalSecretsKey({ envValue: config.terminalSecretsKey, dbPath: config.dbPath })
  const denyKey = denylistTokenKey({ envValue: config.denylistTokenKey, dbPath: config.dbPath })
  const dataKey = cardDataKey({ envValue: config.cardDataKey, dbPath: config.dbPath })
  const logStream = logDestination()
  const { app, logger, seeded, issuerKeys, shutdown } = await buildApp({
    dbPath: config.dbPath,
    adminToken: config.adminToken,
    opsToken: config.opsToken,
    cardTokenKey: key.key,
    terminalSecretsKey: secretsKey.key,
    denylistTokenKey: denyKey.key,
    cardDataKey: dataKey.key,
    seed: config.seed,
    logLevel: config.logLevel,
    issuerKeysFile: config.issuerKeysFile,
    databaseUrl: config.databaseUrl,
    serviceProcesses: config.serviceProcesses,
    logStream
  })
  // A crash must not lose the lines that explain it: write them out synchronously before exiting.
  const flushLog = (): void => {
    try { (logStream as unknown as { flushSync: () => void }).flushSync() } catch { /* nothing buffered */ }
  }
  const die = (kind: string) => (error: unknown): void => {
    logger.fatal({ err: error }, kind)
    flushLog()
    process.exit(1)
  }
  process.on('uncaughtException', die('uncaught exception'))
  process.on('unhandledRejection', die('unhandled rejection'))
  logger.info({ cardTokenKeySource: key.source, terminalSecretsKeySource: secretsKey.source }, 'card tokens and terminal secrets keyed')
  if (seeded.cards > 0) logger.info(seeded, 'loaded demo data into an empty ledger')
  if (issuerKeys.file === null) logger.warn('no issuer keys (ISSUER_KEYS_FILE unset, SEED=none): QR taps are QR_INVALID, card proofs CARD_AUTH_FAILED')
  else logger.info({ file: issuerKeys.file, generated: issuerKeys.generated, keyIds: issuerKeys.keyIds }, issuerKeys.generated ? 'generated issuer keys for this deployment' : 'issuer keys loaded')
  if (config.adminTokenGenerated) {
    // Printed once, to stderr: stdout is the log stream (journald, files, shippers), and a
    // bearer token must not end up wherever log lines are kept.
    process.stderr.write(`ADMIN_TOKEN (generated for this run): ${config.adminToken}\n`)
  }
  const address = await app.listen({ port: config.port, host: config.host })
  process.stdout.write(`yikatong listening on ${address}\n`)

  let stopping = false
  const stop = (signal: string): void => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'stopping: no new connections, committing in-flight taps')
    setTimeout(() => { process.stderr.write('shutdown took too long\n'); process.exit(1) }, SHUTDOWN_MS_MAX).unref()
    // New requests get 503 from now on; kept-alive connections close once idle (graceful-close.ts).
    shutdown.begin()
    setTimeout(() => app.close().then(() => {
      flushLog()
      process.exit(0)
    }, (error: unknown) => {
      process.stderr.write(`shutdown failed: ${String(error)}\n`)
      process.exit(1)
    }), DRAIN_ACCEPT_MS)
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
}

main().catch((error: unknown) => {
  // A refusal the operator must act on (another process holds the ledger, a bad key file) is said
  // plainly; anything else with its stack.
  const known = typeof (error as { code?: unknown }).code === 'string' && ['LEDGER_LOCKED', 'LEDGER_DAMAGED', 'TERMINAL_SECRET_SEALED_OTHERWISE', 'TERMINAL_SECRETS_KEY_INVALID', 'CARD_TOKEN_KEY_INVALID', 'DENYLIST_TOKEN_KEY_INVALID', 'CARD_DATA_KEY_INVALID', 'CARD_DATA_KEY_MISMATCH', 'CARD_DATA_SEALED_OTHERWISE'].includes((error as { code: string }).code)
  process.stderr.write(`yikatong failed to start: ${error instanceof Error ? (known ? error.message : error.stack ?? error.message) : String(error)}\n`)
  process.exit(1)
})
