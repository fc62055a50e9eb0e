// What each terminal last said of its offline state (POST /v1/terminal/heartbeat): queue depth,
// oldest queued tap, deny-list version, mode. Kept in memory by the process that got it, one entry
// per registered terminal at most (bounded by the registry): a heartbeat is a fact about now, and
// every agent sends one each interval, so a restart forgets nothing that is not resent within it.
// With several processes, each knows the terminals whose heartbeats reached it.
import { TERMINAL_CACHE_ENTRIES_MAX } from '../constants.js'

export interface Heartbeat {
  queueDepth: number
  oldestQueuedAt: string | null
  denylistVersion: number | null
  mode: 'online' | 'offline'
}

export interface HeartbeatRecord extends Heartbeat { terminalId: string, receivedAt: string }

export interface HeartbeatSummary {
  terminals: number
  offline: number
  queuedTaps: number
  /** Age of the oldest queued tap any terminal reported, at its report. */
  oldestQueuedAgeSMax: number
}

export class TerminalHeartbeats {
  private readonly byTerminal = new Map<string, HeartbeatRecord>()
  constructor (private readonly entriesMax = TERMINAL_CACHE_ENTRIES_MAX) {}

  record (terminalId: string, heartbeat: Heartbeat, nowMs: number): HeartbeatRecord {
    const record: HeartbeatRecord = { terminalId, receivedAt: new Date(nowMs).toISOString(), ...heartbeat }
    this.byTerminal.delete(terminalId)
    if (this.byTerminal.size >= this.entriesMax) this.byTerminal.delete(this.byTerminal.keys().next().value!)
    this.byTerminal.set(terminalId, record)
    return record
  }

  get (terminalId: string): HeartbeatRecord | undefined { return this.byTerminal.get(terminalId) }

  all (): HeartbeatRecord[] {
    return [...this.byTerminal.values()].sort((a, b) => a.terminalId < b.terminalId ? -1 : 1)
  }

  summary (): HeartbeatSummary {
    let offline = 0
    let queuedTaps = 0
    let oldestQueuedAgeSMax = 0
    for (const h of this.byTerminal.values()) {
      if (h.mode === 'offline') offline++
      queuedTaps += h.queueDepth
      if (h.oldestQueuedAt !== null) {
        const ageS = (Date.parse(h.receivedAt) - Date.parse(h.oldestQueuedAt)) / 1000
        if (Number.isFinite(ageS)) oldestQueuedAgeSMax = Math.max(oldestQueuedAgeSMax, ageS)
      }
    }
    return { terminals: this.byTerminal.size, offline, queuedTaps, oldestQueuedAgeSMax }
  }
}
