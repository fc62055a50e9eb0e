// The card vault (src/cards/card-vault.ts): tokens as keys, sealed numbers and holder data.
import t from 'tap'
import { CardVault } from '../../src/cards/card-vault.js'

const KEY_A = Buffer.from('card-data-key-a-0123456789abcdef-0123', 'utf8')
const KEY_B = Buffer.from('card-data-key-b-0123456789abcdef-0123', 'utf8')
const HOLDER = { cardNo: 'JN0000001', birthDate: '1950-03-01', categories: ['senior', 'veteran'] }

t.test('a token is 128 bits of hex, the same for the same number and key, another under another key', async t => {
  const a = new CardVault(KEY_A)
  const token = a.token('JN0000001')
  t.match(token, /^[0-9a-f]{32}$/)
  t.equal(new CardVault(KEY_A).token('JN0000001'), token, 'deterministic: a key of the ledger')
  t.not(a.token('JN0000002'), token)
  t.not(new CardVault(KEY_B).token('JN0000001'), token, 'keyed: without the key, a number cannot be searched to its token')
  t.notOk(token.includes('0000001'), 'nothing of the number shows')
})

t.test('seal and open: the clear data back, and only under the same key and the same token', async t => {
  const a = new CardVault(KEY_A)
  const token = a.token(HOLDER.cardNo)
  const sealed = a.seal(token, HOLDER)
  t.match(sealed, new RegExp(`^ykc1\\.${a.keyId}\\.`))
  for (const clear of [HOLDER.cardNo, HOLDER.birthDate, 'senior', 'veteran']) t.notOk(sealed.includes(clear), `${clear} is not in the sealed value`)
  t.not(a.seal(token, HOLDER), sealed, 'a fresh IV each time: two cards of one holder do not look alike')
  t.same(a.open(token, sealed), HOLDER)

  t.throws(() => new CardVault(KEY_B).open(token, sealed), { code: 'CARD_DATA_SEALED_OTHERWISE', message: new RegExp(`key id ${a.keyId}`) }, 'another key says which')
  const other = a.token('JN0000002')
  t.throws(() => a.open(other, sealed), { code: 'CARD_DATA_SEALED_OTHERWISE', message: /does not open/ }, 'moved onto another card\'s row: refused')
  const parts = sealed.split('.')
  const body = Buffer.from(parts[3]!, 'base64url')
  body[0] = body[0]! ^ 1
  t.throws(() => a.open(token, [...parts.slice(0, 3), body.toString('base64url')].join('.')), { message: /does not open/ }, 'altered: refused')
  t.throws(() => a.open(token, 'JN0000001'), { message: /not a ykc1 value/ }, 'a clear number where a sealed value belongs: refused')
})

t.test('a value sealed for one card under its own token but naming another number is refused', async t => {
  const a = new CardVault(KEY_A)
  const token = a.token('JN0000001')
  // What a forger with the key could not avoid: the token binds the row to the number inside.
  t.throws(() => a.open(token, a.seal(token, { ...HOLDER, cardNo: 'JN0000002' })), { message: /names another card/ })
})

t.test('key material shorter than 32 bytes is refused', async t => {
  t.throws(() => new CardVault(Buffer.from('short')), { code: 'CARD_DATA_SEALED_OTHERWISE' })
})

t.test('remembered openings (the PostgreSQL engine): same answers, a moved value still refused, bounded', async t => {
  const a = new CardVault(KEY_A, { openedEntriesMax: 2 })
  const token = a.token(HOLDER.cardNo)
  const sealed = a.seal(token, HOLDER)
  t.same(a.open(token, sealed), HOLDER)
  const again = a.open(token, sealed)
  t.same(again, HOLDER, 'remembered: the same data')
  again.categories.push('changed')
  t.same(a.open(token, sealed), HOLDER, 'a caller changing its copy changes nothing remembered')
  t.throws(() => a.open(a.token('JN0000002'), sealed), { message: /does not open/ }, 'opened once, moved to another card: still refused')
  for (const cardNo of ['JN0000003', 'JN0000004', 'JN0000005']) {
    const other = a.token(cardNo)
    t.equal(a.open(other, a.seal(other, { ...HOLDER, cardNo })).cardNo, cardNo)
  }
  t.same(a.open(token, sealed), HOLDER, 'past the bound it is opened again, not guessed')
})
