// Terminal agent: drives one card reader on a serial port and sends its taps to the service.
// Usage: YKT_TERMINAL_SECRET=... node --import tsx terminals/agent.ts --config terminal.json
//          [--terminal-id ID] [--service-url URL] [--port /dev/ttyUSB0] [--baud 9600] [--budget-ms 800]
//          [--direction in|out | --library-action borrow --library-item ID:FEN ... |
//           --pharmacy-item CODE:A|B|self:FEN ... | --amount FEN]
// Logs pino JSON lines on stdout; card numbers only ever as keyed hash tokens.
import { pino } from 'pino'
import { readFileSync } from 'node:fs'
import { exitOnHelp, usageFromHeader } from '../src/ops/cli-help.js'
import { ReaderDriver } from '../src/reader/driver.js'
import { ReaderCommands } from '../src/reader/reader-commands.js'
import { TerminalAgent } from './agent/agent-loop.js'
import { ConfigError, loadConfig, type AgentConfig } from './agent/config.js'
import { MemoryPendingTaps } from './agent/pending-taps.js'
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
const post = tapPoster({ serviceUrl: cfg.serviceUrl, terminalId: cfg.terminalId, secret: cfg.secret, budgetMs: cfg.serviceBudgetMs })
const sink = new OnlineTapSink(post, store, cfg, log)
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
  log.info({ signal, pendingTaps: store.size }, 'agent stopping')
  await agent.stop()
  process.exit(0)
}
process.on('SIGTERM', () => { void shutdown('SIGTERM') })
process.on('SIGINT', () => { void shutdown('SIGINT') })

log.info({ port: cfg.port.path, baudRate: cfg.port.baudRate, serviceUrl: cfg.serviceUrl, budgetMs: cfg.serviceBudgetMs }, 'agent starting')
try {
  await agent.run()
} catch (err) {
  log.error({ code: (err as { code?: string }).code, err: (err as Error).message }, 'agent stopped')
  process.exit(1)
}
