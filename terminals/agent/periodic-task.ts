// A background job on an interval (upload, deny-list refresh, heartbeat): never two runs at once,
// the next run armed only after the last one ended (a slow service cannot pile runs up), and
// `kick()` to run it now (coalesced with a run in progress). Timers are injectable so tests step
// them by hand (test/helpers/manual-timers.ts) instead of waiting on the wall clock.
export interface Timers {
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
}

export const REAL_TIMERS: Timers = {
  setTimeout: (fn, ms) => { const h = setTimeout(fn, ms); h.unref(); return h },
  clearTimeout: h => { clearTimeout(h as NodeJS.Timeout) }
}

export class PeriodicTask {
  private timer: unknown
  private running: Promise<void> | undefined
  private again = false
  private stopped = true

  constructor (
    readonly name: string,
    private readonly intervalMs: number,
    private readonly job: () => Promise<unknown>,
    private readonly onError: (name: string, err: Error) => void,
    private readonly timers: Timers = REAL_TIMERS
  ) {
    if (!Number.isInteger(intervalMs) || intervalMs < 1) throw new RangeError(`${name} interval must be a positive integer of ms`)
  }

  /** Runs at once (`now`), or first after one interval. */
  start (now = true): void {
    this.stopped = false
    if (now) this.kick()
    else this.arm()
  }

  stop (): void {
    this.stopped = true
    this.timers.clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Run now; if a run is in progress, once more right after it. */
  kick (): void {
    if (this.stopped) return
    if (this.running !== undefined) {
      this.again = true
      return
    }
    this.timers.clearTimeout(this.timer)
    this.timer = undefined
    this.running = this.runOnce()
  }

  /** Resolves when the run in progress (if any) has ended: for an orderly stop and for tests. */
  async idle (): Promise<void> {
    while (this.running !== undefined) await this.running
  }

  private async runOnce (): Promise<void> {
    try {
      await this.job()
    } catch (err) {
      this.onError(this.name, err as Error)
    } finally {
      this.running = undefined
      if (this.again) {
        this.again = false
        this.kick()
      } else {
        this.arm()
      }
    }
  }

  private arm (): void {
    if (this.stopped) return
    this.timers.clearTimeout(this.timer)
    this.timer = this.timers.setTimeout(() => { this.timer = undefined; this.kick() }, this.intervalMs)
  }
}
