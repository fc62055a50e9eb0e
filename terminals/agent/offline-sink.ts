// The TapSink of the offline mode: asks the service first (one attempt within the online budget,
// unless the terminal is set offline), and decides at the terminal when the service does not answer
// in time or answers 5xx. The agent loop does not change: it shows whatever outcome comes back.
import type { LinkState } from './link-state.js'
import type { OfflineDecider, OfflineDecision } from './offline-decider.js'
import type { PreparedTap } from './tap-body.js'
import type { OnlineTapSink, SinkLog, SinkOutcome, SubmitHooks, TapSink } from './tap-sink.js'

export class OfflineCapableSink implements TapSink {
  constructor (
    private readonly online: OnlineTapSink,
    private readonly decider: OfflineDecider,
    private readonly link: LinkState,
    private readonly log: SinkLog
  ) {}

  async submit (tap: PreparedTap, hooks: SubmitHooks = {}): Promise<SinkOutcome> {
    let why = 'terminal set offline'
    if (!this.link.forcedOffline) {
      const outcome = await this.online.submit(tap, hooks)
      if (outcome.kind === 'decision') {
        this.link.markOnline()
        this.safely(() => this.decider.onlineAnswer(tap), tap)
        return outcome
      }
      // A 4xx is the service's answer about this tap: not a reason to let the rider through.
      if (outcome.kind !== 'unavailable') {
        this.link.markOnline()
        return outcome
      }
      this.link.markOffline()
      why = outcome.reason
    }
    let d: OfflineDecision
    try {
      d = this.decider.decide(tap)
    } catch (err) {
      // The tap could not be kept (disk full, file damaged): not a rider to let through.
      this.log.error({ tapId: tap.tapId, code: (err as { code?: string }).code, err: (err as Error).message }, 'offline store failed: tap declined')
      d = { decision: 'declined', reason: 'OFFLINE_STORE_FAILED' }
    }
    if (d.decision === 'approved') return { kind: 'offline', decision: 'approved', amount: d.amountFen, reasonOnline: why }
    if (d.reason === 'OFFLINE_QUEUE_FULL') this.log.error({ tapId: tap.tapId }, 'offline queue full: tap declined')
    return { kind: 'offline', decision: 'declined', reason: d.reason, amount: 0, reasonOnline: why }
  }

  /** The background retries of the online sink (none are kept in offline mode; kept for the loop's seam). */
  async retryPendingOnce (): Promise<boolean> { return await this.online.retryPendingOnce() }

  private safely (fn: () => void, tap: PreparedTap): void {
    try {
      fn()
    } catch (err) {
      // Usage bookkeeping must never cost the holder the decision already shown.
      this.log.error({ tapId: tap.tapId, err: (err as Error).message }, 'offline usage reset failed')
    }
  }
}
