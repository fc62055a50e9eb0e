// Card authentication at the API (issue #13 item 1): the wire names of api-v1 v1.1 are accepted and
// bounded; the decisions are the tap pipeline's (src/service/tap-checks.ts, src/ledger/tap-machine.ts).
import t from 'tap'
import { computeCryptogram, deriveCardKey } from '../../src/cards/card-auth.js'
import { buildTestApp, localAt, tapId } from '../helpers/app.js'

const JN1 = { type: 'physical', cardNo: 'JN0000001', issuer: '370100' }

t.test('atc and cryptogram are part of the physical card; malformed ones are 400, never 5xx', async t => {
  const h = await buildTestApp(t)
  const ok = await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: { ...JN1, atc: 1, cryptogram: '0123456789abcdef' } })
  t.not(ok.statusCode, 400, 'the v1.1 names are accepted by the schema')
  t.ok(ok.statusCode < 500, `answered ${ok.statusCode}`)
  const bad: Array<[string, unknown]> = [
    ['atc without cryptogram', { ...JN1, atc: 1 }],
    ['cryptogram without atc', { ...JN1, cryptogram: '0123456789abcdef' }],
    ['atc over 2 bytes', { ...JN1, atc: 65536, cryptogram: '0123456789abcdef' }],
    ['negative atc', { ...JN1, atc: -1, cryptogram: '0123456789abcdef' }],
    ['atc as a string', { ...JN1, atc: '1', cryptogram: '0123456789abcdef' }],
    ['uppercase cryptogram', { ...JN1, atc: 1, cryptogram: '0123456789ABCDEF' }],
    ['long cryptogram', { ...JN1, atc: 1, cryptogram: '0123456789abcdef00' }],
    ['a QR card with an atc', { type: 'qr', qr: 'YKT1.x.y', atc: 1, cryptogram: '0123456789abcdef' }]
  ]
  for (const [name, card] of bad) {
    const r = await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card })
    t.equal(r.statusCode, 400, name)
    t.equal(r.json?.error?.code, 'BAD_REQUEST', name)
  }
})

t.test('terminal registration takes cardAuthentication "optional" | "required"', async t => {
  const h = await buildTestApp(t)
  const base = { city: 'jinan', scenario: 'bus', operator: 'jinan-bus' }
  t.equal((await h.admin('POST', '/v1/admin/terminals', { ...base, terminalId: 'jn-req-1', cardAuthentication: 'required' })).statusCode, 201)
  t.equal((await h.admin('POST', '/v1/admin/terminals', { ...base, terminalId: 'jn-opt-1', cardAuthentication: 'optional' })).statusCode, 201)
  t.equal((await h.admin('POST', '/v1/admin/terminals', { ...base, terminalId: 'jn-bad-1', cardAuthentication: 'sometimes' })).statusCode, 400)
})

// The decisions: the service checks the cryptogram (src/service/tap-checks.ts), the writer checks
// that the counter rose against the card's last ATC in the ledger (src/ledger/tap-machine.ts).
t.test('attacks at the tap: bare number at a "required" terminal, forged and replayed proofs', async t => {
  const h = await buildTestApp(t)
  const registered = await h.admin('POST', '/v1/admin/terminals', { terminalId: 'jn-req-2', city: 'jinan', scenario: 'bus', operator: 'jinan-bus', cardAuthentication: 'required' })
  t.equal(registered.statusCode, 201)
  const secret = registered.json?.secret
  t.match((await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: { ...JN1, atc: 1, cryptogram: '0123456789abcdef' } })).json, { decision: 'declined', reason: 'CARD_AUTH_FAILED' }, 'a forged cryptogram')
  const key = h.issuerKeys.cardAuth.get('370100')!.masterKey
  const cardKey = deriveCardKey(key, JN1.cardNo, JN1.issuer)
  const id = tapId()
  const at = localAt()
  const cryptogram = computeCryptogram({ cardKey, atc: 5, cardNo: JN1.cardNo, issuer: JN1.issuer, fields: { terminalId: 'jinan-bus-01', tapId: id, at } })
  t.match((await h.tap('jinan-bus-01', { tapId: id, at, card: { ...JN1, atc: 5, cryptogram } })).json, { decision: 'approved' }, 'a genuine proof')
  const id2 = tapId()
  const replay = computeCryptogram({ cardKey, atc: 5, cardNo: JN1.cardNo, issuer: JN1.issuer, fields: { terminalId: 'jinan-bus-01', tapId: id2, at } })
  t.match((await h.tap('jinan-bus-01', { tapId: id2, at, card: { ...JN1, atc: 5, cryptogram: replay } })).json, { decision: 'declined', reason: 'CARD_AUTH_FAILED' }, 'the counter did not rise')
  t.match((await h.tap('jn-req-2', { tapId: tapId(), at: localAt(), card: JN1 }, { secret })).json, { decision: 'declined', reason: 'CARD_AUTH_FAILED' }, 'a bare number where proof is required')
})

t.test('probing at a "required" terminal learns nothing: an unknown number and a known one both get CARD_AUTH_FAILED, and the counter survives a restart', async t => {
  const h = await buildTestApp(t)
  const registered = await h.admin('POST', '/v1/admin/terminals', { terminalId: 'jn-req-3', city: 'jinan', scenario: 'scenic', operator: 'baotu', location: { venue: (await h.admin('GET', '/v1/admin/terminals/jinan-scenic-01')).json.location.venue }, cardAuthentication: 'required' })
  t.equal(registered.statusCode, 201)
  const secret = registered.json.secret as string
  const unknown = await h.tap('jn-req-3', { tapId: tapId(), at: localAt(), card: { type: 'physical', cardNo: 'JN9999999', issuer: '370100' } }, { secret })
  const known = await h.tap('jn-req-3', { tapId: tapId(), at: localAt(), card: JN1 }, { secret })
  t.equal(unknown.json.reason, 'CARD_AUTH_FAILED')
  t.equal(known.json.reason, 'CARD_AUTH_FAILED')
  t.same(Object.keys(unknown.json).sort(), Object.keys(known.json).sort(), 'the same answer shape: no balance, no concession')

  const key = h.issuerKeys.cardAuth.get('370100')!.masterKey
  const cardKey = deriveCardKey(key, JN1.cardNo, JN1.issuer)
  const proven = (atc: number): { tapId: string, at: string, card: Record<string, unknown> } => {
    const id = tapId()
    const at = localAt()
    return { tapId: id, at, card: { ...JN1, atc, cryptogram: computeCryptogram({ cardKey, atc, cardNo: JN1.cardNo, issuer: JN1.issuer, fields: { terminalId: 'jinan-bus-01', tapId: id, at } }) } }
  }
  t.equal((await h.tap('jinan-bus-01', proven(9))).json.decision, 'approved')
  await h.app.close()
  const again = await buildTestApp(t, { dbPath: h.dbPath, databaseUrl: h.databaseUrl })
  t.equal((await again.tap('jinan-bus-01', proven(9))).json.reason, 'CARD_AUTH_FAILED', 'the counter 9 is remembered across a restart')
})
