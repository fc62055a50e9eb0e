// A clock the test steps by hand, for code that takes injectable timers (the reader driver):
// nothing fires until advance(), then everything due fires in time order. No wall clock involved.
import { setImmediate as turn } from 'node:timers/promises'

interface Pending { id: number, atMs: number, fn: () => void }

export class ManualTimers {
  nowMs = 0
  private nextId = 1
  private pending: Pending[] = []

  readonly setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.nextId++
    this.pending.push({ id, atMs: this.nowMs + Math.max(0, ms), fn })
    return id
  }

  readonly clearTimeout = (handle: unknown): void => {
    this.pending = this.pending.filter(p => p.id !== handle)
  }

  /** Delays of the timers armed now, soonest first. */
  get armedMs (): number[] { return this.pending.map(p => p.atMs - this.nowMs).sort((a, b) => a - b) }

  /** Moves the clock forward, firing what falls due (and what those arm in turn) in order. */
  async advance (ms: number): Promise<void> {
    const end = this.nowMs + ms
    for (;;) {
      await settle()
      const due = this.pending.filter(p => p.atMs <= end).sort((a, b) => a.atMs - b.atMs || a.id - b.id)[0]
      if (due === undefined) break
      this.pending = this.pending.filter(p => p !== due)
      this.nowMs = due.atMs
      due.fn()
    }
    this.nowMs = end
    await settle()
  }
}

/** Lets I/O callbacks and promise chains run (a few event-loop turns). */
export async function settle (turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await turn()
}
