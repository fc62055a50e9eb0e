import t from 'tap'
import { buildTestApp, localAt, physical, tapId } from '../helpers/app.js'

t.test('public endpoints: health, scenarios, cities, metrics', async t => {
  const h = await buildTestApp(t)
  const health = await h.app.inject('/healthz')
  t.same(health.json(), { status: 'ok' })
  const scenarios = (await h.app.inject('/v1/scenarios')).json()
  t.same(scenarios.domains.map((d: any) => d.code), ['hr', 'medical', 'transport', 'culture', 'government', 'finance'])
  for (const s of scenarios.scenarios) t.match(s, { code: String, domain: String, name: { zh: String, en: String }, pricedAtTerminal: Boolean, accounts: Array })
  const cities = (await h.app.inject('/v1/cities')).json()
  t.same(cities.cities.map((c: any) => [c.city, c.issuer]), [['jinan', '370100'], ['qingdao', '370200'], ['zhengzhou', '410100']])
  for (const c of cities.cities) {
    t.ok(c.metro.lines.length > 0, `${c.city} has metro lines`)
    t.ok(c.venues.some((v: any) => v.scenario === 'scenic'), `${c.city} has a scenic venue`)
  }
  await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: physical('JN0000001', '370100') })
  const metrics = await h.app.inject('/metrics')
  t.equal(metrics.statusCode, 200)
  t.match(metrics.body, /yikatong_tap_decisions_total\{scenario="bus",decision="approved",reason=""\} 1/)
  t.match(metrics.body, /yikatong_tap_latency_seconds_bucket/)
  t.match(metrics.body, /yikatong_group_commit_batch_size_count 1/)
  t.match(metrics.body, /yikatong_group_commit_seconds_sum/)
  t.match(metrics.body, /yikatong_http_requests_total\{route="\/v1\/taps",status="200"\} 1/)
})

t.test('terminal registration', async t => {
  const h = await buildTestApp(t, { seed: 'none' })
  const ok = await h.admin('POST', '/v1/admin/terminals', { terminalId: 'qd-bus-7', city: 'qingdao', scenario: 'bus', operator: 'qingdao-bus' })
  t.equal(ok.statusCode, 201)
  t.match(ok.json, { terminalId: 'qd-bus-7', city: 'qingdao', scenario: 'bus', operator: 'qingdao-bus', status: 'active', secret: String })
  t.ok(ok.json.secret.length >= 32, 'a strong random secret')
  const again = await h.admin('POST', '/v1/admin/terminals', { terminalId: 'qd-bus-7', city: 'qingdao', scenario: 'bus', operator: 'x' })
  t.equal(again.statusCode, 409)
  t.equal(again.json.error.code, 'CONFLICT')
  const bad: Array<[string, unknown]> = [
    ['bad id', { terminalId: 'has space', city: 'qingdao', scenario: 'bus', operator: 'o' }],
    ['unknown city', { terminalId: 'x1', city: 'beijing', scenario: 'bus', operator: 'o' }],
    ['unknown scenario', { terminalId: 'x2', city: 'qingdao', scenario: 'teleport', operator: 'o' }],
    ['unknown station', { terminalId: 'x3', city: 'qingdao', scenario: 'bus', operator: 'o', location: { station: 'nowhere' } }],
    ['unknown venue', { terminalId: 'x4', city: 'qingdao', scenario: 'bus', operator: 'o', location: { venue: 'nowhere' } }],
    ['library terminal at a scenic venue', { terminalId: 'x6', city: 'jinan', scenario: 'library', operator: 'o', location: { venue: 'jn-baotu-spring' } }],
    ['metro terminal without a station', { terminalId: 'x7', city: 'jinan', scenario: 'metro', operator: 'o' }],
    ['scenic terminal without a venue', { terminalId: 'x8', city: 'jinan', scenario: 'scenic', operator: 'o' }],
    ['metro station of another city', { terminalId: 'x9', city: 'jinan', scenario: 'metro', operator: 'o', location: { station: 'qd-wusilu' } }],
    ['extra field', { terminalId: 'x5', city: 'qingdao', scenario: 'bus', operator: 'o', colour: 'red' }]
  ]
  for (const [name, body] of bad) {
    const r = await h.admin('POST', '/v1/admin/terminals', body)
    t.equal(r.statusCode, 400, name)
    t.equal(r.json.error.code, 'BAD_REQUEST', name)
  }
  t.equal((await h.admin('GET', '/v1/admin/terminals/qd-bus-7')).json.secret, undefined, 'GET never shows the secret')
  t.equal((await h.admin('GET', '/v1/admin/terminals/none')).statusCode, 404)
})

