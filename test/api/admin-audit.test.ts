// The admin audit trail, as the incidents it is for: a terminal went dark and someone asks who
// disabled it; a refused or rolled-back change must leave no row (else the trail lies), a committed
// one always has one; the trail never holds a card number in clear; the read-only ops role can read
// it and still change nothing; pages are bounded and bad parameters change nothing.
import t from 'tap'
import pg from 'pg'
import type { SqliteEngine } from '../../src/ledger/sqlite-engine.js'
import { AUDIT_PAGE_ROWS_MAX } from '../../src/constants.js'
import { ADMIN_TOKEN, buildTestApp, localAt, physical, tapId, type TestApp } from '../helpers/app.js'
import { postgresOnly, sqliteOnly } from '../helpers/engine.js'

const OPS = 'ops-token-for-audit-tests'
const NEW_CARD = { cardNo: 'AUD000001', issuer: '370100', holder: { birthDate: '1961-02-03', categories: ['veteran'] }, accounts: { bank: 1_000 } }

type Method = 'GET' | 'POST' | 'PATCH'
async function call (h: TestApp, o: { method?: Method, url: string, token?: string, body?: unknown, ip?: string, requestId?: string }): Promise<{ statusCode: number, json: any }> {
  const r = await h.app.inject({
    method: o.method ?? 'GET',
    url: o.url,
    remoteAddress: o.ip ?? '127.0.0.1',
    headers: {
      authorization: `Bearer ${o.token ?? ADMIN_TOKEN}`,
      ...(o.requestId === undefined ? {} : { 'x-request-id': o.requestId }),
      ...(o.body === undefined ? {} : { 'content-type': 'application/json' })
    },
    ...(o.body === undefined ? {} : { payload: JSON.stringify(o.body) })
  })
  return { statusCode: r.statusCode, json: r.json() }
}

async function auditRows (h: TestApp): Promise<any[]> {
  return await h.query('SELECT * FROM admin_audit ORDER BY id')
}

t.test('incident: jinan-bus-01 stopped taking taps — who disabled it, when, from where?', async t => {
  const h = await buildTestApp(t, { opsToken: OPS })
  t.same(await auditRows(h), [], 'the demo seed is not an admin change: the trail starts empty')
  const before = Date.now()
  const disabled = await call(h, { method: 'PATCH', url: '/v1/admin/terminals/jinan-bus-01', body: { status: 'disabled' }, ip: '10.20.30.40', requestId: 'change-7781' })
  t.equal(disabled.statusCode, 200)
  // Unrelated changes after it, so the answer has to be found, not just be the last row.
  await call(h, { method: 'PATCH', url: '/v1/admin/terminals/qingdao-bus-01', body: { status: 'disabled' } })
  await call(h, { method: 'POST', url: '/v1/admin/cards/JN0000001/credits', body: { account: 'bank', amount: 100, reference: 'noise-1' } })
  const tap = await h.tap('jinan-bus-01', { tapId: tapId('dark'), at: localAt(), card: physical('JN0000001', '370100') })
  t.equal(tap.statusCode, 403, 'the terminal is refused')

  // The on-call engineer holds the read-only ops token, not the admin one.
  const answer = await call(h, { url: '/v1/admin/audit?target=jinan-bus-01', token: OPS })
  t.equal(answer.statusCode, 200)
  t.equal(answer.json.entries.length, 1)
  const entry = answer.json.entries[0]
  t.match(entry, {
    actor: 'admin',
    action: 'terminal.status',
    target: { kind: 'terminal', id: 'jinan-bus-01' },
    requestId: 'change-7781',
    clientIp: '10.20.30.40',
    detail: { from: 'active', to: 'disabled' }
  })
  t.ok(entry.atMs >= before && entry.atMs <= Date.now(), 'when, in ms')
  t.equal(entry.at, new Date(entry.atMs).toISOString())
  t.notOk(JSON.stringify(answer.json).includes(ADMIN_TOKEN), 'the token itself is never recorded')
  const line = h.logLines.map(l => JSON.parse(l)).find(l => l.msg === 'admin change' && l.reqId === 'change-7781')
  t.match(line, { audit: { action: 'terminal.status', target: 'jinan-bus-01', actor: 'admin', clientIp: '10.20.30.40' } }, 'and the same in the log stream')
})

