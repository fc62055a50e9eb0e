// Logs that help ops: ISO times, X-Request-Id accepted (bounded, validated) and echoed, one warn
// line with the error code for every rejected request (400/401/403/413/415/429), rounded latency,
// and a card token that stays the same across restarts when the key comes from configuration.
import t from 'tap'
import { cardTokenKey } from '../src/ops/card-token-key.js'
import { buildTestApp, localAt, physical, tapId, tempDbPath } from './helpers/app.js'
import { signedHeaders } from '../src/auth/signature.js'
import { demoSecret } from '../src/service/demo-seed.js'

const lines = (h: { logLines: string[] }): any[] => h.logLines.map(l => JSON.parse(l))

t.test('X-Request-Id: a plain one is echoed and logged, anything else replaced by a UUID', async t => {
  const h = await buildTestApp(t)
  const kept = await h.app.inject({ url: '/healthz', headers: { 'x-request-id': 'lb-7f3a.01:x' } })
  t.equal(kept.headers['x-request-id'], 'lb-7f3a.01:x')
  for (const bad of ['x'.repeat(129), 'has space', 'ünï', '<script>']) {
    const replaced = await h.app.inject({ url: '/healthz', headers: { 'x-request-id': bad } })
    t.match(replaced.headers['x-request-id'], /^[0-9a-f-]{36}$/, `${JSON.stringify(bad.slice(0, 12))} is replaced`)
  }
  const fresh = await h.app.inject({ url: '/healthz' })
  t.match(fresh.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'generated when absent')
  const line = lines(h).find(l => l.reqId === 'lb-7f3a.01:x')
  t.ok(line, 'the caller\'s id is on the line')
  t.match(line.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'ISO time')
  t.equal(line.latencyMs, Math.round(line.latencyMs * 1000) / 1000, 'latency rounded to 0.001 ms')
})

t.test('one rejected line with its code for each of 400, 401, 403, 413, 415, 429', async t => {
  const h = await buildTestApp(t, { tapBodyBytesMax: 2048, rateLimit: { ratePerSecond: 0.001, burst: 1 }, opsToken: 'ops-role-token-123456' })
  const good = { tapId: tapId(), at: localAt(), card: physical('JN0000001', '370100') }
  const expectations: Array<[number, string, () => Promise<unknown>]> = [
    [400, 'BAD_REQUEST', async () => await h.tap('jinan-bus-01', { ...good, extra: 1 })],
    [401, 'UNAUTHENTICATED', async () => await h.tap('jinan-bus-01', good, { secret: 'wrong' })],
    [403, 'FORBIDDEN', async () => await h.app.inject({ method: 'POST', url: '/v1/admin/cards', headers: { authorization: 'Bearer ops-role-token-123456' }, payload: {} })],
    [413, 'PAYLOAD_TOO_LARGE', async () => await h.tap('jinan-metro-01', { ...good, context: { pad: 'x'.repeat(4000) } })],
    [415, 'UNSUPPORTED_MEDIA_TYPE', async () => await h.app.inject({ method: 'POST', url: '/v1/admin/cards', payload: 'x=1', headers: { authorization: 'Bearer test-admin-token', 'content-type': 'application/x-www-form-urlencoded' } })],
    [429, 'RATE_LIMITED', async () => { await h.tap('qingdao-bus-01', { ...good, tapId: tapId() }); return await h.tap('qingdao-bus-01', { ...good, tapId: tapId() }) }]
  ]
  for (const [status, code, send] of expectations) {
    const before = h.logLines.length
    const answer = await send() as { statusCode: number }
    t.equal(answer.statusCode, status, `${code} answered ${status}`)
    const rejected = lines({ logLines: h.logLines.slice(before) }).filter(l => l.msg === 'rejected')
    t.equal(rejected.length, 1, `one rejected line for ${status}`)
    t.match(rejected[0], { level: 40, status, code })
  }
})

t.test('card tokens are stable across restarts with a configured key, and differ between keys', async t => {
  const dbPath = tempDbPath(t)
  const key = cardTokenKey({ envValue: undefined, dbPath })
  t.equal(cardTokenKey({ envValue: undefined, dbPath }).key.toString(), key.key.toString(), 'the key file is reused')
  t.throws(() => cardTokenKey({ envValue: 'short', dbPath }), { code: 'CARD_TOKEN_KEY_INVALID' })
  const tokenOf = async (k: Buffer): Promise<string> => {
    const h = await buildTestApp(t, { cardTokenKey: k })
    await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: physical('JN0000001', '370100') })
    await h.app.close()
    return lines(h).find(l => l.msg === 'tap').card
  }
  const first = await tokenOf(key.key)
  t.equal(await tokenOf(key.key), first, 'same key, same token after a restart')
  t.not(await tokenOf(Buffer.from('another-key-of-at-least-32-characters!')), first, 'another key, another token')
  t.match(first, /^card_[0-9a-f]{12}$/)
})

t.test('a signed tap carries the request id in its tap line', async t => {
  const h = await buildTestApp(t)
  const body = JSON.stringify({ tapId: tapId(), at: localAt(), card: physical('JN0000001', '370100') })
  const headers = signedHeaders({ terminalId: 'jinan-bus-01', secret: demoSecret('jinan-bus-01'), method: 'POST', path: '/v1/taps', body })
  const answer = await h.app.inject({ method: 'POST', url: '/v1/taps', payload: body, headers: { ...headers, 'content-type': 'application/json', 'x-request-id': 'term-42' } })
  t.equal(answer.headers['x-request-id'], 'term-42')
  t.match(lines(h).find(l => l.msg === 'tap'), { reqId: 'term-42', terminal: 'jinan-bus-01' })
})
