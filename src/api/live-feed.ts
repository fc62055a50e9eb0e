// Live tap decisions for the ops console: a bounded in-memory pub/sub. The tap route publishes one
// event per decision; the console's stream subscribes. Bounded everywhere, because a console left
// open must never cost the tap path memory: the replay buffer keeps the last BUFFER_SIZE events,
// at most SUBSCRIBERS_MAX streams are open (the next one is refused), and a subscriber's listener
// must not throw or block (the SSE route drops a client whose socket does not keep up).
// Events carry card tokens only, never a card number.

export interface LiveDecision {
  /** Server time the decision was recorded, ISO 8601 UTC. */
  at: string
  terminal: string
  scenario: string
  city: string
  decision: string
  reason: string | null
  amount: number
  card: string | null
  latencyMs: number
  replay: boolean
}

export type LiveListener = (event: LiveDecision) => void

export const LIVE_BUFFER_SIZE = 200
export const LIVE_SUBSCRIBERS_MAX = 16

export class LiveFeed {
  private readonly buffer: LiveDecision[] = []
  private next = 0
  private readonly listeners = new Set<LiveListener>()
  readonly bufferSize: number
  readonly subscribersMax: number
  /** Always-on consumers (the console's counters), called before the stream subscribers. */
  private readonly sinks: LiveListener[]

  constructor (o: { bufferSize?: number, subscribersMax?: number, sinks?: LiveListener[] } = {}) {
    this.bufferSize = o.bufferSize ?? LIVE_BUFFER_SIZE
    this.subscribersMax = o.subscribersMax ?? LIVE_SUBSCRIBERS_MAX
    this.sinks = o.sinks ?? []
  }

  publish (event: LiveDecision): void {
    if (this.buffer.length < this.bufferSize) this.buffer.push(event)
    else this.buffer[this.next] = event
    this.next = (this.next + 1) % this.bufferSize
    for (const sink of this.sinks) sink(event)
    for (const listener of this.listeners) {
      // One broken subscriber must not fail the tap that published: drop it instead.
      try { listener(event) } catch { this.listeners.delete(listener) }
    }
  }

  /** The buffered events, oldest first. */
  recent (): LiveDecision[] {
    if (this.buffer.length < this.bufferSize) return [...this.buffer]
    return [...this.buffer.slice(this.next), ...this.buffer.slice(0, this.next)]
  }

  /** Returns the unsubscribe function, or undefined when SUBSCRIBERS_MAX streams are open. */
  subscribe (listener: LiveListener): (() => void) | undefined {
    if (this.listeners.size >= this.subscribersMax) return undefined
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  get subscriberCount (): number { return this.listeners.size }
}
