// Card authentication at the API (issue #13 item 1): the wire names of api-v1 v1.1 are accepted and
// bounded; the decisions are the tap pipeline's (see the integration note in docs/security.md).
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

// The decisions below need the verifier wired into the tap pipeline (src/ledger/**, the ledger
// engine's), with the card's last ATC stored in the ledger. Marked todo until then: they run and
// report, but do not fail the suite. Remove `todo` once integrated.
const INTEGRATED = process.env.YKT_CARD_AUTH_INTEGRATED === '1'
t.test('attacks at the tap: bare number at a "required" terminal, forged and replayed proofs', { todo: INTEGRATED ? false : 'card-auth verify is not yet called by the tap pipeline (integrator)' }, async t => {
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
