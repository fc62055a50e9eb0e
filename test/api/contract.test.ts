// The schemas in schemas/ are the contract integrators validate against: real answers of the
// running app must validate against them (and the request schemas must reject what they should).
import t from 'tap'
import { Ajv } from 'ajv'
import { loadSchemas } from '../../src/app.js'
import { signedHeaders } from '../../src/auth/signature.js'
import { demoSecret } from '../../src/service/demo-seed.js'
import { buildTestApp, localAt, physical, tapId } from '../helpers/app.js'

const ajv = new Ajv({ strict: false, allErrors: true })
for (const schema of loadSchemas()) ajv.addSchema(schema)
function valid (id: string, value: unknown): string {
  const validate = ajv.getSchema(id)
  if (validate === undefined) throw new Error(`no schema ${id}`)
  return validate(value) ? 'ok' : ajv.errorsText(validate.errors)
}

t.test('answers validate against their schemas', async t => {
  const h = await buildTestApp(t)
  t.equal(valid('health-response.json', (await h.app.inject('/healthz')).json()), 'ok')
  t.equal(valid('scenarios-response.json', (await h.app.inject('/v1/scenarios')).json()), 'ok')
  t.equal(valid('cities-response.json', (await h.app.inject('/v1/cities')).json()), 'ok')
  const card = physical('JN0000001', '370100')
  const approved = await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card })
  t.equal(valid('tap-response.json', approved.json), 'ok', 'approved tap')
  const declined = await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: physical('JN0000004', '370100') })
  t.equal(valid('tap-response.json', declined.json), 'ok', 'declined tap')
  const basket = await h.tap('jinan-pharmacy-01', { tapId: tapId(), at: localAt(), card, amount: 3000, context: { items: [{ code: 'X-J01CA04-amoxicillin', class: 'A', amount: 1000 }, { code: 'X-vitamin-c-chewable', class: 'self', amount: 2000 }] } })
  t.equal(valid('tap-response.json', basket.json), 'ok', 'split payment')
  t.equal(basket.json.payments.length, 2)
  const batch = await h.tap('jinan-bus-01', { taps: [{ tapId: tapId(), at: localAt(), card }, { tapId: tapId(), at: 'x'.repeat(25), card }] }, { url: '/v1/taps/batch' })
  t.equal(valid('tap-batch-response.json', batch.json), 'ok', 'batch')
  const error = await h.tap('jinan-bus-01', { tapId: 'bad id', at: localAt(), card })
  t.equal(valid('error.json', error.json), 'ok', 'error body')
  t.equal(valid('card.json', (await h.admin('GET', '/v1/admin/cards/JN0000001')).json), 'ok')
  t.equal(valid('card-taps-response.json', (await h.admin('GET', '/v1/admin/cards/JN0000001/taps')).json), 'ok')
  t.equal(valid('qr-response.json', (await h.admin('POST', '/v1/admin/cards/JN0000001/qr', {})).json), 'ok')
  t.equal(valid('terminal.json', (await h.admin('POST', '/v1/admin/terminals', { terminalId: 'ct-1', city: 'jinan', scenario: 'bus', operator: 'o' })).json), 'ok')
  const me = await h.app.inject({ method: 'GET', url: '/v1/terminal/me', headers: signedHeaders({ terminalId: 'jinan-bus-01', secret: demoSecret('jinan-bus-01'), method: 'GET', path: '/v1/terminal/me' }) })
  t.equal(valid('terminal.json', me.json()), 'ok')
  const url = `/v1/terminal/taps/${basket.json.tapId}/reversal`
  const reversal = await h.app.inject({ method: 'POST', url, headers: signedHeaders({ terminalId: 'jinan-pharmacy-01', secret: demoSecret('jinan-pharmacy-01'), method: 'POST', path: url }) })
  t.equal(valid('reversal-response.json', reversal.json()), 'ok')
})

t.test('request schemas accept the spec examples and reject unknown fields', async t => {
  t.equal(valid('tap-request.json', { tapId: 'bus-0001-000123', at: '2026-07-01T08:15:30.123+08:00', card: { type: 'physical', cardNo: 'A12345678', issuer: '370200' }, amount: 1234, context: {} }), 'ok')
  t.equal(valid('tap-request.json', { tapId: 'q1', at: '2026-07-01T08:15:30.123+08:00', card: { type: 'qr', qr: 'YKT1.x.y' } }), 'ok')
  t.not(valid('tap-request.json', { tapId: 'q1', at: '2026-07-01T08:15:30.123+08:00', card: { type: 'qr', qr: 'x' }, surprise: 1 }), 'ok')
  t.equal(valid('card-registration.json', { cardNo: 'A12345678', issuer: '370200', holder: { birthDate: '1950-03-01', categories: ['student'] }, expiresOn: '2031-12-31', accounts: { bank: 10000, medical: 5000 } }), 'ok')
  t.equal(valid('terminal-registration.json', { terminalId: 'jn-metro-1', city: 'jinan', scenario: 'metro', operator: 'jinan-metro', location: { station: 'jn-fangte' } }), 'ok')
})