t.test('incident: a student says their card was frozen — who did it?', async t => {
  const h = await buildTestApp(t, { opsToken: OPS })
  await call(h, { method: 'PATCH', url: '/v1/admin/cards/JN0000001', body: { status: 'lost' } })
  await call(h, { method: 'PATCH', url: '/v1/admin/cards/JN0000003', body: { status: 'frozen' }, ip: '192.0.2.9', requestId: 'desk-4-0815' })
  await call(h, { method: 'PATCH', url: '/v1/admin/terminals/jinan-bus-01', body: { status: 'disabled' } })
  const trail = await call(h, { url: '/v1/admin/cards/JN0000003/audit' })
  t.equal(trail.statusCode, 200)
  t.match(trail.json.entries, [{ action: 'card.status', clientIp: '192.0.2.9', requestId: 'desk-4-0815', detail: { from: 'active', to: 'frozen' } }])
  t.equal(trail.json.entries.length, 1, 'only that card\'s rows')
  t.equal(trail.json.entries[0].target.id, h.service.cardTokenOf('JN0000003'))
  t.same((await call(h, { url: `/v1/admin/audit?target=${h.service.cardTokenOf('JN0000003')}` })).json, trail.json, 'the same by token')
  const line = h.logLines.find(l => l.includes('/cards/') && l.includes('"msg":"request"'))
  t.ok(line !== undefined && !line.includes('JN0000003'), 'the card number in the path is a token in the log')
  t.equal((await call(h, { url: '/v1/admin/cards/JN0000003/audit', token: OPS })).statusCode, 403, 'a card route: not for the ops role')
  t.equal((await call(h, { url: '/v1/admin/cards/NOCARD001/audit' })).statusCode, 404)
  t.equal((await call(h, { url: '/v1/admin/cards/JN0000003/audit?target=jinan-bus-01' })).statusCode, 400, 'no other target on a card\'s trail')
})

t.test('every kind of admin change is recorded, newest first, with what changed', async t => {
  const h = await buildTestApp(t)
  t.equal((await call(h, { method: 'POST', url: '/v1/admin/cards', body: NEW_CARD })).statusCode, 201)
  t.equal((await call(h, { method: 'PATCH', url: '/v1/admin/cards/AUD000001', body: { status: 'frozen' } })).statusCode, 200)
  t.equal((await call(h, { method: 'POST', url: '/v1/admin/cards/AUD000001/credits', body: { account: 'medical', amount: 250, reference: 'top-up-9' } })).statusCode, 200)
  t.equal((await call(h, { method: 'POST', url: '/v1/admin/cards/AUD000001/credits', body: { account: 'medical', amount: 250, reference: 'top-up-9' } })).statusCode, 200, 'a repeat')
  t.equal((await call(h, { method: 'POST', url: '/v1/admin/cards/AUD000001/qr', body: { ttlSeconds: 30 } })).statusCode, 200)
  const registered = await call(h, { method: 'POST', url: '/v1/admin/terminals', body: { terminalId: 'audit-bus-1', city: 'jinan', scenario: 'bus', operator: 'jinan-bus' } })
  t.equal(registered.statusCode, 201)
  t.equal((await call(h, { method: 'PATCH', url: '/v1/admin/terminals/audit-bus-1', body: { status: 'disabled' } })).statusCode, 200)

  const { entries } = (await call(h, { url: '/v1/admin/audit' })).json
  t.same(entries.map((e: any) => e.action), ['terminal.status', 'terminal.register', 'card.qr', 'card.credit', 'card.credit', 'card.status', 'card.create'])
  const ids = entries.map((e: any) => e.id)
  t.same(ids, [...ids].sort((a: number, b: number) => b - a), 'newest first')
  const [status, register, qr, repeat, credit, frozen, created] = entries
  t.same(status.detail, { from: 'active', to: 'disabled' })
  t.same(register.detail, { city: 'jinan', scenario: 'bus', operator: 'jinan-bus', location: {} })
  t.notOk(JSON.stringify(register).includes(registered.json.secret), 'never the terminal secret')
  t.same(qr.detail, { ttlSeconds: 30 })
  t.same(credit.detail, { account: 'medical', amount: 250, reference: 'top-up-9', repeat: false })
  t.same(repeat.detail, { account: 'medical', amount: 250, reference: 'top-up-9', repeat: true }, 'a repeat is marked: it moved no money')
  t.same(frozen.detail, { from: 'active', to: 'frozen' })
  t.same(created.detail, { issuer: '370100', status: 'active', openingBalances: { bank: 1_000 } })
  const cardTargets = new Set([qr, repeat, credit, frozen, created].map(e => e.target.id))
  t.equal(cardTargets.size, 1, 'one card, one token')
  t.match([...cardTargets][0], /^card_[0-9a-f]{12}$/, 'the card is named by its log token')
  t.equal([...cardTargets][0], h.service.cardTokenOf('AUD000001'))
})

