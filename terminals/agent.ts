// Terminal agent: drives one card reader on a serial port and sends its taps to the service.
// Usage: YKT_TERMINAL_SECRET=... node --import tsx terminals/agent.ts --config terminal.json
//          [--terminal-id ID] [--service-url URL] [--port /dev/ttyUSB0] [--baud 9600] [--budget-ms 800]
//          [--direction in|out | --library-action borrow --library-item ID:FEN ... |
//           --pharmacy-item CODE:A|B|self:FEN ... | --amount FEN]
//          [--queue-file /var/lib/ykt/agent.db [--offline] [--online-budget-ms 800] [--queue-max 10000]
//           [--scenario bus] [--risk-count-max N] [--risk-amount-max-fen FEN] [--risk-estimate-fen FEN]
//           [--denylist-refresh-ms 300000] [--heartbeat-ms 60000] [--upload-interval-ms 30000]
//           [--upload-batch-size 100]]
// Offline mode (docs/offline-agent.md) is on when a queue file is given (--queue-file, config
// "offline.queuePath" or YKT_AGENT_QUEUE_FILE): a tap the service does not answer within
// --online-budget-ms is decided at the terminal against the cached deny list and the card's offline
// risk limit, queued durably in that SQLite file (mode 0600) and uploaded when the service is back.
//   --offline (or YKT_AGENT_OFFLINE=1)  the terminal is set offline: every tap is decided locally
//   --queue-max             queued taps at most; when full, offline taps are declined (10000)
//   --scenario              scenario for the risk limit (default: learnt from GET /v1/terminal/me)
//   --risk-count-max / --risk-amount-max-fen / --risk-estimate-fen   override the scenario's limit
//                           (defaults per scenario: bus 3/600/200, metro 4/1200/300, scenic 1/15000/15000,
//                           library 2/0/0, pharmacy 1/5000/5000, others 1/2000/2000)
//   --denylist-refresh-ms   deny list delta refresh interval (300000); also at once when back online
//   --heartbeat-ms          POST /v1/terminal/heartbeat interval (60000)
//   --upload-interval-ms / --upload-batch-size   queue upload interval (30000) and batch (≤ 100)
// Logs pino JSON lines on stdout; card numbers only ever as keyed hash tokens.
import { pino } from 'pino'
import { readFileSync } from 'node:fs'
import { exitOnHelp, usageFromHeader } from '../src/ops/cli-help.js'
import { ReaderDriver } from '../src/reader/driver.js'
import { ReaderCommands } from '../src/reader/reader-commands.js'
import { TerminalAgent } from './agent/agent-loop.js'
import { ConfigError, loadConfig, type AgentConfig } from './agent/config.js'
import { OfflineMode } from './agent/offline-mode.js'
import { MemoryPendingTaps } from './agent/pending-taps.js'
import { signedCall } from './agent/signed-call.js'
import { tapIdSource } from './agent/tap-id.js'
import { OnlineTapSink } from './agent/tap-sink.js'
import { tapPoster } from './sdk/tap-poster.js' // the terminal SDK's signed poster

exitOnHelp(process.argv.slice(2), usageFromHeader(readFileSync(new URL(import.meta.url), 'utf8')))

let cfg: AgentConfig
try {
  cfg = loadConfig(process.argv.slice(2))
} catch (err) {
  if (!(err instanceof ConfigError) && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') !== true) throw err
  process.stderr.write(`agent: ${(err as Error).message}\n`)
  process.exit(2)
}

const log = pino({ level: cfg.logLevel, base: { terminalId: cfg.terminalId }, timestamp: pino.stdTimeFunctions.isoTime })
const driver = new ReaderDriver({ path: cfg.port.path, baudRate: cfg.port.baudRate })
driver.on('connected', e => log.info(e, 'reader connected'))
driver.on('disconnected', e => log.warn(e, 'reader disconnected'))
driver.on('reconnect-scheduled', e => log.info(e, 'reader reconnect scheduled'))
driver.on('gave-up', e => log.error(e, 'reader gone: giving up'))
driver.on('retry', e => log.debug(e, 'reader request resent'))
driver.on('frame-error', e => log.debug(e, 'serial frame error'))
driver.on('stale-reply', e => log.debug(e, 'stale reader reply dropped'))

const store = new MemoryPendingTaps(cfg.pendingTapsMax)
const queuePath = cfg.offline.queuePath
// Offline mode: one online attempt within the online budget, then the terminal decides; the online
// sink keeps nothing in memory (the durable queue holds what was decided offline).
const post = tapPoster({
  serviceUrl: cfg.serviceUrl, terminalId: cfg.terminalId, secret: cfg.secret, budgetMs: queuePath === undefined ? cfg.serviceBudgetMs : cfg.offline.onlineBudgetMs
})
const online = queuePath === undefined
  ? new OnlineTapSink(post, store, cfg, log)
  : new OnlineTapSink(post, store, { ...cfg, attemptsWhileWaitingMax: 1, keepUnanswered: false }, log)
const offline = queuePath === undefined
  ? undefined
  : new OfflineMode({ cfg: { ...cfg.offline, queuePath }, call: signedCall({ serviceUrl: cfg.serviceUrl, terminalId: cfg.terminalId, secret: cfg.secret }), online, log })
const sink = offline?.sink ?? online
const agent = new TerminalAgent({
  driver,
  reader: new ReaderCommands(driver),
  sink,
  store,
  log,
  nextTapId: tapIdSource(cfg.terminalId),
  terminalId: cfg.terminalId,
  // Card tokens are keyed with the terminal secret: stable per terminal, useless without it.
  tokenKey: cfg.secret,
  context: cfg.context,
  amount: cfg.amount,
  tuning: cfg.tuning
})

async function shutdown (signal: string): Promise<void> {
  log.info({ signal, pendingTaps: store.size, offlineQueued: offline?.queue.depth }, 'agent stopping')
  await agent.stop()
  await offline?.stop()
  process.exit(0)
}
process.on('SIGTERM', () => { void shutdown('SIGTERM') })
process.on('SIGINT', () => { void shutdown('SIGINT') })

log.info({ port: cfg.port.path, baudRate: cfg.port.baudRate, serviceUrl: cfg.serviceUrl, budgetMs: cfg.serviceBudgetMs, offline: offline === undefined ? false : { queue: queuePath, queued: offline.queue.depth, forced: cfg.offline.forcedOffline, limit: offline.limit() } }, 'agent starting')
offline?.start()
try {
  await agent.run()
} catch (err) {
  log.error({ code: (err as { code?: string }).code, err: (err as Error).message }, 'agent stopped')
  process.exit(1)
}
