// Terminal secrets at rest and their rotation (issue #13 item 7), written as the attacks:
// - someone with a copy of the ledger (file or dump) reads the terminals table and signs with what
//   is there: it holds no secret, only sealed values, and signing with them is refused;
// - a sealed value moved onto another terminal's row does not open: that terminal stops
//   authenticating instead of taking the other's secret;
// - a ledger from before sealing (secrets in clear) is sealed at start, and its terminals go on;
// - a process given another key refuses to start and says which key ids differ;
// - rotation: the new secret works at once, the old one until the overlap ends, then never.
import t from 'tap'
import { buildTestApp, localAt, physical, tapId } from '../helpers/app.js'
import { execStoredLedger } from '../helpers/engine.js'
import { demoSecret } from '../../src/service/demo-seed.js'
import { SecretBox } from '../../src/auth/secret-box.js'

const TERMINAL = 'jinan-bus-01'
const tapBody = (): unknown => ({ tapId: tapId(), at: localAt(), card: physical('JN0000001', '370100') })
const KEY_A = Buffer.from('terminal-secrets-key-a-0123456789abcdef', 'utf8')
const KEY_B = Buffer.from('terminal-secrets-key-b-0123456789abcdef', 'utf8')

t.test('the ledger holds no terminal secret: a copy of its terminals table signs nothing', async t => {
  const h = await buildTestApp(t, { terminalSecretsKey: KEY_A })
  const registered = await h.admin('POST', '/v1/admin/terminals', { terminalId: 'copy-t1', city: 'jinan', scenario: 'bus', operator: 'jinan-bus' })
  t.equal(registered.statusCode, 201)
  const rows = await h.query("SELECT terminal_id, secret FROM terminals WHERE terminal_id IN ('copy-t1', 'jinan-bus-01') ORDER BY terminal_id")
  t.equal(rows.length, 2)
  const stored = Object.fromEntries(rows.map(r => [r.terminal_id, String(r.secret)]))
  t.notOk(stored['copy-t1']!.includes(registered.json.secret), 'the registered secret is not in the ledger')
  t.notOk(stored[TERMINAL]!.includes(demoSecret(TERMINAL)), 'nor the demo terminal\'s')
  t.ok(SecretBox.isSealed(stored[TERMINAL]!), 'what is there is sealed')
  t.equal((await h.tap('copy-t1', tapBody(), { secret: stored['copy-t1'] })).statusCode, 401, 'signing with the stored value is refused')
  t.equal((await h.tap('copy-t1', tapBody(), { secret: registered.json.secret })).statusCode, 200, 'the secret the admin was given works')
  t.equal((await h.tap(TERMINAL, tapBody())).statusCode, 200, 'the demo terminal works')
})

