// Keys out of the repository (issue #13 item 2), written as the attacks.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { defaultIssuerKeysPath, generateIssuerKeyFile, issuerKeysFromFile, loadIssuerKeys, type IssuerKeyFile } from '../../src/cards/issuer-keys.js'
import { keyRingFromPem, mintQr } from '../../src/cards/qr-token.js'
import { buildTestApp, localAt, tapId, tempDbPath } from '../helpers/app.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const ISSUERS = ['370100', '370200', '410100']

t.test('attack: no private key or card master key is committed anywhere in the repository', async t => {
  const files = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(f => f !== '' && existsSync(join(ROOT, f)))
  const offenders = files.filter(f => {
    const text = readFileSync(join(ROOT, f), 'latin1')
    return /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text) || /"masterKeyHex"\s*:\s*"[0-9a-f]{32}"/.test(text)
  })
  t.same(offenders, [], 'no tracked file holds key material')
  t.notOk(existsSync(join(ROOT, 'fixtures', 'qr-issuer-keys.json')), 'the demo issuer key file is gone')
})

t.test('the demo seed generates a private key file per deployment, 0600, next to the ledger', async t => {
  const a = await buildTestApp(t)
  const b = await buildTestApp(t)
  const file = defaultIssuerKeysPath(a.dbPath)
  t.equal(a.issuerKeys.file, file)
  t.ok(a.issuerKeys.generated)
  t.equal(statSync(file).mode & 0o777, 0o600, 'owner-only')
  const doc = JSON.parse(readFileSync(file, 'utf8')) as IssuerKeyFile
  t.same(doc.issuers.map(i => i.issuer), ISSUERS, 'each issuer has its own entry')
  const keyIds = doc.issuers.flatMap(i => [...i.qr.map(k => k.keyId), i.cardAuth!.keyId])
  t.equal(new Set(keyIds).size, 6, 'every key has its own id')
  t.equal(new Set(doc.issuers.map(i => i.qr[0]!.publicKeyPem)).size, 3, 'three different QR keys')

  // Attack: a QR minted by another deployment (or with the old shared demo key) does not verify here.
  const foreign = (await b.service.mintQr('JN0000001', 60)).qr
  const r = await a.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: { type: 'qr', qr: foreign } })
  t.match(r.json, { decision: 'declined', reason: 'QR_INVALID' }, 'another deployment\'s key is not trusted')
  const own = (await a.service.mintQr('JN0000001', 60)).qr
  t.match((await a.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: { type: 'qr', qr: own } })).json, { decision: 'approved' }, 'its own key is')

  // A restart on the same ledger keeps the same keys (QRs in flight stay valid).
  await a.app.close()
  const again = await buildTestApp(t, { dbPath: a.dbPath })
  t.notOk(again.issuerKeys.generated)
  t.same(again.issuerKeys.keyIds, a.issuerKeys.keyIds)
})

t.test('attack: one issuer\'s key cannot sign for another issuer', async t => {
  const h = await buildTestApp(t)
  const doc = JSON.parse(readFileSync(h.issuerKeys.file!, 'utf8')) as IssuerKeyFile
  const jinan = doc.issuers.find(i => i.issuer === '370100')!.qr[0]!
  const misuse = keyRingFromPem([{ issuers: ['370200'], publicKeyPem: jinan.publicKeyPem, privateKeyPem: jinan.privateKeyPem }])
  const qr = mintQr(misuse, 'QD0000001', '370200', Date.now() + 60_000)
  t.match((await h.tap('qingdao-bus-01', { tapId: tapId(), at: localAt(), card: { type: 'qr', qr } })).json, { reason: 'QR_INVALID' })
})

t.test('attack: a QR for 2106 signed with the deployment\'s own key is refused at the tap', async t => {
  const h = await buildTestApp(t)
  const qr = mintQr(h.issuerKeys.qr, 'JN0000001', '370100', Date.UTC(2106, 1, 7))
  t.match((await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: { type: 'qr', qr } })).json, { decision: 'declined', reason: 'QR_INVALID' })
})

t.test('ISSUER_KEYS_FILE with public keys only: the service verifies QRs but cannot mint', async t => {
  const full = generateIssuerKeyFile(ISSUERS)
  const publicOnly: IssuerKeyFile = { version: 1, issuers: full.issuers.map(i => ({ issuer: i.issuer, qr: i.qr.map(k => ({ keyId: k.keyId, publicKeyPem: k.publicKeyPem })) })) }
  const file = join(dirname(tempDbPath(t)), 'public-keys.json')
  writeFileSync(file, JSON.stringify(publicOnly), { mode: 0o644 })
  const h = await buildTestApp(t, { issuerKeysFile: file })
  t.equal(h.issuerKeys.file, file)
  t.equal(h.issuerKeys.cardAuth.size, 0)
  t.notOk(existsSync(defaultIssuerKeysPath(h.dbPath)), 'nothing generated when keys are configured')
  t.equal((await h.admin('POST', '/v1/admin/cards/JN0000001/qr', {})).statusCode, 403, 'no signing key, no minting')
  const issuerSide = keyRingFromPem(full.issuers.map(i => ({ issuers: [i.issuer], publicKeyPem: i.qr[0]!.publicKeyPem, privateKeyPem: i.qr[0]!.privateKeyPem })))
  const qr = mintQr(issuerSide, 'JN0000001', '370100', Date.now() + 60_000)
  t.match((await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: { type: 'qr', qr } })).json, { decision: 'approved' }, 'the issuer\'s QR verifies')
})

