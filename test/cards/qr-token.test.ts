import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { keyRingFromPem, mintQr, verifyQr, QR_ISSUER_CLOCK_SKEW_MS_MAX, QR_LIFETIME_MS_MAX } from '../../src/cards/qr-token.js'

function pemPair (): { publicKeyPem: string, privateKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return { publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }
}

const ring = keyRingFromPem([{ issuers: ['370100', '370200'], ...pemPair() }])
const now = Date.UTC(2026, 6, 1, 0, 0, 0)

t.test('a minted QR verifies until it expires', async t => {
  const qr = mintQr(ring, 'JN0000001', '370100', now + 60_000)
  t.ok(qr.length < 160, `compact (${qr.length} chars)`)
  const ok = verifyQr(ring, qr, now)
  t.ok(ok.ok)
  if (ok.ok) t.match(ok.claims, { cardNo: 'JN0000001', issuer: '370100', expiresAtMs: now + 60_000, nonce: /^[A-Za-z0-9_-]{11}$/ })
  t.same(verifyQr(ring, qr, now + 60_000), { ok: false, reason: 'QR_EXPIRED' })
  t.not(mintQr(ring, 'JN0000001', '370100', now + 60_000), qr, 'a fresh nonce each time')
})

t.test('tampered, truncated or foreign-signed QRs are invalid', async t => {
  const qr = mintQr(ring, 'JN0000001', '370100', now + 60_000)
  const [prefix, payload, signature] = qr.split('.')
  const otherCard = Buffer.from(payload!, 'base64url')
  otherCard.write('JN0000002', 0, 'ascii')
  const foreignRing = keyRingFromPem([{ issuers: ['370100'], ...pemPair() }])
  const cases: Array<[string, string]> = [
    ['card swapped', `${prefix}.${otherCard.toString('base64url')}.${signature}`],
    ['truncated', qr.slice(0, -10)],
    ['no signature', `${prefix}.${payload}`],
    ['wrong prefix', qr.replace('YKT1', 'YKT2')],
    ['empty', ''],
    ['too long', qr + 'A'.repeat(600)],
    ['signed by another key', mintQr(foreignRing, 'JN0000001', '370100', now + 60_000)]
  ]
  for (const [name, bad] of cases) t.same(verifyQr(ring, bad, now), { ok: false, reason: 'QR_INVALID' }, name)
})

t.test('attack: a validly signed QR living longer than the 300 s maximum is QR_INVALID', async t => {
  const limitMs = QR_LIFETIME_MS_MAX + QR_ISSUER_CLOCK_SKEW_MS_MAX
  t.ok(verifyQr(ring, mintQr(ring, 'JN0000001', '370100', now + QR_LIFETIME_MS_MAX), now).ok, 'the maximum lifetime')
  t.ok(verifyQr(ring, mintQr(ring, 'JN0000001', '370100', now + limitMs), now).ok, 'the maximum plus the issuer clock slack')
  t.same(verifyQr(ring, mintQr(ring, 'JN0000001', '370100', now + limitMs + 1000), now), { ok: false, reason: 'QR_INVALID' }, 'a second more')
  t.same(verifyQr(ring, mintQr(ring, 'JN0000001', '370100', Date.UTC(2106, 1, 7)), now), { ok: false, reason: 'QR_INVALID' }, 'expiring in 2106')
})
