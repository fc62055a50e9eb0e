// Terminal agent configuration: a JSON file (--config) and/or flags; flags win. The secret comes
// from the file or YKT_TERMINAL_SECRET, never from a flag (flags show up in `ps`).
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import type { AgentTuning } from './agent-loop.js'
import { DEFAULT_RISK_LIMITS, type RiskLimit } from './offline-risk.js'
import { TERMINAL_ID_CHARS_MAX } from './tap-id.js'
import { TAP_UPLOAD_ITEMS_MAX } from '../../src/constants.js'

export interface AgentConfig {
  terminalId: string
  secret: string
  serviceUrl: string
  port: { path: string, baudRate: number }
  /** Time the service gets to answer one attempt. */
  serviceBudgetMs: number
  context: Record<string, unknown>
  amount?: number
  attemptsWhileWaitingMax: number
  attemptsMax: number
  retryDelayMs: number
  backgroundDelayMsMax: number
  pendingTapsMax: number
  logLevel: string
  tuning: AgentTuning
  offline: OfflineConfig
}

/** The offline mode (docs/offline-agent.md). On when `queuePath` is set. */
export interface OfflineConfig {
  /** The agent's SQLite file (queue, dead letters, card usage, deny list); unset: online only. */
  queuePath?: string
  /** The terminal is set offline: every tap is decided locally (uploads etc. still run). */
  forcedOffline: boolean
  /** Time the service gets to answer a tap before the terminal decides it. */
  onlineBudgetMs: number
  queueDepthMax: number
  /** The terminal's scenario for its risk limit; unset: learnt from GET /v1/terminal/me. */
  scenario?: string
  riskLimits: Record<string, RiskLimit>
  /** Flags that override the limit of whatever scenario this terminal turns out to have. */
  riskOverride: Partial<RiskLimit>
  denylistRefreshMs: number
  denylistEntriesMax: number
  /** A deny list not confirmed by the service for this long is not trusted: offline taps are declined. */
  denylistAgeMsMax: number
  heartbeatMs: number
  uploadIntervalMs: number
  uploadBatchSize: number
  uploadBudgetMs: number
  uploadRetryDelayMs: number
  uploadRetryDelayMsMax: number
  uploadAttemptsMax: number
  /** Budget of a deny-list, heartbeat or registration call. */
  backgroundBudgetMs: number
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID'
  override readonly name = 'ConfigError'
}

export const DEFAULTS = {
  serviceBudgetMs: 800,
  attemptsWhileWaitingMax: 2,
  attemptsMax: 6,
  retryDelayMs: 200,
  backgroundDelayMsMax: 30_000,
  pendingTapsMax: 32,
  logLevel: 'info',
  tuning: {
    pollIntervalMs: 50,
    repeatIgnoreMs: 2000,
    pendingReuseMs: 60_000,
    decisionHoldMs: 800,
    removalReminderMs: 10_000,
    connectWaitMs: 5000,
    pendingRetryIntervalMs: 1000,
    utcOffsetMinutes: 480,
    readFull: false
  } satisfies AgentTuning,
  offline: {
    forcedOffline: false,
    onlineBudgetMs: 800,
    queueDepthMax: 10_000,
    riskLimits: DEFAULT_RISK_LIMITS,
    riskOverride: {},
    denylistRefreshMs: 300_000,
    denylistEntriesMax: 200_000,
    // A day: a bus out of coverage for a shift, or one that syncs at its depot nightly, keeps
    // working; a terminal unplugged for a week does not let cards through on a week-old list.
    denylistAgeMsMax: 86_400_000,
    heartbeatMs: 60_000,
    uploadIntervalMs: 30_000,
    uploadBatchSize: 100,
    uploadBudgetMs: 10_000,
    uploadRetryDelayMs: 1000,
    uploadRetryDelayMsMax: 300_000,
    uploadAttemptsMax: 1000,
    backgroundBudgetMs: 5000
  } satisfies OfflineConfig
}