t.test('key files are refused when unsafe or malformed, with a clear message', async t => {
  const dir = dirname(tempDbPath(t))
  const write = (name: string, doc: unknown, mode = 0o600): string => {
    const f = join(dir, name)
    writeFileSync(f, typeof doc === 'string' ? doc : JSON.stringify(doc), { mode })
    chmodSync(f, mode)
    return f
  }
  const good = generateIssuerKeyFile(ISSUERS)
  const other = generateIssuerKeyFile(ISSUERS)
  const mismatched = structuredClone(good)
  mismatched.issuers[0]!.qr[0]!.privateKeyPem = other.issuers[0]!.qr[0]!.privateKeyPem
  const dupId = structuredClone(good)
  dupId.issuers[1]!.qr[0]!.keyId = dupId.issuers[0]!.qr[0]!.keyId
  const cases: Array<[string, string, RegExp]> = [
    ['secrets readable by others', write('open.json', good, 0o644), /readable by others.*chmod 600/],
    ['private key of another public key', write('mismatch.json', mismatched), /does not belong/],
    ['one key id twice', write('dup.json', dupId), /used twice/],
    ['an issuer outside the programme', write('foreign.json', { version: 1, issuers: [{ ...good.issuers[0], issuer: '110100' }] }), /not one of the programme/],
    ['a short master key', write('short.json', { version: 1, issuers: [{ ...good.issuers[0], cardAuth: { keyId: 'k', masterKeyHex: 'abcd' } }] }), /32 lowercase hex/],
    ['not JSON', write('broken.json', '{"version": 1,'), /not JSON/],
    ['no version', write('noversion.json', { issuers: [] }), /version/],
    ['four QR keys', write('many.json', { version: 1, issuers: [{ issuer: '370100', qr: [1, 2, 3, 4].map(n => ({ ...good.issuers[0]!.qr[0]!, keyId: `k${n}` })) }] }), /0\.\.3 keys/]
  ]
  for (const [name, file, message] of cases) t.throws(() => issuerKeysFromFile(file, ISSUERS), { code: /^ISSUER_KEYS_/, message }, name)
  t.throws(() => loadIssuerKeys({ file: join(dir, 'nope.json'), dbPath: join(dir, 'l.db'), seed: 'demo', issuers: ISSUERS }), { code: 'ISSUER_KEYS_MISSING' })
  const none = loadIssuerKeys({ dbPath: join(dir, 'sub', 'l.db'), seed: 'none', issuers: ISSUERS })
  t.equal(none.file, null, 'SEED=none without a key file: no keys, nothing generated')
  t.notOk(existsSync(join(dir, 'sub', 'issuer-keys.json')))
})

t.test('npm start refuses an unsafe ISSUER_KEYS_FILE with a clear message, and uses a good one', async t => {
  const { configFromEnv } = await import('../../src/config.js')
  const { startService } = await import('../helpers/service.js')
  t.equal(configFromEnv({ ISSUER_KEYS_FILE: '/etc/ykt/keys.json' }).issuerKeysFile, '/etc/ykt/keys.json')
  t.equal(configFromEnv({}).issuerKeysFile, undefined)
  const dir = dirname(tempDbPath(t))
  const file = join(dir, 'keys.json')
  writeFileSync(file, JSON.stringify(generateIssuerKeyFile(ISSUERS)), { mode: 0o644 })
  chmodSync(file, 0o644)
  await t.rejects(startService({ dbPath: join(dir, 'a', 'ledger.db'), env: { ISSUER_KEYS_FILE: file } }), /readable by others.*chmod 600/, 'refused at start')
  chmodSync(file, 0o600)
  const svc = await startService({ dbPath: join(dir, 'b', 'ledger.db'), env: { ISSUER_KEYS_FILE: file, LOG_LEVEL: 'info' } })
  t.notOk(existsSync(join(dir, 'b', 'issuer-keys.json')), 'nothing generated when a key file is configured')
  t.equal(await svc.stop(), 0)
  t.match(svc.output(), /issuer keys loaded/, 'the start-up log names the key file, not its keys')
  t.notMatch(svc.output(), /PRIVATE KEY|masterKeyHex/)
})
