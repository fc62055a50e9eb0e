// Where a tap goes to be decided. OnlineTapSink asks the service: a bounded number of attempts
// while the holder waits, then the tap is kept (same tapId, same bytes) and sent again in the
// background a bounded number of times, so a charge the service did record is never lost track of
// and a second tap of the same card does not become a second charge.
import type { PendingTapStore } from './pending-taps.js'
import type { PreparedTap } from './tap-body.js'
import type { PostResult, TapAnswer, TapPoster } from './tap-client.js'

export type SinkOutcome =
  | { kind: 'decision', answer: TapAnswer, attempts: number }
  | { kind: 'rejected', status: number, code: string, message: string }
  | { kind: 'unavailable', reason: string, kept: boolean }
  /** Decided at the terminal without the service (offline mode, offline-sink.ts). */
  | { kind: 'offline', decision: 'approved' | 'declined', reason?: string, amount: number, reasonOnline: string }

export interface SubmitHooks { onRetry?: (attempt: number, reason: string) => void }

export interface TapSink {
  submit (tap: PreparedTap, hooks?: SubmitHooks): Promise<SinkOutcome>
}

export interface OnlineSinkOptions {
  /** Attempts while the holder is at the reader (the first included). */
  attemptsWhileWaitingMax: number
  /** Attempts in all, the background ones included; then the tap is given up (and logged). */
  attemptsMax: number
  retryDelayMs: number
  /** Background attempts back off from retryDelayMs doubling up to this. */
  backgroundDelayMsMax: number
  /**
   * Keep an unanswered tap to send again (default true). The offline mode turns it off: there an
   * unanswered tap is decided at the terminal and queued durably (offline-sink.ts), and the same
   * tapId must not also be sent again in the background without its offline mark.
   */
  keepUnanswered?: boolean
  now?: () => number
}

export interface SinkLog {
  info (obj: object, msg: string): void
  warn (obj: object, msg: string): void
  error (obj: object, msg: string): void
}

export class OnlineTapSink implements TapSink {
  private readonly now: () => number

  constructor (
    private readonly post: TapPoster,
    private readonly store: PendingTapStore,
    private readonly opts: OnlineSinkOptions,
    private readonly log: SinkLog
  ) {
    this.now = opts.now ?? Date.now
  }

  async submit (tap: PreparedTap, hooks: SubmitHooks = {}): Promise<SinkOutcome> {
    let reason = ''
    for (let i = 0; i < this.opts.attemptsWhileWaitingMax && tap.attempts < this.opts.attemptsMax; i++) {
      if (i > 0) {
        hooks.onRetry?.(tap.attempts + 1, reason)
        await sleep(this.opts.retryDelayMs)
      }
      const result = await this.attempt(tap)
      const outcome = settled(result, tap)
      if (outcome !== undefined) return outcome
      reason = describe(result)
    }
    return { kind: 'unavailable', reason, kept: this.opts.keepUnanswered === false ? false : this.keep(tap) }
  }

  /** One background attempt at the oldest due pending tap; false when none was due. */
  async retryPendingOnce (): Promise<boolean> {
    const tap = this.store.takeDue(this.now())
    if (tap === undefined) return false
    const result = await this.attempt(tap)
    const outcome = settled(result, tap)
    const ids = { tapId: tap.tapId, card: tap.cardToken, attempts: tap.attempts }
    if (outcome?.kind === 'decision') this.log.info({ ...ids, decision: outcome.answer.decision }, 'pending tap decided')
    else if (outcome?.kind === 'rejected') this.log.error({ tapId: tap.tapId, code: outcome.code, status: outcome.status }, 'pending tap rejected')
    else this.keep(tap)
    return true
  }

  private async attempt (tap: PreparedTap): Promise<PostResult> {
    tap.attempts++
    return await this.post(tap.body)
  }

  /** Keeps the tap for later unless it has used all its attempts; true when kept. */
  private keep (tap: PreparedTap): boolean {
    if (tap.attempts >= this.opts.attemptsMax) {
      this.log.error({ tapId: tap.tapId, card: tap.cardToken, attempts: tap.attempts }, 'tap given up: no answer from the service')
      return false
    }
    const backoff = Math.min(this.opts.backgroundDelayMsMax, this.opts.retryDelayMs * 2 ** tap.attempts)
    tap.nextAttemptAtMs = this.now() + backoff
    const dropped = this.store.put(tap)
    if (dropped !== undefined) this.log.error({ tapId: dropped.tapId, card: dropped.cardToken }, 'pending tap dropped: store full')
    return dropped !== tap
  }
}

function settled (result: PostResult, tap: PreparedTap): SinkOutcome | undefined {
  if (result.kind === 'answer') return { kind: 'decision', answer: result.answer, attempts: tap.attempts }
  if (result.kind === 'error' && !result.retryable) {
    return { kind: 'rejected', status: result.status, code: result.code, message: result.message }
  }
  return undefined
}

function describe (result: PostResult): string {
  if (result.kind === 'timeout') return `no answer within ${result.budgetMs} ms`
  if (result.kind === 'network') return `network: ${result.message}`
  if (result.kind === 'error') return `${result.status} ${result.code}`
  return 'answered'
}

function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
