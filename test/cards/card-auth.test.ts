// Card-present proof: the attacks of issue #13 item 1 against the pure verifier.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { aesCmac, computeCryptogram, deriveCardKey, verifyCardProof, type CardAuthKeys, type TapProofFields } from '../../src/cards/card-auth.js'

t.test('AES-CMAC matches the RFC 4493 test vectors', async t => {
  const key = Buffer.from('2b7e151628aed2a6abf7158809cf4f3c', 'hex')
  const m = Buffer.from('6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710', 'hex')
  const table: Array<[number, string]> = [
    [0, 'bb1d6929e95937287fa37d129b756746'],
    [16, '070a16b46b4d4144f79bdd9dd04a287c'],
    [40, 'dfa66747de9ae63030ca32611497c827'],
    [64, '51f0bebf7e3b9d92fc49741779363cfe']
  ]
  for (const [len, tag] of table) t.equal(aesCmac(key, m.subarray(0, len)).toString('hex'), tag, `${len}-byte message`)
})

const imk = randomBytes(16)
const keys: CardAuthKeys = new Map([['370100', { keyId: 'jn-ac-test', masterKey: imk }]])
const card = { cardNo: 'JN0000001', issuer: '370100' }
const fields: TapProofFields = { terminalId: 'jinan-bus-01', tapId: 'bus-1', at: '2026-07-01T08:15:30.123+08:00' }
const cardKey = deriveCardKey(imk, card.cardNo, card.issuer)
const proof = (atc: number, f: TapProofFields = fields, k = cardKey, c = card): string =>
  computeCryptogram({ cardKey: k, atc, cardNo: c.cardNo, issuer: c.issuer, fields: f })

t.test('a card\'s proof verifies, and its counter must strictly rise', async t => {
  const cryptogram = proof(7)
  t.match(cryptogram, /^[0-9a-f]{16}$/, '8 bytes hex')
  t.same(verifyCardProof({ card, atc: 7, cryptogram, tapFields: fields, issuerKeys: keys, lastAtc: null }), { ok: true, atc: 7 }, 'first sight of the card')
  t.same(verifyCardProof({ card, atc: 7, cryptogram, tapFields: fields, issuerKeys: keys, lastAtc: 6 }), { ok: true, atc: 7 })
  t.same(verifyCardProof({ card, atc: 7, cryptogram, tapFields: fields, issuerKeys: keys, lastAtc: 7 }), { ok: false, reason: 'CARD_AUTH_FAILED', why: 'ATC_NOT_RISING' }, 'replayed: same counter')
  t.same(verifyCardProof({ card, atc: 7, cryptogram, tapFields: fields, issuerKeys: keys, lastAtc: 9 }), { ok: false, reason: 'CARD_AUTH_FAILED', why: 'ATC_NOT_RISING' }, 'clone behind the original')
})

