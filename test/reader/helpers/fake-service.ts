// A stand-in for POST /v1/taps: checks the signature like the service does, records every request
// (raw body bytes included) and answers what the test says. Used where the real service would only
// add start-up time (the end-to-end test uses the real one).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { bodySha256Hex, sign } from '../../../src/auth/signature.js'

export interface SeenTap { tapId: string, raw: Buffer, body: Record<string, unknown>, signatureOk: boolean, path: string }

export type Answer = (tap: SeenTap, n: number) => { status: number, body: unknown, delayMs?: number } | 'hang'

export interface FakeService { url: string, taps: SeenTap[], answer: Answer, close: () => Promise<void> }

export async function fakeService (secret: string, answer: Answer): Promise<FakeService> {
  const svc: FakeService = { url: '', taps: [], answer, close: async () => {} }
  const server = createServer((req, res) => { void handle(svc, secret, req, res) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  svc.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  svc.close = () => new Promise(resolve => { server.closeAllConnections(); server.close(() => resolve()) })
  return svc
}

async function handle (svc: FakeService, secret: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  const raw = Buffer.concat(chunks)
  const ts = String(req.headers['x-timestamp'])
  const expected = sign(secret, 'POST', req.url ?? '', ts, bodySha256Hex(raw))
  const body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>
  const seen: SeenTap = { tapId: String(body.tapId), raw, body, signatureOk: expected === req.headers['x-signature'], path: req.url ?? '' }
  svc.taps.push(seen)
  const a = svc.answer(seen, svc.taps.length)
  if (a === 'hang') return
  if (a.delayMs !== undefined) await new Promise(resolve => setTimeout(resolve, a.delayMs))
  if (res.destroyed) return
  res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.body))
}

export function approved (tapId: string, amount = 100, balance = 49_900): unknown {
  return { tapId, decision: 'approved', amount, account: 'bank', balance, authCode: 'A1', message: { zh: '刷卡成功', en: 'Approved' } }
}

export function declined (tapId: string, reason: string): unknown {
  return { tapId, decision: 'declined', reason, amount: 0, message: { zh: '余额不足', en: 'Insufficient funds' } }
}