t.test('a refused change leaves no audit row, and changes nothing', async t => {
  const h = await buildTestApp(t, { opsToken: OPS })
  await call(h, { method: 'POST', url: '/v1/admin/cards', body: NEW_CARD })
  await call(h, { method: 'POST', url: '/v1/admin/cards/AUD000001/credits', body: { account: 'bank', amount: 5, reference: 'once' } })
  const rowsBefore = await auditRows(h)
  const cardBefore = (await call(h, { url: '/v1/admin/cards/AUD000001' })).json
  const refused: Array<[number, Parameters<typeof call>[1]]> = [
    [404, { method: 'PATCH', url: '/v1/admin/cards/NOCARD001', body: { status: 'frozen' } }],
    [404, { method: 'POST', url: '/v1/admin/cards/NOCARD001/credits', body: { account: 'bank', amount: 5, reference: 'x-1' } }],
    [404, { method: 'POST', url: '/v1/admin/cards/NOCARD001/qr', body: {} }],
    [409, { method: 'POST', url: '/v1/admin/cards', body: NEW_CARD }],
    [409, { method: 'POST', url: '/v1/admin/cards/AUD000001/credits', body: { account: 'bank', amount: 6, reference: 'once' } }],
    [409, { method: 'POST', url: '/v1/admin/terminals', body: { terminalId: 'jinan-bus-01', city: 'jinan', scenario: 'bus', operator: 'x' } }],
    [404, { method: 'PATCH', url: '/v1/admin/terminals/no-such-terminal', body: { status: 'disabled' } }],
    [400, { method: 'PATCH', url: '/v1/admin/terminals/jinan-bus-01', body: { status: 'gone' } }],
    [400, { method: 'POST', url: '/v1/admin/cards', body: { ...NEW_CARD, cardNo: 'AUD000002', issuer: '999999' } }],
    [400, { method: 'POST', url: '/v1/admin/cards/AUD000001/qr', body: { ttlSeconds: 0 } }],
    [403, { method: 'PATCH', url: '/v1/admin/cards/AUD000001', body: { status: 'lost' }, token: OPS }],
    [401, { method: 'PATCH', url: '/v1/admin/cards/AUD000001', body: { status: 'lost' }, token: 'not-a-token-at-all' }]
  ]
  for (const [status, request] of refused) {
    t.equal((await call(h, request)).statusCode, status, `${request.method} ${request.url}: ${status}`)
  }
  t.same(await auditRows(h), rowsBefore, 'not one row more')
  t.same((await call(h, { url: '/v1/admin/cards/AUD000001' })).json, cardBefore, 'the card is as it was')
  t.equal(h.service.terminal('jinan-bus-01')?.status, 'active')
})

