// A generated stream of bad input — malformed JSON, wrong types, oversized and deeply nested
// bodies, bad headers, odd URLs — gets only 4xx with the error body; the service stays up and
// the ledger is unchanged.
import t from 'tap'
import { request as httpRequest } from 'node:http'
import { signedHeaders } from '../../src/auth/signature.js'
import { checkStoredLedger } from '../helpers/engine.js'
import { demoSecret } from '../../src/service/demo-seed.js'
import { ADMIN_TOKEN, buildTestApp, localAt, physical, tapId } from '../helpers/app.js'

// A small deterministic PRNG so a failure reproduces.
function prng (seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32 }
}

const valid = (): Record<string, unknown> => ({ tapId: tapId('fz'), at: localAt(), card: physical('JN0000001', '370100') })
const WRONG_VALUES: unknown[] = [null, true, 0, -1, 1e308, 1.5, '', 'x'.repeat(5000), [], {}, [1, 2], { a: { b: 1 } }, '\u0000', '😀', '__proto__']

function mutations (random: () => number): Array<{ name: string, payload: string }> {
  const out: Array<{ name: string, payload: string }> = []
  const base = JSON.stringify(valid())
  out.push({ name: 'empty', payload: '' })
  out.push({ name: 'not json', payload: 'hello' })
  out.push({ name: 'truncated', payload: base.slice(0, base.length - 3) })
  out.push({ name: 'trailing garbage', payload: base + '}' })
  out.push({ name: 'array', payload: '[]' })
  out.push({ name: 'null', payload: 'null' })
  out.push({ name: 'number', payload: '42' })
  out.push({ name: 'proto pollution', payload: base.replace('{', '{"__proto__":{"admin":true},') })
  out.push({ name: 'constructor pollution', payload: base.replace('{', '{"constructor":{"prototype":{"x":1}},') })
  out.push({ name: 'deep array', payload: '['.repeat(5000) + ']'.repeat(5000) })
  out.push({ name: 'deep context', payload: JSON.stringify({ ...valid(), context: {} }).replace('"context":{}', `"context":{"a":${'['.repeat(3000)}${']'.repeat(3000)}}`) })
  out.push({ name: 'oversized', payload: JSON.stringify({ ...valid(), context: { pad: 'x'.repeat(20_000) } }) })
  out.push({ name: 'invalid utf-8', payload: base.replace('JN0000001', '\udc00\udc00') })
  for (const field of ['tapId', 'at', 'card', 'amount', 'context']) {
    for (const value of WRONG_VALUES) out.push({ name: `${field}=${JSON.stringify(value)?.slice(0, 20)}`, payload: JSON.stringify({ ...valid(), [field]: value }) })
  }
  for (const field of ['type', 'cardNo', 'issuer', 'qr']) {
    for (const value of WRONG_VALUES) out.push({ name: `card.${field}=${JSON.stringify(value)?.slice(0, 20)}`, payload: JSON.stringify({ ...valid(), card: { ...physical('JN0000001', '370100'), [field]: value } }) })
  }
  for (let i = 0; i < 60; i++) {
    const bytes = Buffer.from(base)
    const flips = 1 + Math.floor(random() * 4)
    for (let f = 0; f < flips; f++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256)
    out.push({ name: `random bytes #${i}`, payload: bytes.toString('latin1') })
  }
  return out
}

t.test('malformed tap bodies: 4xx with the error body, nothing recorded', async t => {
  const h = await buildTestApp(t)
  const before = (await h.admin('GET', '/v1/admin/cards/JN0000001')).json.balances.bank
  const random = prng(20261128)
  let approved = 0
  for (const { name, payload } of mutations(random)) {
    const headers = signedHeaders({ terminalId: 'jinan-bus-01', secret: demoSecret('jinan-bus-01'), method: 'POST', path: '/v1/taps', body: payload })
    const r = await h.app.inject({ method: 'POST', url: '/v1/taps', payload, headers: { ...headers, 'content-type': 'application/json' } })
    if (r.statusCode === 200) { approved += r.json().decision === 'approved' ? 1 : 0; continue } // a random flip may leave a valid tap
    t.ok(r.statusCode >= 400 && r.statusCode < 500, `${name}: 4xx (got ${r.statusCode})`)
    const body = r.json()
    t.type(body.error?.code, 'string', `${name}: error code`)
    t.type(body.error?.message, 'string', `${name}: error message`)
  }
  const after = (await h.admin('GET', '/v1/admin/cards/JN0000001')).json.balances.bank
  t.ok(before - after <= approved * 100 * 2, 'only taps that were still valid charged anything')
  t.same((await h.app.inject('/healthz')).json(), { status: 'ok' }, 'still up')
  t.ok((await checkStoredLedger(h)).ok)
})