const FLAGS = {
  config: { type: 'string' },
  'terminal-id': { type: 'string' },
  'service-url': { type: 'string' },
  port: { type: 'string' },
  baud: { type: 'string' },
  'budget-ms': { type: 'string' },
  direction: { type: 'string' },
  'library-action': { type: 'string' },
  'library-item': { type: 'string', multiple: true },
  'pharmacy-item': { type: 'string', multiple: true },
  amount: { type: 'string' },
  'poll-interval-ms': { type: 'string' },
  'decision-hold-ms': { type: 'string' },
  'repeat-ignore-ms': { type: 'string' },
  'log-level': { type: 'string' },
  'queue-file': { type: 'string' },
  offline: { type: 'boolean' },
  'online-budget-ms': { type: 'string' },
  'queue-max': { type: 'string' },
  scenario: { type: 'string' },
  'risk-count-max': { type: 'string' },
  'risk-amount-max-fen': { type: 'string' },
  'risk-estimate-fen': { type: 'string' },
  'denylist-refresh-ms': { type: 'string' },
  'heartbeat-ms': { type: 'string' },
  'upload-interval-ms': { type: 'string' },
  'upload-batch-size': { type: 'string' }
} as const

type Flags = ReturnType<typeof parseArgs<{ options: typeof FLAGS }>>['values']

export function loadConfig (argv: string[], env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const { values: f } = parseArgs({ args: argv, options: FLAGS, strict: true })
  const file = f.config === undefined ? {} : readJson(f.config)
  const fileTuning = (file.tuning ?? {}) as Partial<AgentTuning>
  const cfg: AgentConfig = {
    terminalId: str(f['terminal-id'] ?? file.terminalId, 'terminalId'),
    secret: str(file.secret ?? env.YKT_TERMINAL_SECRET, 'secret (config file or YKT_TERMINAL_SECRET)'),
    serviceUrl: url(f['service-url'] ?? file.serviceUrl),
    port: {
      path: str(f.port ?? (file.port as { path?: unknown } | undefined)?.path, 'port path'),
      baudRate: int(f.baud ?? (file.port as { baudRate?: unknown } | undefined)?.baudRate ?? 9600, 'baud', 300, 4_000_000)
    },
    serviceBudgetMs: int(f['budget-ms'] ?? file.serviceBudgetMs ?? DEFAULTS.serviceBudgetMs, 'budget-ms', 50, 30_000),
    context: scenarioContext(f, file),
    attemptsWhileWaitingMax: int(file.attemptsWhileWaitingMax ?? DEFAULTS.attemptsWhileWaitingMax, 'attemptsWhileWaitingMax', 1, 5),
    attemptsMax: int(file.attemptsMax ?? DEFAULTS.attemptsMax, 'attemptsMax', 1, 50),
    retryDelayMs: int(file.retryDelayMs ?? DEFAULTS.retryDelayMs, 'retryDelayMs', 0, 10_000),
    backgroundDelayMsMax: int(file.backgroundDelayMsMax ?? DEFAULTS.backgroundDelayMsMax, 'backgroundDelayMsMax', 0, 3_600_000),
    pendingTapsMax: int(file.pendingTapsMax ?? DEFAULTS.pendingTapsMax, 'pendingTapsMax', 1, 10_000),
    logLevel: str(f['log-level'] ?? file.logLevel ?? DEFAULTS.logLevel, 'log-level'),
    tuning: {
      ...DEFAULTS.tuning,
      ...fileTuning,
      pollIntervalMs: int(f['poll-interval-ms'] ?? fileTuning.pollIntervalMs ?? DEFAULTS.tuning.pollIntervalMs, 'poll-interval-ms', 5, 5000),
      decisionHoldMs: int(f['decision-hold-ms'] ?? fileTuning.decisionHoldMs ?? DEFAULTS.tuning.decisionHoldMs, 'decision-hold-ms', 0, 60_000),
      repeatIgnoreMs: int(f['repeat-ignore-ms'] ?? fileTuning.repeatIgnoreMs ?? DEFAULTS.tuning.repeatIgnoreMs, 'repeat-ignore-ms', 0, 600_000)
    },
    offline: offlineConfig(f, file, env)
  }
  const amount = f.amount ?? file.amount ?? pharmacyTotal(cfg.context)
  if (amount !== undefined) cfg.amount = int(amount, 'amount', 0, 100_000_000)
  checkTerminalId(cfg.terminalId)
  return cfg
}

