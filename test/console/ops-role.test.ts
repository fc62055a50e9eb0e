// The read-only ops role (OPS_TOKEN): reads the console data, settlement, ledger check and
// terminal registrations; every mutation and every card read is 403; a wrong token is 401.
// /readyz answers ready on a writable ledger.
import t from 'tap'
import type { SqliteEngine } from '../../src/ledger/sqlite-engine.js'
import { buildTestApp } from '../helpers/app.js'
import { sqliteOnly } from '../helpers/engine.js'

const OPS = 'ops-token-for-tests-0123'

t.test('ops token reads, never mutates', async t => {
  const h = await buildTestApp(t, { opsToken: OPS })
  const as = async (token: string, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown): Promise<number> =>
    (await h.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload: payload as object }) })).statusCode
  for (const url of ['/v1/admin/ledger/check', '/v1/admin/settlement?from=2026-07-01&to=2026-07-02', '/v1/admin/terminals/jinan-bus-01', '/console/api/session', '/console/api/stats']) {
    t.equal(await as(OPS, 'GET', url), 200, `ops may GET ${url}`)
  }
  t.same((await h.app.inject({ url: '/console/api/session', headers: { authorization: `Bearer ${OPS}` } })).json(), { role: 'ops' })
  t.equal(await as(OPS, 'GET', '/v1/admin/cards/JN0000001'), 403, 'a card (its holder) is not for the ops role')
  t.equal(await as(OPS, 'GET', '/v1/admin/cards/JN0000001/taps'), 403)
  t.equal(await as(OPS, 'POST', '/v1/admin/cards/JN0000001/credits', { account: 'bank', amount: 1, reference: 'ops-1' }), 403, 'no credits')
  t.equal(await as(OPS, 'PATCH', '/v1/admin/terminals/jinan-bus-01', { status: 'disabled' }), 403, 'no terminal changes')
  t.equal(await as(OPS, 'POST', '/v1/admin/cards/JN0000001/qr', {}), 403, 'no QR minting')
  t.equal((await h.admin('GET', '/v1/admin/cards/JN0000001')).json.balances.bank, 50_000, 'nothing changed')
  t.equal(await as('wrong-token-0123456789', 'GET', '/v1/admin/ledger/check'), 401)
  t.equal(await as('wrong-token-0123456789', 'GET', '/console/api/stats'), 401)
  t.equal((await h.app.inject('/console/api/stats')).statusCode, 401, 'no token, no data')
  t.equal(await as('test-admin-token', 'GET', '/console/api/stats'), 200, 'the admin token works too')
})

t.test('without OPS_TOKEN there is no ops role', async t => {
  const h = await buildTestApp(t)
  t.equal((await h.app.inject({ url: '/v1/admin/ledger/check', headers: { authorization: `Bearer ${OPS}` } })).statusCode, 401)
})

t.test('/readyz', sqliteOnly('kills the SQLite writer thread'), async t => {
  const h = await buildTestApp(t)
  const ready = await h.app.inject('/readyz')
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready' })
  await (h.engine as SqliteEngine).killWriter()
  const closed = await h.app.inject('/readyz')
  t.equal(closed.statusCode, 503)
  t.equal(closed.json().error.code, 'OVERLOADED')
})
