// A small signed HTTP client over real sockets for tests against a listening service.
import { signedHeaders } from '../../src/auth/signature.js'

export interface HttpAnswer { status: number, body: string, json: any }

export async function postSigned (baseUrl: string, terminalId: string, secret: string, path: string, body: unknown, timeoutMs = 10_000): Promise<HttpAnswer> {
  const payload = JSON.stringify(body)
  const headers = signedHeaders({ terminalId, secret, method: 'POST', path, body: payload })
  const response = await fetch(baseUrl + path, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: payload,
    signal: AbortSignal.timeout(timeoutMs)
  })
  const text = await response.text()
  let json: any
  try { json = JSON.parse(text) } catch { json = undefined }
  return { status: response.status, body: text, json }
}

export async function adminCall (baseUrl: string, token: string, method: string, path: string, body?: unknown): Promise<HttpAnswer> {
  const response = await fetch(baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000)
  })
  const text = await response.text()
  let json: any
  try { json = JSON.parse(text) } catch { json = undefined }
  return { status: response.status, body: text, json }
}
