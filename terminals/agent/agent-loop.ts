// The terminal's loop: wait for a card or QR code → read it → build the tap → ask the service →
// show the decision → wait until the card has left the field, so one presentation is one tap.
import type { ReaderDriver } from '../../src/reader/driver.js'
import { isReaderError, ReaderError } from '../../src/reader/errors.js'
import { readPresented, type PresentedCard } from '../../src/reader/presented-card.js'
import type { Presence, ReaderCommands } from '../../src/reader/reader-commands.js'
import { cardToken } from './card-token.js'
import type { PendingTapStore } from './pending-taps.js'
import { IDLE, presentOutcome, READ_FAILED, REMOVE_CARD, show, WAIT, type Presentation } from './presenter.js'
import { prepareTap, provenCard, type PreparedTap } from './tap-body.js'
import { rfc3339Local } from './tap-id.js'
import type { SinkOutcome, TapSink } from './tap-sink.js'

export interface AgentTuning {
  pollIntervalMs: number
  /** The same card again within this time after a tap is a bounce in the field, not a new tap. */
  repeatIgnoreMs: number
  /** An unanswered tap of the same card this recent is sent again instead of a new one. */
  pendingReuseMs: number
  /** A decision stays on the display at least this long before the idle text comes back. */
  decisionHoldMs: number
  removalReminderMs: number
  connectWaitMs: number
  pendingRetryIntervalMs: number
  utcOffsetMinutes: number
  /** Read issue date and spec version too (two more APDUs per tap). */
  readFull: boolean
}

export interface AgentLog {
  debug (obj: object, msg: string): void
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

export interface AgentDeps {
  driver: ReaderDriver
  reader: ReaderCommands
  sink: TapSink & { retryPendingOnce (): Promise<boolean> }
  store: PendingTapStore
  log: AgentLog
  nextTapId: () => string
  /** The terminal's id, which a physical card's cryptogram covers; without it taps carry no card proof. */
  terminalId?: string
  tokenKey: string
  context: Record<string, unknown>
  amount?: number
  tuning: AgentTuning
  now?: () => number
}

/** Card-side problems: show "tap again"; anything else is the link's and goes up. */
const CARD_PROBLEM = /^(CARD_|QR_INVALID)|^READER_(NO_CARD|CARD_MUTE|NO_QR)$/

export class TerminalAgent {
  private stopping = false
  private needIdle = true
  /** A card was served and has not been seen leaving: survives reader errors and reconnects. */
  private awaitingRemoval = false
  private lastTap: { token: string, atMs: number } | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private retrying = false
  private readonly now: () => number
  private readonly t: AgentTuning

  constructor (private readonly d: AgentDeps) {
    this.now = d.now ?? Date.now
    this.t = d.tuning
  }

  async run (): Promise<void> {
    this.d.driver.start()
    this.retryTimer = setInterval(() => { void this.retryPending() }, this.t.pendingRetryIntervalMs)
    this.retryTimer.unref()
    while (!this.stopping) {
      try {
        await this.d.driver.whenConnected(this.t.connectWaitMs)
        if (this.needIdle) await this.present(IDLE)
        this.needIdle = false
        await this.serveNextTap()
      } catch (err) {
        if (this.stopping) break
        // Reader trouble is expected and waited out; anything else is a defect: stop, be restarted.
        if (!(err instanceof ReaderError) || err.code === 'READER_GAVE_UP') throw err
        this.d.log.warn({ code: (err as ReaderError).code, err: (err as Error).message }, 'reader problem, starting over')
        this.needIdle = true
        await sleep(this.t.pollIntervalMs)
      }
    }
  }

  async stop (): Promise<void> {
    this.stopping = true
    clearInterval(this.retryTimer)
    await this.d.driver.close()
  }

  private async serveNextTap (): Promise<void> {
    // After a reader hiccup mid-tap, the card still in the field must not become a second tap.
    if (this.awaitingRemoval) await this.waitRemoval()
    const presence = await this.waitForPresentation()
    const detectedAt = this.now()
    if (presence.card) this.awaitingRemoval = true
    const presented = await this.readCard(presence)
    if (presented === null) return
    const token = cardToken(presented.card, this.d.tokenKey)
    if (this.lastTap?.token === token && detectedAt - this.lastTap.atMs < this.t.repeatIgnoreMs) {
      this.d.log.debug({ card: token }, 'same card again too soon: ignored')
      return await this.afterTap(presented, undefined)
    }
    const readAt = this.now()
    const tap = this.d.store.takeByCard(token, readAt - this.t.pendingReuseMs) ?? await this.newTap(presented, presence, detectedAt, token)
    if (tap === null) return
    const reused = tap.attempts > 0
    const outcome = await this.d.sink.submit(tap, { onRetry: (attempt, reason) => this.onRetry(tap, attempt, reason) })
    const decidedAt = this.now()
    let shownAt = decidedAt
    let linkError: unknown
    try {
      shownAt = await this.present(presentOutcome(outcome))
    } catch (err) {
      linkError = err
    }
    // Only a decided tap blocks a quick second one: after "network error, tap again" it must work.
    if (outcome.kind === 'decision' || outcome.kind === 'offline') this.lastTap = { token, atMs: shownAt }
    this.logTap(tap, outcome, {
      reused,
      readMs: readAt - detectedAt,
      decideMs: decidedAt - readAt,
      displayMs: shownAt - decidedAt,
      totalMs: shownAt - detectedAt
    })
    if (linkError !== undefined) throw linkError
    await this.afterTap(presented, shownAt)
  }

