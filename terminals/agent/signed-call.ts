// One signed terminal request (api-v1 "Terminal authentication") with a hard time budget and a
// bounded answer size. Every way it can end is a value; the callers (upload, deny list, heartbeat)
// decide what is final and what to try again. Signed over the exact bytes sent, path with query.
import { signedHeaders } from '../../src/auth/signature.js'
import { readBounded } from '../sdk/tap-poster.js'

export type CallOutcome =
  | { kind: 'answer', status: number, text: string }
  | { kind: 'timeout', budgetMs: number }
  | { kind: 'network', message: string }

export interface SignedCallOptions {
  serviceUrl: string
  terminalId: string
  secret: string
  fetch?: typeof fetch
  now?: () => number
}

export type SignedCall = (method: 'GET' | 'POST', pathAndQuery: string, body: Buffer | undefined, limits: { budgetMs: number, answerBytesMax: number }) => Promise<CallOutcome>

export function signedCall (o: SignedCallOptions): SignedCall {
  const doFetch = o.fetch ?? fetch
  return async (method, pathAndQuery, body, limits) => {
    const url = new URL(pathAndQuery, o.serviceUrl)
    const headers: Record<string, string> = signedHeaders({
      terminalId: o.terminalId, secret: o.secret, method, path: url.pathname + url.search, body, nowMs: o.now?.()
    })
    if (body !== undefined) headers['content-type'] = 'application/json'
    try {
      const res = await doFetch(url, { method, headers, body: body === undefined ? undefined : Uint8Array.from(body), signal: AbortSignal.timeout(limits.budgetMs) })
      return { kind: 'answer', status: res.status, text: await readBounded(res, limits.answerBytesMax) }
    } catch (err) {
      const e = err as Error
      if (e.name === 'TimeoutError' || e.name === 'AbortError') return { kind: 'timeout', budgetMs: limits.budgetMs }
      return { kind: 'network', message: (e.cause as Error | undefined)?.message ?? e.message }
    }
  }
}

/** The `error.code` of an error answer, or HTTP_<status>. */
export function errorCode (status: number, text: string): string {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code
    return typeof code === 'string' ? code : `HTTP_${status}`
  } catch {
    return `HTTP_${status}`
  }
}

export function describeFailure (o: CallOutcome): string {
  if (o.kind === 'timeout') return `no answer within ${o.budgetMs} ms`
  if (o.kind === 'network') return `network: ${o.message}`
  return `${o.status} ${errorCode(o.status, o.text)}`
}
