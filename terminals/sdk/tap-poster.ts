// Terminal SDK: one signed POST /v1/taps with a hard time budget. Every way it can end is a value,
// the caller decides what to retry.
import type { TapAnswer } from '../../src/api/tap-answer.js'
import { signedHeaders } from '../../src/auth/signature.js'

export type { TapAnswer }

export type PostResult =
  | { kind: 'answer', answer: TapAnswer }
  | { kind: 'error', status: number, code: string, message: string, retryable: boolean }
  | { kind: 'timeout', budgetMs: number }
  | { kind: 'network', message: string }

export interface TapClientOptions {
  serviceUrl: string
  terminalId: string
  secret: string
  budgetMs: number
  responseBytesMax?: number
  fetch?: typeof fetch
  now?: () => number
}

const TAPS_PATH = '/v1/taps'
/** Worth sending the same tap again: the service was busy, or broke, or we could not reach it. */
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504])

export type TapPoster = (body: Buffer) => Promise<PostResult>

export function tapPoster (opts: TapClientOptions): TapPoster {
  const url = new URL(TAPS_PATH, opts.serviceUrl)
  const doFetch = opts.fetch ?? fetch
  const bytesMax = opts.responseBytesMax ?? 64 * 1024
  return async body => {
    const headers = signedHeaders({
      terminalId: opts.terminalId, secret: opts.secret, method: 'POST', path: url.pathname + url.search, body, nowMs: opts.now?.()
    })
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: Uint8Array.from(body),
        signal: AbortSignal.timeout(opts.budgetMs)
      })
      const text = await readBounded(res, bytesMax)
      return res.status === 200 ? parseAnswer(text) : parseError(res.status, text)
    } catch (err) {
      const e = err as Error
      if (e.name === 'TimeoutError' || e.name === 'AbortError') return { kind: 'timeout', budgetMs: opts.budgetMs }
      return { kind: 'network', message: (e.cause as Error | undefined)?.message ?? e.message }
    }
  }
}

/** The answer's text, refused past `bytesMax` (the rest is not read: a hostile or broken peer
 *  cannot make a terminal buffer without bound). */
export async function readBounded (res: Response, bytesMax: number): Promise<string> {
  if (res.body === null) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of res.body) {
    size += chunk.length
    if (size > bytesMax) {
      await res.body.cancel().catch(() => {})
      throw new Error(`answer over ${bytesMax} bytes`)
    }
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function parseAnswer (text: string): PostResult {
  const a = safeJson(text) as Partial<TapAnswer> | undefined
  const ok = a !== undefined && (a.decision === 'approved' || a.decision === 'declined') &&
    typeof a.amount === 'number' && typeof a.message?.zh === 'string' && typeof a.message?.en === 'string'
  if (!ok) return { kind: 'error', status: 200, code: 'BAD_ANSWER', message: 'answer is not a tap decision', retryable: false }
  return { kind: 'answer', answer: a as TapAnswer }
}

function parseError (status: number, text: string): PostResult {
  const body = safeJson(text) as { error?: { code?: unknown, message?: unknown } } | undefined
  const code = typeof body?.error?.code === 'string' ? body.error.code : `HTTP_${status}`
  const message = typeof body?.error?.message === 'string' ? body.error.message : ''
  return { kind: 'error', status, code, message, retryable: RETRYABLE_STATUS.has(status) }
}

function safeJson (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
