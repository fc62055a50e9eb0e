// The terminal's heartbeat for ops: POST /v1/terminal/heartbeat (signed) with the queue's depth and
// age, the deny list's version and the link mode → 204. A service without the endpoint (404) is
// tolerated: logged once, the agent keeps going.
import type { DenylistCache } from './denylist-cache.js'
import type { LinkState } from './link-state.js'
import type { OfflineQueue } from './offline-queue.js'
import { describeFailure, errorCode, type SignedCall } from './signed-call.js'
import type { SinkLog } from './tap-sink.js'

export interface HeartbeatBody {
  queueDepth: number
  oldestQueuedAt: string | null
  denylistVersion: number | null
  mode: 'online' | 'offline'
}

export type HeartbeatOutcome = { kind: 'sent' } | { kind: 'unsupported' } | { kind: 'failed', reason: string }

export function heartbeatBody (queue: OfflineQueue, denylist: DenylistCache, link: LinkState): HeartbeatBody {
  const oldest = queue.oldestAtMs
  return {
    queueDepth: queue.depth,
    oldestQueuedAt: oldest === undefined ? null : new Date(oldest).toISOString(),
    denylistVersion: denylist.version ?? null,
    mode: link.mode
  }
}

export class Heartbeat {
  private saidUnsupported = false
  private failing = false

  constructor (
    private readonly call: SignedCall,
    private readonly body: () => HeartbeatBody,
    private readonly log: SinkLog,
    private readonly o: { budgetMs: number }
  ) {}

  async beatOnce (): Promise<HeartbeatOutcome> {
    const answer = await this.call('POST', '/v1/terminal/heartbeat', Buffer.from(JSON.stringify(this.body())), { budgetMs: this.o.budgetMs, answerBytesMax: 4096 })
    if (answer.kind === 'answer' && answer.status >= 200 && answer.status < 300) {
      this.failing = false
      return { kind: 'sent' }
    }
    if (answer.kind === 'answer' && answer.status === 404) {
      if (!this.saidUnsupported) this.log.warn({}, 'service has no heartbeat endpoint (404): heartbeats are not seen by ops')
      this.saidUnsupported = true
      return { kind: 'unsupported' }
    }
    const reason = describeFailure(answer)
    // Heartbeats are frequent: log the first failure of a run, not every one of an outage.
    if (!this.failing) this.log.warn({ reason, code: answer.kind === 'answer' ? errorCode(answer.status, answer.text) : undefined }, 'heartbeat not taken')
    this.failing = true
    return { kind: 'failed', reason }
  }
}
