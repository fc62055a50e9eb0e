import t from 'tap'
import { signedHeaders } from '../../src/auth/signature.js'
import { demoSecret } from '../../src/service/demo-seed.js'
import { buildTestApp, localAt, physical, tapId } from '../helpers/app.js'

const card = physical('JN0000001', '370100')

t.test('terminal signatures: good, bad, stale, unknown, missing', async t => {
  const h = await buildTestApp(t)
  const body = JSON.stringify({ tapId: tapId(), at: localAt(), card })
  const send = async (headers: Record<string, string>, payload = body, url = '/v1/taps') =>
    await h.app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json', ...headers } })
  const good = signedHeaders({ terminalId: 'jinan-bus-01', secret: demoSecret('jinan-bus-01'), method: 'POST', path: '/v1/taps', body })
  t.equal((await send(good)).statusCode, 200, 'good signature')

  const cases: Array<[string, Record<string, string>, string?]> = [
    ['wrong secret', signedHeaders({ terminalId: 'jinan-bus-01', secret: 'nope', method: 'POST', path: '/v1/taps', body })],
    ['signature over another body', good, body.replace('JN0000001', 'JN0000002')],
    ['signature over another path', signedHeaders({ terminalId: 'jinan-bus-01', secret: demoSecret('jinan-bus-01'), method: 'POST', path: '/v1/taps?x=1', body })],
    ['stale timestamp', signedHeaders({ terminalId: 'jinan-bus-01', secret: demoSecret('jinan-bus-01'), method: 'POST', path: '/v1/taps', body, nowMs: Date.now() - 301_000 })],
    ['future timestamp', signedHeaders({ terminalId: 'jinan-bus-01', secret: demoSecret('jinan-bus-01'), method: 'POST', path: '/v1/taps', body, nowMs: Date.now() + 301_000 })],
    ['unknown terminal', signedHeaders({ terminalId: 'nobody', secret: demoSecret('nobody'), method: 'POST', path: '/v1/taps', body })],
    ['missing signature', { 'x-terminal-id': 'jinan-bus-01', 'x-timestamp': String(Date.now()) }],
    ['uppercase hex signature', { ...good, 'x-signature': good['x-signature']!.toUpperCase() }],
    ['non-numeric timestamp', { ...good, 'x-timestamp': 'now' }],
    ['no headers', {}]
  ]
  for (const [name, headers, payload] of cases) {
    const r = await send(headers, payload)
    t.equal(r.statusCode, 401, name)
    t.equal(r.json().error.code, 'UNAUTHENTICATED', name)
  }
  t.equal((await h.admin('GET', '/v1/admin/cards/JN0000001/taps')).json.taps.length, 1, 'only the good tap was recorded')
})

t.test('a disabled terminal gets 403, and works again when re-enabled', async t => {
  const h = await buildTestApp(t)
  t.equal((await h.admin('PATCH', '/v1/admin/terminals/jinan-bus-01', { status: 'disabled' })).json.status, 'disabled')
  const r = await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card })
  t.equal(r.statusCode, 403)
  t.equal(r.json.error.code, 'FORBIDDEN')
  await h.admin('PATCH', '/v1/admin/terminals/jinan-bus-01', { status: 'active' })
  t.equal((await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card })).statusCode, 200)
})

t.test('a terminal over its rate gets 429', async t => {
  const h = await buildTestApp(t, { rateLimit: { ratePerSecond: 1, burst: 3 } })
  const statuses: number[] = []
  for (let i = 0; i < 5; i++) statuses.push((await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card })).statusCode)
  t.same(statuses.slice(0, 3), [200, 200, 200])
  t.equal(statuses[4], 429)
  const r = await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card })
  t.equal(r.json.error.code, 'RATE_LIMITED')
  t.equal((await h.tap('qingdao-bus-01', { tapId: tapId(), at: localAt(), card })).statusCode, 200, 'other terminals unaffected')
})

t.test('GET /v1/terminal/me is signed too and never shows the secret', async t => {
  const h = await buildTestApp(t)
  const headers = signedHeaders({ terminalId: 'jinan-bus-01', secret: demoSecret('jinan-bus-01'), method: 'GET', path: '/v1/terminal/me' })
  const r = await h.app.inject({ method: 'GET', url: '/v1/terminal/me', headers })
  t.equal(r.statusCode, 200)
  t.match(r.json(), { terminalId: 'jinan-bus-01', city: 'jinan', scenario: 'bus', operator: String, status: 'active' })
  t.notOk('secret' in r.json())
})

t.test('admin token: missing or wrong → 401', async t => {
  const h = await buildTestApp(t)
  for (const authorization of [undefined, 'Bearer wrong', 'Basic dGVzdA==', 'Bearer ', 'test-admin-token']) {
    const r = await h.app.inject({ method: 'GET', url: '/v1/admin/cards/JN0000001', headers: authorization === undefined ? {} : { authorization } })
    t.equal(r.statusCode, 401, String(authorization))
    t.equal(r.json().error.code, 'UNAUTHENTICATED')
  }
})