t.test('cards: create, read, status, credits, taps', async t => {
  const h = await buildTestApp(t, { seed: 'none' })
  const body = { cardNo: 'A12345678', issuer: '370200', holder: { birthDate: '1950-03-01', categories: ['student'] }, expiresOn: '2031-12-31', accounts: { bank: 10000, medical: 5000 } }
  const created = await h.admin('POST', '/v1/admin/cards', body)
  t.equal(created.statusCode, 201)
  t.match(created.json, { cardNo: 'A12345678', issuer: '370200', status: 'active', expiresOn: '2031-12-31', holder: { birthDate: '1950-03-01', categories: ['student'] }, balances: { bank: 10000, medical: 5000 } })
  t.same((await h.admin('GET', '/v1/admin/cards/A12345678')).json, created.json, 'GET shows the card as created')
  t.equal((await h.admin('POST', '/v1/admin/cards', body)).statusCode, 409)
  const minimal = await h.admin('POST', '/v1/admin/cards', { cardNo: 'B12345678', issuer: '410100' })
  t.match(minimal.json, { status: 'active', expiresOn: null, balances: { bank: 0, medical: 0 } })

  for (const [name, bad] of [
    ['lowercase card number', { ...body, cardNo: 'a12345678' }],
    ['8 characters', { ...body, cardNo: 'A1234567' }],
    ['unknown issuer', { ...body, cardNo: 'C12345678', issuer: '110100' }],
    ['bad category', { ...body, cardNo: 'C12345678', holder: { categories: ['pilot'] } }],
    ['negative balance', { ...body, cardNo: 'C12345678', accounts: { bank: -1 } }],
    ['impossible date', { ...body, cardNo: 'C12345678', expiresOn: '2031-02-30' }]
  ] as Array<[string, unknown]>) {
    const r = await h.admin('POST', '/v1/admin/cards', bad)
    t.equal(r.statusCode, 400, name)
  }
  t.equal((await h.admin('GET', '/v1/admin/cards/ZZ9999999')).statusCode, 404)
  t.equal((await h.admin('GET', '/v1/admin/cards/bad')).statusCode, 400)
  t.equal((await h.admin('PATCH', '/v1/admin/cards/A12345678', { status: 'lost' })).json.status, 'lost')
  t.equal((await h.admin('PATCH', '/v1/admin/cards/A12345678', { status: 'stolen' })).statusCode, 400)
  t.equal((await h.admin('PATCH', '/v1/admin/cards/ZZ9999999', { status: 'lost' })).statusCode, 404)

  const credit = { account: 'bank', amount: 2500, reference: 'topup-1' }
  t.equal((await h.admin('POST', '/v1/admin/cards/A12345678/credits', credit)).json.balances.bank, 12500)
  t.equal((await h.admin('POST', '/v1/admin/cards/A12345678/credits', credit)).json.balances.bank, 12500, 'idempotent on reference')
  t.equal((await h.admin('POST', '/v1/admin/cards/A12345678/credits', { ...credit, amount: 1 })).statusCode, 409, 'reference reused for another credit')
  t.equal((await h.admin('POST', '/v1/admin/cards/A12345678/credits', { ...credit, amount: 0, reference: 'z' })).statusCode, 400)
  t.equal((await h.admin('POST', '/v1/admin/cards/ZZ9999999/credits', { ...credit, reference: 'y' })).statusCode, 404)
  t.same((await h.admin('GET', '/v1/admin/cards/A12345678/taps')).json, { taps: [] })
  t.equal((await h.admin('GET', '/v1/admin/cards/ZZ9999999/taps')).statusCode, 404)

  const check = await h.admin('GET', '/v1/admin/ledger/check')
  t.equal(check.json.ok, true, 'ledger invariants hold')
})

t.test('QR minting bounds', async t => {
  const h = await buildTestApp(t)
  t.equal((await h.admin('POST', '/v1/admin/cards/JN0000001/qr', {})).statusCode, 200, 'default ttl')
  t.equal((await h.admin('POST', '/v1/admin/cards/JN0000001/qr')).statusCode, 200, 'no body at all')
  t.equal((await h.admin('POST', '/v1/admin/cards/JN0000001/qr', { ttlSeconds: 301 })).statusCode, 400)
  t.equal((await h.admin('POST', '/v1/admin/cards/JN0000001/qr', { ttlSeconds: 0 })).statusCode, 400)
  t.equal((await h.admin('POST', '/v1/admin/cards/ZZ9999999/qr', {})).statusCode, 404)
  const r = await h.admin('POST', '/v1/admin/cards/JN0000001/qr', { ttlSeconds: 120 })
  const ttlMs = Date.parse(r.json.expiresAt) - Date.now()
  t.ok(ttlMs > 115_000 && ttlMs <= 120_000, `expires in ~120 s (${ttlMs} ms)`)
})

t.test('unknown routes and methods answer with the error body', async t => {
  const h = await buildTestApp(t)
  const r = await h.app.inject('/nope')
  t.equal(r.statusCode, 404)
  t.equal(r.json().error.code, 'NOT_FOUND')
})