t.test('a sealed value moved onto another terminal does not open, and that terminal authenticates nothing', async t => {
  const first = await buildTestApp(t, { terminalSecretsKey: KEY_A })
  const where = { dbPath: first.dbPath, databaseUrl: first.databaseUrl }
  await first.app.close()
  await execStoredLedger(where, "UPDATE terminals SET secret = (SELECT secret FROM terminals WHERE terminal_id = 'qingdao-bus-01') WHERE terminal_id = 'jinan-bus-01'")
  await t.rejects(buildTestApp(t, { dbPath: where.dbPath, databaseUrl: where.databaseUrl, terminalSecretsKey: KEY_A }),
    /jinan-bus-01's sealed secret does not open/, 'the service refuses to start, naming the terminal')
})

t.test('a ledger with secrets in clear (from before sealing) is sealed at start; its terminals go on', async t => {
  const first = await buildTestApp(t, { terminalSecretsKey: KEY_A })
  const where = { dbPath: first.dbPath, databaseUrl: first.databaseUrl }
  await first.app.close()
  await execStoredLedger(where, `UPDATE terminals SET secret = '${demoSecret(TERMINAL)}' WHERE terminal_id = '${TERMINAL}'`)
  const second = await buildTestApp(t, { dbPath: where.dbPath, databaseUrl: where.databaseUrl, terminalSecretsKey: KEY_A })
  t.equal((await second.tap(TERMINAL, tapBody())).statusCode, 200, 'the terminal authenticates with its secret')
  const [row] = await second.query(`SELECT secret FROM terminals WHERE terminal_id = '${TERMINAL}'`)
  t.ok(SecretBox.isSealed(String(row.secret)) && !String(row.secret).includes(demoSecret(TERMINAL)), 'and its secret is now sealed')
})

t.test('another key: the service refuses to start and names both key ids', async t => {
  const first = await buildTestApp(t, { terminalSecretsKey: KEY_A })
  const where = { dbPath: first.dbPath, databaseUrl: first.databaseUrl }
  await first.app.close()
  const a = new SecretBox(KEY_A).keyId
  const b = new SecretBox(KEY_B).keyId
  await t.rejects(buildTestApp(t, { dbPath: where.dbPath, databaseUrl: where.databaseUrl, terminalSecretsKey: KEY_B }),
    new RegExp(`sealed with key id ${a}, this process has key id ${b}`))
})

t.test('rotation with overlap: new secret at once, the old one until the overlap ends, then never', async t => {
  let nowMs = Date.now()
  const h = await buildTestApp(t, { nowMs: () => nowMs })
  const old = demoSecret(TERMINAL)
  const rotated = await h.admin('POST', `/v1/admin/terminals/${TERMINAL}/secret`, { overlapS: 60 })
  t.equal(rotated.statusCode, 200)
  t.match(rotated.json, { terminalId: TERMINAL, secret: /^[A-Za-z0-9_-]{43}$/, previousSecretValidUntil: new Date(nowMs + 60_000).toISOString() })
  const fresh = rotated.json.secret as string
  const tap = async (secret: string): Promise<number> => (await h.tap(TERMINAL, { tapId: tapId(), at: localAt(0, nowMs), card: physical('JN0000001', '370100') }, { secret, nowMs })).statusCode
  t.equal(await tap(fresh), 200, 'the new secret works at once')
  t.equal(await tap(old), 200, 'the old one still works within the overlap')
  nowMs += 59_000
  t.equal(await tap(old), 200, 'and one second before it ends')
  nowMs += 1_000
  t.equal(await tap(old), 401, 'not once it has ended')
  t.equal(await tap(fresh), 200, 'the new one goes on')

  const again = await h.admin('POST', `/v1/admin/terminals/${TERMINAL}/secret`, { overlapS: 0 })
  t.equal(again.json.previousSecretValidUntil, null, 'overlap 0: no old secret accepted')
  t.equal(await tap(fresh), 401, 'the secret before is refused at once')
  t.equal(await tap(again.json.secret), 200)
  const view = await h.admin('GET', `/v1/admin/terminals/${TERMINAL}`)
  t.notOk(JSON.stringify(view.json).includes(again.json.secret) || 'previousSecret' in view.json, 'an admin read shows no secret')
  const audit = await h.admin('GET', `/v1/admin/audit?target=${TERMINAL}`)
  t.match(audit.json.entries?.[0] ?? audit.json, { action: 'terminal.secret' }, 'the rotation is in the audit trail')
  t.notOk(audit.body.includes(again.json.secret), 'without the secret')
})

t.test('rotation: bad input is a 400 and changes nothing; an unknown terminal a 404', async t => {
  const h = await buildTestApp(t)
  for (const body of [{ overlapS: -1 }, { overlapS: 604_801 }, { overlapS: 1.5 }, { overlapS: '60' }, { other: 1 }, []]) {
    const r = await h.admin('POST', `/v1/admin/terminals/${TERMINAL}/secret`, body)
    t.equal(r.statusCode, 400, `${JSON.stringify(body)} → 400`)
  }
  t.equal((await h.tap(TERMINAL, tapBody())).statusCode, 200, 'the terminal\'s secret is unchanged')
  t.equal((await h.admin('POST', '/v1/admin/terminals/nope-1/secret', {})).statusCode, 404)
  const defaulted = await h.admin('POST', `/v1/admin/terminals/${TERMINAL}/secret`, {})
  t.equal(defaulted.statusCode, 200)
  t.ok(Date.parse(defaulted.json.previousSecretValidUntil) - Date.now() > 23 * 3600_000, 'no overlap named: a day')
})
