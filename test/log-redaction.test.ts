// Logs never show a card number, QR payload, terminal secret or admin token in clear,
// including inside URLs such as /v1/admin/cards/:cardNo.
import t from 'tap'
import { ADMIN_TOKEN, buildTestApp, localAt, physical, tapId } from './helpers/app.js'
import { demoSecret } from '../src/service/demo-seed.js'

t.test('no card number, QR, secret or token in any log line', async t => {
  const h = await buildTestApp(t, { logLevel: 'debug' })
  const cardNo = 'LG1234567'
  await h.admin('POST', '/v1/admin/cards', { cardNo, issuer: '370100', holder: { birthDate: '1960-01-01' }, accounts: { bank: 10_000 } })
  await h.admin('POST', '/v1/admin/cards', { cardNo, issuer: '370100' }) // 409 mentions the card
  await h.admin('GET', `/v1/admin/cards/${cardNo}`)
  await h.admin('GET', `/v1/admin/cards/${cardNo}/taps`)
  await h.admin('PATCH', `/v1/admin/cards/${cardNo}`, { status: 'active' })
  await h.admin('POST', `/v1/admin/cards/${cardNo}/credits`, { account: 'bank', amount: 100, reference: 'log-1' })
  const qr = (await h.admin('POST', `/v1/admin/cards/${cardNo}/qr`, {})).json.qr as string
  await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: physical(cardNo, '370100') })
  await h.tap('qingdao-bus-01', { tapId: tapId(), at: localAt(), card: { type: 'qr', qr } })
  await h.tap('qingdao-bus-01', { tapId: tapId(), at: localAt(), card: { type: 'qr', qr } })
  await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: physical(cardNo, '370100'), extra: true })
  const registered = await h.admin('POST', '/v1/admin/terminals', { terminalId: 'log-t1', city: 'jinan', scenario: 'bus', operator: 'o' })
  // Attacks on the request log itself: what a client typed into a query string or a wrong path.
  const idNumber = '370102196001011234'
  await h.admin('GET', `/v1/admin/settlement?from=2026-01-01&to=2026-01-02&cardNo=${cardNo}&id=${idNumber}`)
  await h.admin('GET', `/v1/admin/cardz/${cardNo}`)
  await h.admin('GET', `/v1/admin/${idNumber}?holder=${idNumber}`)
  await h.app.close()

  const log = h.logLines.join('\n')
  t.ok(h.logLines.length >= 10, `log lines were captured (${h.logLines.length})`)
  t.match(log, /"msg":"tap"/, 'tap decisions are logged')
  t.match(log, /card_[0-9a-f]{12}/, 'cards appear as tokens')
  for (const [what, secret] of [
    ['card number', cardNo],
    ['QR payload', qr.slice(5, 30)],
    ['terminal secret', registered.json.secret],
    ['demo secret', demoSecret('jinan-bus-01')],
    ['admin token', ADMIN_TOKEN],
    ['birth date', '1960-01-01'],
    ['ID number (query string, unknown path)', idNumber],
    ['query value', '2026-01-02']
  ] as Array<[string, string]>) {
    t.notOk(log.includes(secret), `no ${what} in logs`)
  }
  const lines = h.logLines.map(l => JSON.parse(l))
  t.ok(lines.some(l => l.url === '/v1/admin/settlement?from=…&to=…&cardNo=…&id=…'), 'a query string is logged by its names, without values')
  t.ok(lines.some(l => l.status === 404 && /^\[unknown path, \d+ bytes\]$/.test(l.url)), 'a path no route matched is logged by its length only')
  const tapLine = h.logLines.map(l => JSON.parse(l)).find(l => l.msg === 'tap')
  t.match(tapLine, { terminal: 'jinan-bus-01', scenario: 'bus', decision: String, latencyMs: Number })
})