t.test('a change whose transaction fails leaves neither the change nor its row; a committed one has both', sqliteOnly('fault injection in the SQLite writer'), async t => {
  const h = await buildTestApp(t, { faultInjection: true })
  const engine = h.engine as SqliteEngine
  await engine.injectFault({ failCommits: 1 })
  t.equal((await call(h, { method: 'PATCH', url: '/v1/admin/terminals/jinan-bus-01', body: { status: 'disabled' } })).statusCode, 503)
  t.equal(h.service.terminal('jinan-bus-01')?.status, 'active')
  t.same(await auditRows(h), [], 'no row for a change that did not commit')
  // A statement failing anywhere in the transaction (the change's, the audit insert, the purge):
  // either both the change and its row are there, or neither.
  let status: 'active' | 'disabled' = 'active'
  for (let afterStatements = 0; afterStatements < 8; afterStatements++) {
    const next: 'active' | 'disabled' = status === 'active' ? 'disabled' : 'active'
    const rowsBefore = (await auditRows(h)).length
    await engine.injectFault({ failStatement: { afterStatements, code: 'SQLITE_IOERR' } })
    const r = await call(h, { method: 'PATCH', url: '/v1/admin/terminals/jinan-bus-01', body: { status: next } })
    await engine.injectFault({})
    const rows = await auditRows(h)
    const stored = (await h.query("SELECT status FROM terminals WHERE terminal_id = 'jinan-bus-01'"))[0].status
    if (r.statusCode === 200) {
      status = next
      t.equal(rows.length, rowsBefore + 1, `failure after ${afterStatements} statements: committed, with its row`)
      t.equal(JSON.parse(rows[rows.length - 1].detail).to, next)
    } else {
      t.equal(r.statusCode, 503)
      t.equal(rows.length, rowsBefore, `failure after ${afterStatements} statements: rolled back, no row`)
    }
    t.equal(stored, status, 'the stored status is the last committed one')
  }
})

t.test('no card number in clear in the audit table', async t => {
  const h = await buildTestApp(t)
  await call(h, { method: 'POST', url: '/v1/admin/cards', body: NEW_CARD })
  await call(h, { method: 'PATCH', url: '/v1/admin/cards/AUD000001', body: { status: 'lost' } })
  // An operator who puts the card number in a credit reference: stored with the token instead.
  await call(h, { method: 'POST', url: '/v1/admin/cards/AUD000001/credits', body: { account: 'bank', amount: 1, reference: 'refund-AUD000001-7' } })
  await call(h, { method: 'POST', url: '/v1/admin/cards/AUD000001/qr', body: {} })
  const rows = await auditRows(h)
  t.equal(rows.length, 4)
  const text = JSON.stringify(rows)
  for (const secret of ['AUD000001', '1961-02-03', 'veteran']) t.notOk(text.includes(secret), `no ${secret} in any column of any row`)
  const token = h.service.cardTokenOf('AUD000001')
  t.equal(JSON.parse(rows[2].detail).reference, `refund-${token}-7`)
  t.notOk(JSON.stringify((await call(h, { url: '/v1/admin/audit' })).json).includes('AUD000001'), 'nor in the API answer')
})

t.test('pages: bounded, newest first, by id cursor; bad parameters are 400 and change nothing', async t => {
  const h = await buildTestApp(t, { opsToken: OPS })
  for (let i = 0; i < 7; i++) await call(h, { method: 'POST', url: '/v1/admin/cards/JN0000001/credits', body: { account: 'bank', amount: 1, reference: `page-${i}` } })
  const seen: number[] = []
  let url = '/v1/admin/audit?limit=3'
  for (let page = 0; page < 5; page++) {
    const r = await call(h, { url, token: OPS })
    t.equal(r.statusCode, 200)
    t.ok(r.json.entries.length <= 3)
    seen.push(...r.json.entries.map((e: any) => e.id))
    if (r.json.nextBefore === undefined) break
    url = `/v1/admin/audit?limit=3&before=${r.json.nextBefore}`
  }
  t.equal(seen.length, 7, 'every row once')
  t.same(seen, [...seen].sort((a, b) => b - a), 'newest first across pages')
  t.same((await call(h, { url: `/v1/admin/audit?before=${Math.min(...seen)}` })).json, { entries: [] }, 'nothing before the oldest')
  t.equal((await call(h, { url: `/v1/admin/audit?limit=${AUDIT_PAGE_ROWS_MAX}` })).statusCode, 200, 'the largest page')

  const rowsBefore = await auditRows(h)
  const cardBefore = (await call(h, { url: '/v1/admin/cards/JN0000001' })).json
  for (const query of ['limit=0', `limit=${AUDIT_PAGE_ROWS_MAX + 1}`, 'limit=abc', 'limit=-1', 'limit=1.5', 'limit=', 'before=0', 'before=-5',
    'before=99999999999999999999', 'target=card%20x', 'target=' + 'x'.repeat(65), 'other=1', 'limit=1&limit=2']) {
    const r = await call(h, { url: `/v1/admin/audit?${query}` })
    t.equal(r.statusCode, 400, `?${query}: 400`)
    t.equal(r.json.error.code, 'BAD_REQUEST')
  }
  t.same(await auditRows(h), rowsBefore, 'reads record nothing')
  t.same((await call(h, { url: '/v1/admin/cards/JN0000001' })).json, cardBefore)
  t.equal((await h.app.inject({ url: '/v1/admin/audit' })).statusCode, 401, 'no token, no trail')
  t.equal((await call(h, { url: '/v1/admin/audit', token: 'wrong-token-0123456789' })).statusCode, 401)
})