t.test('attacks: every field the cryptogram covers is bound, and keys are per card and per issuer', async t => {
  const good = { card, atc: 7, cryptogram: proof(7), tapFields: fields, issuerKeys: keys, lastAtc: 3 }
  const mismatch = { ok: false, reason: 'CARD_AUTH_FAILED', why: 'CRYPTOGRAM_MISMATCH' }
  const otherIssuerKeys: CardAuthKeys = new Map([['370100', { keyId: 'x', masterKey: randomBytes(16) }]])
  const table: Array<[string, Parameters<typeof verifyCardProof>[0], unknown]> = [
    ['another terminal replays it', { ...good, tapFields: { ...fields, terminalId: 'jinan-bus-02' } }, mismatch],
    ['another tapId', { ...good, tapFields: { ...fields, tapId: 'bus-2' } }, mismatch],
    ['another time', { ...good, tapFields: { ...fields, at: '2026-07-01T08:15:31.123+08:00' } }, mismatch],
    ['an amount added', { ...good, tapFields: { ...fields, amount: 100 } }, mismatch],
    ['counter raised without the key', { ...good, atc: 8 }, mismatch],
    ['typed number of another card', { ...good, card: { cardNo: 'JN0000002', issuer: '370100' } }, mismatch],
    ['one bit flipped', { ...good, cryptogram: (parseInt(good.cryptogram[0]!, 16) ^ 1).toString(16) + good.cryptogram.slice(1) }, mismatch],
    ['made with another card\'s key', { ...good, cryptogram: proof(7, fields, deriveCardKey(imk, 'JN0000002', '370100')) }, mismatch],
    ['service holds another issuer key', { ...good, issuerKeys: otherIssuerKeys }, mismatch],
    ['issuer without a key', { ...good, card: { cardNo: 'QD0000001', issuer: '370200' } }, { ok: false, reason: 'CARD_AUTH_FAILED', why: 'ISSUER_KEY_UNKNOWN' }],
    ['atc without cryptogram', { ...good, cryptogram: undefined }, { ok: false, reason: 'CARD_AUTH_FAILED', why: 'PROOF_MALFORMED' }],
    ['cryptogram without atc', { ...good, atc: undefined }, { ok: false, reason: 'CARD_AUTH_FAILED', why: 'PROOF_MALFORMED' }],
    ['atc over 2 bytes', { ...good, atc: 65536 }, { ok: false, reason: 'CARD_AUTH_FAILED', why: 'PROOF_MALFORMED' }],
    ['negative atc', { ...good, atc: -1 }, { ok: false, reason: 'CARD_AUTH_FAILED', why: 'PROOF_MALFORMED' }],
    ['fractional atc', { ...good, atc: 7.5 }, { ok: false, reason: 'CARD_AUTH_FAILED', why: 'PROOF_MALFORMED' }],
    ['atc as a string', { ...good, atc: '7' }, { ok: false, reason: 'CARD_AUTH_FAILED', why: 'PROOF_MALFORMED' }],
    ['uppercase cryptogram', { ...good, cryptogram: 'ABCDEF0123456789' }, { ok: false, reason: 'CARD_AUTH_FAILED', why: 'PROOF_MALFORMED' }],
    ['short cryptogram', { ...good, cryptogram: good.cryptogram.slice(2) }, { ok: false, reason: 'CARD_AUTH_FAILED', why: 'PROOF_MALFORMED' }],
    ['bare number at a terminal that requires proof', { card, tapFields: fields, issuerKeys: keys, lastAtc: null, required: true }, { ok: false, reason: 'CARD_AUTH_FAILED', why: 'PROOF_MISSING' }],
    ['bare number where proof is optional', { card, tapFields: fields, issuerKeys: keys, lastAtc: null }, { ok: true, atc: null }],
    ['the genuine tap', good, { ok: true, atc: 7 }]
  ]
  for (const [name, input, expected] of table) t.same(verifyCardProof(input), expected, name)
})

t.test('an amount is bound, and absent differs from 0', async t => {
  const priced = { ...fields, amount: 1234 }
  const c = proof(1, priced)
  t.same(verifyCardProof({ card, atc: 1, cryptogram: c, tapFields: priced, issuerKeys: keys }), { ok: true, atc: 1 })
  t.equal(verifyCardProof({ card, atc: 1, cryptogram: c, tapFields: { ...fields, amount: 1235 }, issuerKeys: keys }).ok, false, 'a changed amount')
  t.not(proof(1, { ...fields, amount: 0 }), proof(1, fields), 'amount 0 is not "no amount"')
})

t.test('the card key is a diversification: different per card, per issuer, per master key', async t => {
  const keysSeen = new Set([
    deriveCardKey(imk, 'JN0000001', '370100'), deriveCardKey(imk, 'JN0000002', '370100'),
    deriveCardKey(imk, 'JN0000001', '370200'), deriveCardKey(randomBytes(16), 'JN0000001', '370100')
  ].map(k => k.toString('hex')))
  t.equal(keysSeen.size, 4)
  t.same(deriveCardKey(imk, 'JN0000001', '370100'), cardKey, 'deterministic')
  t.throws(() => deriveCardKey(Buffer.alloc(8), 'JN0000001', '370100'), RangeError)
  t.throws(() => computeCryptogram({ cardKey, atc: 65536, cardNo: card.cardNo, issuer: card.issuer, fields }), RangeError)
})
