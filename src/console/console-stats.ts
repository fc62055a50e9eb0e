// What the ops console charts, counted in this process since it started from the live decisions
// (src/api/live-feed.ts) and the rejected-request lines (src/api/request-log.ts): a latency
// histogram, decisions per second over the last two minutes, declines by reason, scenario and city,
// and per-terminal health. Every map is bounded: the terminal table stops taking new ids at
// TERMINALS_MAX (counted as "other"), and a reason/scenario/city value is a code from a fixed set
// the service itself produced, never free text from a request.
import type { LiveDecision } from '../api/live-feed.js'

/** Upper bounds of the latency histogram, ms (the same as yikatong_tap_latency_seconds). */
export const LATENCY_BUCKETS_MS = [0.5, 1, 2, 5, 10, 20, 50, 100, 250, 500, 1000]
export const RATE_WINDOW_SECONDS = 120
export const TERMINALS_MAX = 10_000

export interface TerminalHealth {
  terminal: string
  city: string | null
  scenario: string | null
  lastSeenAt: string | null
  lastDecision: string | null
  taps: number
  declines: number
  /** Requests refused before a decision (401/403/429) that named this terminal. */
  rejected: number
  lastRejectedCode: string | null
  /** From the terminal agent's last heartbeat (POST /v1/terminal/heartbeat); null until one came. */
  denyListVersion: number | null
  offlineQueue: number | null
}

export interface ConsoleStatsView {
  since: string
  taps: number
  approved: number
  declined: number
  latency: { bucketsMs: number[], counts: number[] }
  perSecond: { endsAt: number, approved: number[], declined: number[] }
  declines: { byReason: Record<string, number>, byScenario: Record<string, number>, byCity: Record<string, number> }
  rejected: Record<string, number>
  terminals: TerminalHealth[]
  terminalsOther: number
}

export class ConsoleStats {
  private readonly since: string
  private taps = 0
  private approved = 0
  private declined = 0
  private readonly latencyCounts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0)
  private readonly secondApproved = new Array<number>(RATE_WINDOW_SECONDS).fill(0)
  private readonly secondDeclined = new Array<number>(RATE_WINDOW_SECONDS).fill(0)
  private currentSecond: number
  private readonly byReason = new Map<string, number>()
  private readonly byScenario = new Map<string, number>()
  private readonly byCity = new Map<string, number>()
  private readonly rejectedByCode = new Map<string, number>()
  private readonly terminals = new Map<string, TerminalHealth>()
  private terminalsOther = 0

  constructor (private readonly nowMs: () => number = Date.now) {
    this.since = new Date(nowMs()).toISOString()
    this.currentSecond = Math.floor(nowMs() / 1000)
  }

  readonly onDecision = (event: LiveDecision): void => {
    this.taps += 1
    const declined = event.decision !== 'approved'
    if (declined) this.declined += 1
    else this.approved += 1
    let bucket = LATENCY_BUCKETS_MS.findIndex(le => event.latencyMs <= le)
    if (bucket === -1) bucket = LATENCY_BUCKETS_MS.length
    this.latencyCounts[bucket]! += 1
    const slot = this.advance()
    if (declined) this.secondDeclined[slot]! += 1
    else this.secondApproved[slot]! += 1
    if (declined) {
      bump(this.byReason, event.reason ?? 'UNKNOWN')
      bump(this.byScenario, event.scenario)
      bump(this.byCity, event.city)
    }
    const health = this.terminal(event.terminal)
    if (health !== undefined) {
      health.city = event.city
      health.scenario = event.scenario
      health.lastSeenAt = event.at
      health.lastDecision = declined ? `${event.decision} ${event.reason ?? ''}`.trim() : event.decision
      health.taps += 1
      if (declined) health.declines += 1
    }
  }

  /** A request refused before any decision: counted by code, and against the terminal it named. */
  onRejected (code: string, terminalId: string | undefined): void {
    bump(this.rejectedByCode, code)
    if (terminalId === undefined) return
    const health = this.terminal(terminalId)
    if (health === undefined) return
    health.rejected += 1
    health.lastRejectedCode = code
  }

  /** An agent's heartbeat: its deny-list version and how many taps it holds offline. */
  readonly onHeartbeat = (terminalId: string, heartbeat: { queueDepth: number, denylistVersion: number | null }): void => {
    const health = this.terminal(terminalId)
    if (health === undefined) return
    health.denyListVersion = heartbeat.denylistVersion
    health.offlineQueue = heartbeat.queueDepth
  }

  view (): ConsoleStatsView {
    const slot = this.advance()
    const order = (values: number[]): number[] => [...values.slice(slot + 1), ...values.slice(0, slot + 1)]
    return {
      since: this.since,
      taps: this.taps,
      approved: this.approved,
      declined: this.declined,
      latency: { bucketsMs: LATENCY_BUCKETS_MS, counts: [...this.latencyCounts] },
      perSecond: { endsAt: this.currentSecond, approved: order(this.secondApproved), declined: order(this.secondDeclined) },
      declines: { byReason: Object.fromEntries(this.byReason), byScenario: Object.fromEntries(this.byScenario), byCity: Object.fromEntries(this.byCity) },
      rejected: Object.fromEntries(this.rejectedByCode),
      terminals: [...this.terminals.values()].sort((a, b) => a.terminal.localeCompare(b.terminal)),
      terminalsOther: this.terminalsOther
    }
  }

  /** Moves the per-second ring to now, zeroing the seconds that passed; returns now's slot. */
  private advance (): number {
    const second = Math.floor(this.nowMs() / 1000)
    const steps = Math.min(second - this.currentSecond, RATE_WINDOW_SECONDS)
    for (let i = 1; i <= steps; i++) {
      const slot = (this.currentSecond + i) % RATE_WINDOW_SECONDS
      this.secondApproved[slot] = 0
      this.secondDeclined[slot] = 0
    }
    if (second > this.currentSecond) this.currentSecond = second
    return this.currentSecond % RATE_WINDOW_SECONDS
  }

  private terminal (id: string): TerminalHealth | undefined {
    const known = this.terminals.get(id)
    if (known !== undefined) return known
    if (this.terminals.size >= TERMINALS_MAX) { this.terminalsOther += 1; return undefined }
    const fresh: TerminalHealth = { terminal: id, city: null, scenario: null, lastSeenAt: null, lastDecision: null, taps: 0, declines: 0, rejected: 0, lastRejectedCode: null, denyListVersion: null, offlineQueue: null }
    this.terminals.set(id, fresh)
    return fresh
  }
}

function bump (map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1)
}