t.test('the trail is bounded: the newest rows are kept', async t => {
  const h = await buildTestApp(t, { auditRowsMax: 5 })
  for (let i = 0; i < 12; i++) await call(h, { method: 'POST', url: '/v1/admin/cards/JN0000001/credits', body: { account: 'bank', amount: 1, reference: `bound-${i}` } })
  const rows = await auditRows(h)
  t.ok(rows.length <= 5, `at most 5 rows (${rows.length})`)
  t.same(rows.map(r => JSON.parse(r.detail).reference).slice(-3), ['bound-9', 'bound-10', 'bound-11'], 'the newest survive')
  const { entries } = (await call(h, { url: '/v1/admin/audit' })).json
  t.equal(entries[0].detail.reference, 'bound-11')
  await h.app.close()
  // The bound lowered on a ledger that holds more: the next writes bring it back under.
  const lower = await buildTestApp(t, { dbPath: h.dbPath, seed: 'none', auditRowsMax: 2, ...(h.databaseUrl === undefined ? {} : { databaseUrl: h.databaseUrl }) })
  await call(lower, { method: 'POST', url: '/v1/admin/cards/JN0000001/credits', body: { account: 'bank', amount: 1, reference: 'bound-12' } })
  t.same((await auditRows(lower)).map(r => JSON.parse(r.detail).reference), ['bound-11', 'bound-12'], 'one write prunes the excess')
})

t.test('PostgreSQL: the audit row and its change commit together', postgresOnly('triggers in the PostgreSQL ledger'), async t => {
  const h = await buildTestApp(t)
  const db = new pg.Client({ connectionString: h.databaseUrl })
  await db.connect()
  t.teardown(async () => { await db.end() })
  // The audit insert fails: the status change it records must not commit either.
  await db.query(`CREATE FUNCTION refuse () RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$;
    CREATE TRIGGER refuse_audit BEFORE INSERT ON admin_audit FOR EACH ROW EXECUTE FUNCTION refuse()`)
  t.equal((await call(h, { method: 'PATCH', url: '/v1/admin/terminals/jinan-bus-01', body: { status: 'disabled' } })).statusCode, 503)
  t.equal((await db.query("SELECT status FROM terminals WHERE terminal_id = 'jinan-bus-01'")).rows[0].status, 'active', 'no change without its row')
  // The change fails: no row for it.
  await db.query(`DROP TRIGGER refuse_audit ON admin_audit;
    CREATE TRIGGER refuse_status BEFORE UPDATE ON terminals FOR EACH ROW EXECUTE FUNCTION refuse()`)
  t.equal((await call(h, { method: 'PATCH', url: '/v1/admin/terminals/jinan-bus-01', body: { status: 'disabled' } })).statusCode, 503)
  t.same(await auditRows(h), [], 'no row without its change')
  await db.query('DROP TRIGGER refuse_status ON terminals')
  t.equal((await call(h, { method: 'PATCH', url: '/v1/admin/terminals/jinan-bus-01', body: { status: 'disabled' } })).statusCode, 200)
  t.equal((await auditRows(h)).length, 1, 'and both once it commits')
})
