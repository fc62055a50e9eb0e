// Terminal SDK: a client for the terminal side of the API (POST /v1/taps, /v1/taps/batch,
// GET /v1/terminal/me, POST /v1/terminal/taps/:tapId/reversal), typed from schemas/ (contract-types.ts).
// - Signing built in (src/auth/signature.ts, the service's own module): every attempt is re-signed
//   with a fresh X-Timestamp over the same bytes.
// - Idempotent retries: a tap is serialised once; each retry sends the same tapId and the same bytes,
//   so the service answers the recorded decision and never charges twice (api-v1 idempotency).
// - Timeouts: each attempt has its own budget (timeoutMs); attempts are bounded (attemptsMax).
// - The offline seam: when every attempt failed for a reason worth retrying, the tap (bytes as
//   signed) goes to an OfflineStore the terminal provides, and drainOffline() uploads what it kept
//   through /v1/taps/batch later. Same bytes again: the same tap, decided once.
import type { ErrorBody, ReversalResponse, TapBatchResponse, TapRequest, TapResponse, TerminalRegistration } from './contract-types-aliases.js'
import { bodySha256Hex, sign } from '../../src/auth/signature.js'

export type { ReversalResponse, TapBatchResponse, TapRequest, TapResponse, TerminalRegistration }

export type CallResult<T> =
  | { kind: 'ok', status: number, body: T, attempts: number }
  | { kind: 'error', status: number, code: string, message: string, attempts: number }
  | { kind: 'unavailable', reason: string, attempts: number }

export type TapResult =
  | { kind: 'decision', answer: TapResponse, attempts: number }
  | { kind: 'rejected', status: number, code: string, message: string, attempts: number }
  | { kind: 'kept-offline', reason: string, attempts: number }
  | { kind: 'unavailable', reason: string, attempts: number }

/** A kept tap: the exact bytes first signed, so a later upload is the same tap. */
export interface KeptTap { tapId: string, body: string }

/** Where the terminal keeps taps it could not get decided. Bounded by its implementation. */
export interface OfflineStore {
  /** False when the store is full (the tap was not kept). */
  keep: (tap: KeptTap) => boolean
  /** Up to `max` kept taps, oldest first, without removing them. */
  peek: (max: number) => KeptTap[]
  remove: (tapIds: string[]) => void
}

export interface TerminalClientOptions {
  baseUrl: string
  terminalId: string
  secret: string
  /** Budget of one attempt, ms. */
  timeoutMs?: number
  /** Attempts in all, the first included. */
  attemptsMax?: number
  /** Wait before a retry, ms, doubled each time. */
  retryDelayMs?: number
  offline?: OfflineStore
  fetch?: typeof fetch
  nowMs?: () => number
  sleep?: (ms: number) => Promise<void>
}

/** Worth sending again: busy, broken, or unreachable. Everything else is the answer. */
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504])
const ANSWER_BYTES_MAX = 1024 * 1024
const BATCH_SIZE_MAX = 100

export class TerminalClient {
  private readonly o: Required<Omit<TerminalClientOptions, 'offline'>> & { offline?: OfflineStore }