function offlineConfig (f: Flags, file: Record<string, unknown>, env: NodeJS.ProcessEnv): OfflineConfig {
  const o = (file.offline ?? {}) as Record<string, unknown>
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ConfigError('offline must be an object')
  const D = DEFAULTS.offline
  const num = (flag: string | undefined, key: string, min: number, max: number): number =>
    int(flag ?? o[key] ?? (D as unknown as Record<string, number>)[key], key, min, max)
  const cfg: OfflineConfig = {
    forcedOffline: f.offline ?? (o.forcedOffline === undefined ? env.YKT_AGENT_OFFLINE === '1' : o.forcedOffline === true),
    onlineBudgetMs: num(f['online-budget-ms'], 'onlineBudgetMs', 50, 30_000),
    queueDepthMax: num(f['queue-max'], 'queueDepthMax', 1, 1_000_000),
    riskLimits: riskLimits(o.riskLimits),
    riskOverride: {},
    denylistRefreshMs: num(f['denylist-refresh-ms'], 'denylistRefreshMs', 1000, 86_400_000),
    denylistEntriesMax: num(undefined, 'denylistEntriesMax', 1, 10_000_000),
    denylistAgeMsMax: num(undefined, 'denylistAgeMsMax', 60_000, 30 * 86_400_000),
    heartbeatMs: num(f['heartbeat-ms'], 'heartbeatMs', 1000, 86_400_000),
    uploadIntervalMs: num(f['upload-interval-ms'], 'uploadIntervalMs', 100, 86_400_000),
    uploadBatchSize: num(f['upload-batch-size'], 'uploadBatchSize', 1, TAP_UPLOAD_ITEMS_MAX),
    uploadBudgetMs: num(undefined, 'uploadBudgetMs', 100, 120_000),
    uploadRetryDelayMs: num(undefined, 'uploadRetryDelayMs', 1, 3_600_000),
    uploadRetryDelayMsMax: num(undefined, 'uploadRetryDelayMsMax', 1, 86_400_000),
    uploadAttemptsMax: num(undefined, 'uploadAttemptsMax', 1, 100_000),
    backgroundBudgetMs: num(undefined, 'backgroundBudgetMs', 100, 120_000)
  }
  const queuePath = f['queue-file'] ?? o.queuePath ?? env.YKT_AGENT_QUEUE_FILE
  if (queuePath !== undefined) cfg.queuePath = str(queuePath, 'queue-file')
  const scenario = f.scenario ?? o.scenario
  if (scenario !== undefined) cfg.scenario = str(scenario, 'scenario')
  if (f['risk-count-max'] !== undefined) cfg.riskOverride.countMax = int(f['risk-count-max'], 'risk-count-max', 0, 1000)
  if (f['risk-amount-max-fen'] !== undefined) cfg.riskOverride.amountFenMax = int(f['risk-amount-max-fen'], 'risk-amount-max-fen', 0, 100_000_000)
  if (f['risk-estimate-fen'] !== undefined) cfg.riskOverride.estimateFen = int(f['risk-estimate-fen'], 'risk-estimate-fen', 0, 100_000_000)
  return cfg
}

