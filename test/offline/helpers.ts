// Calls of the offline tests: a terminal's signed batch upload, deny-list read and heartbeat.
import { signedHeaders } from '../../src/auth/signature.js'
import { demoSecret } from '../../src/service/demo-seed.js'
import type { TestApp } from '../helpers/app.js'

export async function upload (h: TestApp, terminalId: string, taps: unknown[]): Promise<{ statusCode: number, json: any }> {
  const r = await h.tap(terminalId, { taps }, { url: '/v1/taps/batch' })
  return { statusCode: r.statusCode, json: r.json }
}

export async function terminalGet (h: TestApp, terminalId: string, url: string): Promise<{ statusCode: number, json: any }> {
  const headers = signedHeaders({ terminalId, secret: demoSecret(terminalId), method: 'GET', path: url })
  const r = await h.app.inject({ method: 'GET', url, headers })
  return { statusCode: r.statusCode, json: JSON.parse(r.body) }
}

/** A signed POST; no body when `body` is undefined (a reversal). */
export async function terminalPost (h: TestApp, terminalId: string, url: string, body?: unknown): Promise<{ statusCode: number, body: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  const headers = signedHeaders({ terminalId, secret: demoSecret(terminalId), method: 'POST', path: url, ...(payload === undefined ? {} : { body: payload }) })
  const r = await h.app.inject({ method: 'POST', url, ...(payload === undefined ? { headers } : { payload, headers: { ...headers, 'content-type': 'application/json' } }) })
  return { statusCode: r.statusCode, body: r.body }
}
