// Taps the service has not answered yet, kept to be sent again with the same tapId and bytes.
// PendingTapStore is the seam for the offline mode to come: a durable store (surviving restarts)
// with the same interface replaces the in-memory one, and an offline TapSink uses it.
import type { PreparedTap } from './tap-body.js'

export interface PendingTapStore {
  readonly size: number
  /** Keeps `tap`; when full, drops and returns the oldest to make room. */
  put (tap: PreparedTap): PreparedTap | undefined
  /** Takes out the newest tap of this card created at or after `sinceMs` (the holder came back). */
  takeByCard (cardToken: string, sinceMs: number): PreparedTap | undefined
  /** Takes out the oldest tap due for another attempt at `nowMs`. */
  takeDue (nowMs: number): PreparedTap | undefined
}

export class MemoryPendingTaps implements PendingTapStore {
  private readonly taps: PreparedTap[] = []

  constructor (private readonly sizeMax = 32) {}

  get size (): number { return this.taps.length }

  put (tap: PreparedTap): PreparedTap | undefined {
    this.taps.push(tap)
    return this.taps.length > this.sizeMax ? this.taps.shift() : undefined
  }

  takeByCard (cardToken: string, sinceMs: number): PreparedTap | undefined {
    for (let i = this.taps.length - 1; i >= 0; i--) {
      const t = this.taps[i] as PreparedTap
      if (t.cardToken === cardToken && t.createdAtMs >= sinceMs) return this.taps.splice(i, 1)[0]
    }
    return undefined
  }

  takeDue (nowMs: number): PreparedTap | undefined {
    const i = this.taps.findIndex(t => t.nextAttemptAtMs <= nowMs)
    return i < 0 ? undefined : this.taps.splice(i, 1)[0]
  }
}