  constructor (options: TerminalClientOptions) {
    if (!/^https?:\/\//.test(options.baseUrl)) throw new TypeError(`baseUrl must be http(s)://…, got ${options.baseUrl}`)
    this.o = {
      timeoutMs: 3000,
      attemptsMax: 3,
      retryDelayMs: 200,
      fetch: globalThis.fetch,
      nowMs: Date.now,
      sleep: async ms => await new Promise(resolve => setTimeout(resolve, ms)),
      ...options,
      baseUrl: options.baseUrl.replace(/\/+$/, '')
    }
  }

  /** Decide one tap. Serialised once: retries and the offline upload send these bytes. */
  async tap (request: TapRequest): Promise<TapResult> {
    const body = JSON.stringify(request)
    const result = await this.call<TapResponse>('POST', '/v1/taps', body)
    if (result.kind === 'ok') return { kind: 'decision', answer: result.body, attempts: result.attempts }
    if (result.kind === 'error') return { kind: 'rejected', status: result.status, code: result.code, message: result.message, attempts: result.attempts }
    if (this.o.offline?.keep({ tapId: request.tapId, body }) === true) return { kind: 'kept-offline', reason: result.reason, attempts: result.attempts }
    return result
  }

  /** Upload kept taps (at most 100 per call) through /v1/taps/batch; removes each that got an answer. */
  async drainOffline (): Promise<{ sent: number, decided: number, left: number } | CallResult<never>> {
    const store = this.o.offline
    if (store === undefined) return { sent: 0, decided: 0, left: 0 }
    const kept = store.peek(BATCH_SIZE_MAX)
    if (kept.length === 0) return { sent: 0, decided: 0, left: 0 }
    // The batch body is built from the kept bytes, so each item is the same JSON value as first sent.
    const result = await this.call<TapBatchResponse>('POST', '/v1/taps/batch', `{"taps":[${kept.map(k => k.body).join(',')}]}`)
    if (result.kind !== 'ok') return result as CallResult<never>
    const done = kept.filter((_k, i) => {
      const status = result.body.results[i]?.status ?? 0
      return !RETRYABLE_STATUS.has(status) && status !== 0
    }).map(k => k.tapId)
    store.remove(done)
    return { sent: kept.length, decided: done.length, left: store.peek(BATCH_SIZE_MAX).length }
  }

  async batch (taps: TapRequest[]): Promise<CallResult<TapBatchResponse>> {
    return await this.call('POST', '/v1/taps/batch', JSON.stringify({ taps }))
  }

  async me (): Promise<CallResult<TerminalRegistration>> {
    return await this.call('GET', '/v1/terminal/me')
  }

  async reverse (tapId: string): Promise<CallResult<ReversalResponse>> {
    return await this.call('POST', `/v1/terminal/taps/${encodeURIComponent(tapId)}/reversal`)
  }

  /** One signed call with bounded, idempotent retries. */
  async call<T> (method: 'GET' | 'POST', path: string, body?: string): Promise<CallResult<T>> {
    let reason = ''
    for (let attempt = 1; attempt <= this.o.attemptsMax; attempt++) {
      if (attempt > 1) await this.o.sleep(this.o.retryDelayMs * 2 ** (attempt - 2))
      const timestamp = String(this.o.nowMs())
      const headers: Record<string, string> = {
        'x-terminal-id': this.o.terminalId,
        'x-timestamp': timestamp,
        'x-signature': sign(this.o.secret, method, path, timestamp, bodySha256Hex(body))
      }
      if (body !== undefined) headers['content-type'] = 'application/json'
      try {
        const response = await this.o.fetch(this.o.baseUrl + path, { method, headers, body, signal: AbortSignal.timeout(this.o.timeoutMs) })
        const text = await readBounded(response)
        if (response.status >= 200 && response.status < 300) return { kind: 'ok', status: response.status, body: JSON.parse(text) as T, attempts: attempt }
        const error = safeJson(text) as ErrorBody | undefined
        const code = error?.error?.code ?? `HTTP_${response.status}`
        if (!RETRYABLE_STATUS.has(response.status)) return { kind: 'error', status: response.status, code, message: error?.error?.message ?? '', attempts: attempt }
        reason = `${response.status} ${code}`
      } catch (err) {
        const e = err as Error
        reason = e.name === 'TimeoutError' || e.name === 'AbortError'
          ? `no answer within ${this.o.timeoutMs} ms from ${this.o.baseUrl}${path}`
          : `cannot reach ${this.o.baseUrl}${path}: ${(e.cause as Error | undefined)?.message ?? e.message}`
      }
    }
    return { kind: 'unavailable', reason, attempts: this.o.attemptsMax }
  }
}

/** A bounded in-memory OfflineStore (a real terminal keeps them on flash, same interface). */
export class MemoryOfflineStore implements OfflineStore {
  private readonly taps = new Map<string, KeptTap>()
  constructor (readonly capacity: number = 10_000) {}
  keep (tap: KeptTap): boolean {
    if (!this.taps.has(tap.tapId) && this.taps.size >= this.capacity) return false
    this.taps.set(tap.tapId, tap)
    return true
  }

  peek (max: number): KeptTap[] { return [...this.taps.values()].slice(0, max) }
  remove (tapIds: string[]): void { for (const id of tapIds) this.taps.delete(id) }
  get size (): number { return this.taps.size }
}

async function readBounded (response: Response): Promise<string> {
  if (response.body === null) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of response.body) {
    size += chunk.length
    if (size > ANSWER_BYTES_MAX) throw new Error(`answer over ${ANSWER_BYTES_MAX} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function safeJson (text: string): unknown {
  try { return JSON.parse(text) } catch { return undefined }
}