t.test('bad headers, content types, methods and URLs: 4xx with the error body', async t => {
  const h = await buildTestApp(t)
  const payload = JSON.stringify(valid())
  const good = signedHeaders({ terminalId: 'jinan-bus-01', secret: demoSecret('jinan-bus-01'), method: 'POST', path: '/v1/taps', body: payload })
  const cases: Array<{ name: string, method?: string, url?: string, headers?: Record<string, string>, payload?: string }> = [
    { name: 'text/plain', headers: { ...good, 'content-type': 'text/plain' } },
    { name: 'no content type', headers: { ...good } },
    { name: 'form encoded', headers: { ...good, 'content-type': 'application/x-www-form-urlencoded' } },
    { name: 'terminal id with spaces', headers: { ...good, 'x-terminal-id': 'a b c', 'content-type': 'application/json' } },
    { name: 'very long terminal id', headers: { ...good, 'x-terminal-id': 'x'.repeat(4000), 'content-type': 'application/json' } },
    { name: 'huge timestamp', headers: { ...good, 'x-timestamp': '9'.repeat(400), 'content-type': 'application/json' } },
    { name: 'signature not hex', headers: { ...good, 'x-signature': 'zz'.repeat(32), 'content-type': 'application/json' } },
    { name: 'GET on taps', method: 'GET', headers: good },
    { name: 'DELETE on a card', method: 'DELETE', url: '/v1/admin/cards/JN0000001', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
    { name: 'card number too long', method: 'GET', url: '/v1/admin/cards/' + 'A'.repeat(300), headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
    { name: 'percent garbage', method: 'GET', url: '/v1/admin/cards/%E0%A4%A', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
    { name: 'admin body not json', method: 'POST', url: '/v1/admin/cards', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, payload: '{"cardNo":' },
    { name: 'credit with string amount', method: 'POST', url: '/v1/admin/cards/JN0000001/credits', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, payload: '{"account":"bank","amount":"100","reference":"r1"}' },
    { name: 'terminal patch with unknown field', method: 'PATCH', url: '/v1/admin/terminals/jinan-bus-01', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, payload: '{"status":"disabled","by":"me"}' },
    { name: 'audit page too large', method: 'GET', url: '/v1/admin/audit?limit=100000', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
    { name: 'audit cursor not a number', method: 'GET', url: '/v1/admin/audit?before=1e3', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
    { name: 'batch body too large', url: '/v1/taps/batch', headers: { ...good, 'content-type': 'application/json' }, payload: JSON.stringify({ taps: [valid()], pad: 'x'.repeat(600_000) }) }
  ]
  for (const c of cases) {
    const r = await h.app.inject({ method: (c.method ?? 'POST') as 'POST', url: c.url ?? '/v1/taps', headers: c.headers, payload: c.payload ?? (c.method === 'GET' ? undefined : payload) })
    t.ok(r.statusCode >= 400 && r.statusCode < 500, `${c.name}: 4xx (got ${r.statusCode})`)
    t.type(r.json().error?.code, 'string', `${c.name}: error body`)
  }
  t.equal((await h.admin('GET', '/v1/admin/cards/JN0000001')).json.balances.bank, 50000)
  t.same((await h.admin('GET', '/v1/admin/audit')).json.entries, [], 'no admin change was recorded: none happened')
})

t.test('oversized and garbage requests over a real socket keep the service up', async t => {
  const h = await buildTestApp(t)
  const url = new URL(await h.app.listen({ port: 0, host: '127.0.0.1' }))
  const send = async (body: Buffer, headers: Record<string, string>): Promise<number> => await new Promise((resolve) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: 'POST', path: '/v1/taps', headers }, res => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) })
    req.on('error', () => resolve(-1)) // the server may cut an oversized upload short
    req.end(body)
  })
  const big = Buffer.alloc(2 * 1024 * 1024, 0x61)
  const status = await send(big, { 'content-type': 'application/json', 'x-terminal-id': 'jinan-bus-01', 'x-timestamp': String(Date.now()), 'x-signature': '0'.repeat(64) })
  t.ok(status === 413 || status === -1, `2 MiB body refused (${status})`)
  const tap = await send(Buffer.from(JSON.stringify(valid())), { 'content-type': 'application/json', ...signedHeaders({ terminalId: 'jinan-bus-01', secret: demoSecret('jinan-bus-01'), method: 'POST', path: '/v1/taps', body: '' }) })
  t.equal(tap, 401, 'signature over the wrong body is refused')
  const health = await fetch(new URL('/healthz', url))
  t.equal(health.status, 200, 'still serving')
})
