// The offline mode put together from its parts: the agent's SQLite file, the queue, the deny list,
// card usage, the local decision, the sink the loop talks to, and the background jobs (upload,
// deny-list refresh, heartbeat). agent.ts builds one when a queue file is configured.
import { openAgentDb, getMeta, setMeta, type AgentDb } from './agent-db.js'
import type { OfflineConfig } from './config.js'
import { DenylistCache } from './denylist-cache.js'
import { DenylistRefresher } from './denylist-refresher.js'
import { Heartbeat, heartbeatBody } from './heartbeat.js'
import { LinkState } from './link-state.js'
import { OfflineDecider } from './offline-decider.js'
import { OfflineQueue } from './offline-queue.js'
import { CardRisk, riskLimitFor, type RiskLimit } from './offline-risk.js'
import { OfflineCapableSink } from './offline-sink.js'
import { OfflineUploader } from './offline-uploader.js'
import { PeriodicTask, REAL_TIMERS, type Timers } from './periodic-task.js'
import type { SignedCall } from './signed-call.js'
import type { OnlineTapSink, SinkLog } from './tap-sink.js'
import { AT_PAST_MS_MAX_UPLOAD } from '../../src/constants.js'

export interface OfflineModeDeps {
  cfg: OfflineConfig & { queuePath: string }
  call: SignedCall
  /** The online sink, built with keepUnanswered: false and the online budget. */
  online: OnlineTapSink
  log: SinkLog
  timers?: Timers
  now?: () => number
}

export class OfflineMode {
  readonly db: AgentDb
  readonly queue: OfflineQueue
  readonly denylist: DenylistCache
  readonly risk: CardRisk
  readonly link: LinkState
  readonly decider: OfflineDecider
  readonly sink: OfflineCapableSink
  readonly uploader: OfflineUploader
  readonly refresher: DenylistRefresher
  readonly heartbeat: Heartbeat
  readonly tasks: PeriodicTask[]
  private readonly upload: PeriodicTask
  private readonly refresh: PeriodicTask

  constructor (private readonly d: OfflineModeDeps) {
    const { cfg, call, log } = d
    const now = d.now ?? Date.now
    this.db = openAgentDb(cfg.queuePath)
    this.queue = new OfflineQueue(this.db, cfg.queueDepthMax, now)
    this.denylist = new DenylistCache(this.db, cfg.denylistEntriesMax)
    this.risk = new CardRisk(this.db)
    this.link = new LinkState(cfg.forcedOffline)
    this.decider = new OfflineDecider({ db: this.db, queue: this.queue, denylist: this.denylist, risk: this.risk, limit: () => this.limit(), denylistAgeMsMax: cfg.denylistAgeMsMax, now })
    this.sink = new OfflineCapableSink(d.online, this.decider, this.link, log)
    this.uploader = new OfflineUploader(call, this.queue, this.link, log, {
      batchSize: cfg.uploadBatchSize,
      budgetMs: cfg.uploadBudgetMs,
      retryDelayMs: cfg.uploadRetryDelayMs,
      retryDelayMsMax: cfg.uploadRetryDelayMsMax,
      attemptsMax: cfg.uploadAttemptsMax,
      expireAfterMs: AT_PAST_MS_MAX_UPLOAD,
      batchesPerDrainMax: Math.max(1, Math.ceil(cfg.queueDepthMax / cfg.uploadBatchSize)),
      now
    })
    this.refresher = new DenylistRefresher(call, this.denylist, this.link, log, { budgetMs: cfg.backgroundBudgetMs })
    this.heartbeat = new Heartbeat(call, () => heartbeatBody(this.queue, this.denylist, this.link), log, { budgetMs: cfg.backgroundBudgetMs })
    const onError = (name: string, err: Error): void => { log.error({ task: name, err: err.message }, 'background job failed') }
    const timers = d.timers ?? REAL_TIMERS
    this.upload = new PeriodicTask('upload', cfg.uploadIntervalMs, async () => await this.uploader.drain(), onError, timers)
    this.refresh = new PeriodicTask('denylist', cfg.denylistRefreshMs, async () => { await this.learnScenario(); await this.refresher.refreshOnce() }, onError, timers)
    const beat = new PeriodicTask('heartbeat', cfg.heartbeatMs, async () => await this.heartbeat.beatOnce(), onError, timers)
    this.tasks = [this.upload, this.refresh, beat]
    this.link.onBackOnline(() => {
      this.uploader.resetBackoff()
      this.upload.kick()
      this.refresh.kick()
    })
  }

  /** The risk limit of this terminal's scenario (configured, or as the service registered it). */
  limit (): RiskLimit {
    const base = riskLimitFor(this.d.cfg.riskLimits, this.d.cfg.scenario ?? getMeta(this.db, 'scenario'))
    return { ...base, ...this.d.cfg.riskOverride }
  }

  start (): void { for (const t of this.tasks) t.start() }

  async stop (): Promise<void> {
    for (const t of this.tasks) t.stop()
    await Promise.all(this.tasks.map(async t => await t.idle()))
    this.db.close()
  }

  /** Once, while no scenario is configured or cached: ask the service what this terminal is. */
  private async learnScenario (): Promise<void> {
    if (this.d.cfg.scenario !== undefined || getMeta(this.db, 'scenario') !== undefined) return
    const a = await this.d.call('GET', '/v1/terminal/me', undefined, { budgetMs: this.d.cfg.backgroundBudgetMs, answerBytesMax: 64 * 1024 })
    if (a.kind !== 'answer' || a.status !== 200) return
    let scenario: unknown
    try {
      scenario = (JSON.parse(a.text) as { scenario?: unknown }).scenario
    } catch {
      return // a bad registration answer must not stop the deny-list refresh that follows
    }
    if (typeof scenario === 'string' && scenario !== '') {
      setMeta(this.db, 'scenario', scenario)
      this.d.log.info({ scenario, limit: this.limit() }, 'offline risk limit from the terminal\'s registration')
    }
  }
}