/** The defaults, with a file's `offline.riskLimits` ({scenario: {countMax, amountFenMax, estimateFen}}) over them. */
function riskLimits (v: unknown): Record<string, RiskLimit> {
  const limits: Record<string, RiskLimit> = { ...DEFAULT_RISK_LIMITS }
  if (v === undefined) return limits
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError('offline.riskLimits must be an object')
  for (const [scenario, l] of Object.entries(v as Record<string, Partial<RiskLimit>>)) {
    const base = limits[scenario] ?? limits.default as RiskLimit
    limits[scenario] = {
      countMax: int(l.countMax ?? base.countMax, `riskLimits.${scenario}.countMax`, 0, 1000),
      amountFenMax: int(l.amountFenMax ?? base.amountFenMax, `riskLimits.${scenario}.amountFenMax`, 0, 100_000_000),
      estimateFen: int(l.estimateFen ?? base.estimateFen, `riskLimits.${scenario}.estimateFen`, 0, 100_000_000)
    }
  }
  return limits
}

function scenarioContext (f: Flags, file: Record<string, unknown>): Record<string, unknown> {
  if (f.direction !== undefined) {
    if (f.direction !== 'in' && f.direction !== 'out') throw new ConfigError('--direction must be in or out')
    return { direction: f.direction }
  }
  if (f['library-action'] !== undefined) {
    if (!['borrow', 'return', 'renew'].includes(f['library-action'])) throw new ConfigError('--library-action must be borrow, return or renew')
    const items = (f['library-item'] ?? []).map(s => {
      const [id, value] = splitItem(s, 2, '--library-item <barcode>:<value fen>')
      return { id, value: int(value, 'library item value', 0, 100_000_000) }
    })
    return { action: f['library-action'], items }
  }
  if (f['pharmacy-item'] !== undefined) {
    return {
      items: f['pharmacy-item'].map(s => {
        const [code, cls, amount] = splitItem(s, 3, '--pharmacy-item <code>:<A|B|self>:<amount fen>')
        if (cls !== 'A' && cls !== 'B' && cls !== 'self') throw new ConfigError(`pharmacy item class ${cls} is not A, B or self`)
        return { code, class: cls, amount: int(amount, 'pharmacy item amount', 0, 100_000_000) }
      })
    }
  }
  const ctx = file.context ?? {}
  if (typeof ctx !== 'object' || ctx === null || Array.isArray(ctx)) throw new ConfigError('context must be an object')
  return ctx as Record<string, unknown>
}

/** A pharmacy tap's amount is its basket's sum (api-v1). */
function pharmacyTotal (ctx: Record<string, unknown>): number | undefined {
  if (!Array.isArray(ctx.items) || ctx.action !== undefined) return undefined
  return (ctx.items as Array<{ amount?: unknown }>).reduce((sum, i) => sum + (typeof i.amount === 'number' ? i.amount : 0), 0)
}

function splitItem (s: string, parts: number, usage: string): string[] {
  const p = s.split(':')
  if (p.length !== parts || p.some(x => x === '')) throw new ConfigError(`expected ${usage}, got ${s}`)
  return p
}

function checkTerminalId (id: string): void {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new ConfigError(`terminal id ${id} does not match ^[A-Za-z0-9._-]{1,64}$`)
  if (id.length > TERMINAL_ID_CHARS_MAX) throw new ConfigError(`terminal id over ${TERMINAL_ID_CHARS_MAX} characters leaves no room for tap ids`)
}

function readJson (file: string): Record<string, unknown> {
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as unknown
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not a JSON object')
    return doc as Record<string, unknown>
  } catch (err) {
    throw new ConfigError(`config ${file}: ${(err as Error).message}`)
  }
}

function str (v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw new ConfigError(`${what} is required`)
  return v
}

function int (v: unknown, what: string, min: number, max: number): number {
  const n = typeof v === 'string' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${what} must be an integer ${min}..${max}`)
  return n
}

function url (v: unknown): string {
  const s = str(v, 'serviceUrl')
  try {
    const u = new URL(s)
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http(s)')
    return s
  } catch {
    throw new ConfigError(`serviceUrl ${s} is not an http(s) URL`)
  }
}
