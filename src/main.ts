// `npm start`: the auth service on an embedded SQLite ledger (api-v1 "Starting the service").
import { HTTP_LIMITS } from './api/http-limits.js'
import { buildApp } from './app.js'
import { configFromEnv } from './config.js'

// Longer than a request may take (src/api/http-limits.ts asserts it), so every request in flight
// at SIGTERM ends on its own: answered, or cut at its request timeout.
const SHUTDOWN_MS_MAX = HTTP_LIMITS.shutdownMs
// After SIGTERM, still accept for this long, answering 503: connections already in the listen
// backlog get an answer instead of a reset when the listener closes.
const DRAIN_ACCEPT_MS = 200

async function main (): Promise<void> {
  const config = configFromEnv(process.env)
  const { app, logger, seeded, issuerKeys, shutdown } = await buildApp({
    dbPath: config.dbPath,
    adminToken: config.adminToken,
    seed: config.seed,
    logLevel: config.logLevel,
    issuerKeysFile: config.issuerKeysFile
  })
  if (seeded.cards > 0) logger.info(seeded, 'loaded demo data into an empty ledger')
  if (issuerKeys.file === null) logger.warn('no issuer keys (ISSUER_KEYS_FILE unset, SEED=none): QR taps are QR_INVALID, card proofs CARD_AUTH_FAILED')
  else logger.info({ file: issuerKeys.file, generated: issuerKeys.generated, keyIds: issuerKeys.keyIds }, issuerKeys.generated ? 'generated issuer keys for this deployment' : 'issuer keys loaded')
  if (config.adminTokenGenerated) {
    // Printed once, to the console only: it is never written to the log.
    process.stdout.write(`ADMIN_TOKEN (generated for this run): ${config.adminToken}\n`)
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
      logger.flush()
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
  process.stderr.write(`yikatong failed to start: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exit(1)
})