  private async readCard (presence: Presence): Promise<PresentedCard | null> {
    try {
      return await readPresented(this.d.reader, presence, { full: this.t.readFull })
    } catch (err) {
      const code = (err as ReaderError).code
      if (typeof code !== 'string' || !CARD_PROBLEM.test(code)) throw err
      this.d.log.warn({ code, err: (err as Error).message }, 'card read failed')
      await this.present(READ_FAILED)
      if (presence.card) await this.waitRemoval()
      this.needIdle = true
      return null
    }
  }

  private async newTap (presented: PresentedCard, presence: Presence, detectedAt: number, token: string): Promise<PreparedTap | null> {
    const tapId = this.d.nextTapId()
    const at = rfc3339Local(detectedAt, this.t.utcOffsetMinutes)
    let card
    try {
      card = await provenCard(presented, { terminalId: this.d.terminalId, tapId, at, amount: this.d.amount })
    } catch (err) {
      // The card left before it could prove itself: like a failed read, "tap again".
      const code = (err as ReaderError).code
      if (typeof code !== 'string' || !CARD_PROBLEM.test(code)) throw err
      this.d.log.warn({ code, err: (err as Error).message }, 'card proof failed')
      await this.present(READ_FAILED)
      if (presence.card) await this.waitRemoval()
      this.needIdle = true
      return null
    }
    return prepareTap({ tapId, at, card, amount: this.d.amount, context: this.d.context }, token, this.now())
  }

  private onRetry (tap: PreparedTap, attempt: number, reason: string): void {
    this.d.log.warn({ tapId: tap.tapId, attempt, reason }, 'service slow, sending the tap again')
    this.present(WAIT).catch(() => {})
  }

  private async afterTap (presented: PresentedCard, shownAt: number | undefined): Promise<void> {
    if (presented.card.type === 'physical') {
      await this.d.reader.cardOff().catch(() => {})
      await this.waitRemoval()
    }
    if (shownAt === undefined) return
    await sleep(Math.max(0, this.t.decisionHoldMs - (this.now() - shownAt)))
    this.needIdle = true
  }

  private async waitForPresentation (): Promise<Presence> {
    for (;;) {
      const p = await this.d.reader.poll()
      if (p.card || p.qr) return p
      await this.pause()
    }
  }

  private async waitRemoval (): Promise<void> {
    const start = this.now()
    let reminded = false
    this.awaitingRemoval = true
    for (;;) {
      const p = await this.d.reader.poll()
      if (!p.card) {
        this.awaitingRemoval = false
        return
      }
      if (!reminded && this.now() - start > this.t.removalReminderMs) {
        reminded = true
        await this.present(REMOVE_CARD)
      }
      await this.pause()
    }
  }

  private async pause (): Promise<void> {
    await sleep(this.t.pollIntervalMs)
    if (this.stopping) throw new ReaderError('READER_CLOSED', 'agent stopping')
  }

  /**
   * Display problems are logged, never allowed to lose the tap's log line or stop the loop.
   * Resolves with the time the display was acknowledged (or gave up).
   */
  private async present (p: Presentation): Promise<number> {
    try {
      return await show(this.d.reader, p, this.now)
    } catch (err) {
      this.d.log.warn({ code: (err as ReaderError).code, err: (err as Error).message }, 'reader could not show')
      if (isReaderError(err, 'READER_DISCONNECTED') || isReaderError(err, 'READER_CLOSED')) throw err
      return this.now()
    }
  }

  private async retryPending (): Promise<void> {
    if (this.retrying || this.d.store.size === 0) return
    this.retrying = true
    try {
      while (await this.d.sink.retryPendingOnce()) { /* drain what is due */ }
    } catch (err) {
      this.d.log.error({ err: (err as Error).message }, 'pending retry failed')
    } finally {
      this.retrying = false
    }
  }

  private logTap (tap: PreparedTap, outcome: SinkOutcome, times: Record<string, number | boolean>): void {
    const base = { tapId: tap.tapId, card: tap.cardToken, attempts: tap.attempts, ...times }
    if (outcome.kind === 'decision') {
      const a = outcome.answer
      this.d.log.info({ ...base, decision: a.decision, reason: a.reason, amount: a.amount }, 'tap decided')
    } else if (outcome.kind === 'offline') {
      this.d.log.info({ ...base, decision: outcome.decision, reason: outcome.reason, amount: outcome.amount, offline: true, whyOffline: outcome.reasonOnline }, 'tap decided offline')
    } else if (outcome.kind === 'rejected') {
      this.d.log.error({ ...base, status: outcome.status, code: outcome.code }, 'tap rejected by the service')
    } else {
      this.d.log.warn({ ...base, reason: outcome.reason, kept: outcome.kept }, 'tap not answered')
    }
  }
}

function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
