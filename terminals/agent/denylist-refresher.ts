// Keeps the cached deny list current: GET /v1/terminal/denylist?since=<cached version> (signed like
// every terminal call), applied as a delta or, with `full: true`, as the whole list. On an interval
// and whenever the service comes back after an outage (link-state.ts).
import type { DenylistCache, DenylistUpdate } from './denylist-cache.js'
import type { LinkState } from './link-state.js'
import { describeFailure, errorCode, type SignedCall } from './signed-call.js'
import type { SinkLog } from './tap-sink.js'

export type RefreshOutcome =
  | { kind: 'applied', version: number, size: number, full: boolean }
  | { kind: 'stale', version: number }
  | { kind: 'refused', code: string }
  | { kind: 'unavailable', reason: string }
  | { kind: 'unsupported' }

/** An entry is a 32-hex token and a short reason: ~80 bytes of JSON; the answer is bounded by the list's bound. */
const ENTRY_BYTES_MAX = 128

export class DenylistRefresher {
  private saidUnsupported = false

  constructor (
    private readonly call: SignedCall,
    private readonly cache: DenylistCache,
    private readonly link: LinkState,
    private readonly log: SinkLog,
    private readonly o: { budgetMs: number }
  ) {}

  async refreshOnce (): Promise<RefreshOutcome> {
    const since = this.cache.version
    const path = since === undefined ? '/v1/terminal/denylist' : `/v1/terminal/denylist?since=${since}`
    const answer = await this.call('GET', path, undefined, { budgetMs: this.o.budgetMs, answerBytesMax: this.cache.entriesMax * ENTRY_BYTES_MAX + 4096 })
    if (answer.kind !== 'answer' || answer.status >= 500) {
      if (answer.kind !== 'answer' || answer.status === 503) this.link.markOffline()
      const reason = describeFailure(answer)
      this.log.warn({ since, reason }, 'deny list refresh failed: keeping the cached list')
      return { kind: 'unavailable', reason }
    }
    this.link.markOnline()
    if (answer.status === 404) {
      // An older service without the endpoint: say so once, keep the terminal working.
      if (!this.saidUnsupported) this.log.warn({}, 'service has no deny list endpoint (404): offline taps are declined until it has')
      this.saidUnsupported = true
      return { kind: 'unsupported' }
    }
    if (answer.status !== 200) {
      const code = errorCode(answer.status, answer.text)
      this.log.error({ since, status: answer.status, code }, 'deny list refresh refused')
      return { kind: 'refused', code }
    }
    try {
      const update = JSON.parse(answer.text) as DenylistUpdate
      const r = this.cache.apply(update, Date.now())
      if (r.kind === 'stale') {
        // The service says the cached version is the current one: the list is confirmed fresh.
        if (update.version === r.version) this.cache.confirm(Date.now())
        return r
      }
      this.log.info({ version: r.version, size: r.size, full: update.full, added: r.added, removed: r.removed }, 'deny list updated')
      return { kind: 'applied', version: r.version, size: r.size, full: update.full }
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'DENYLIST_INVALID'
      this.log.error({ since, code, err: (err as Error).message }, 'deny list answer not applied: keeping the cached list')
      return { kind: 'refused', code }
    }
  }
}
