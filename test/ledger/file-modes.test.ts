// Files at rest (issue #13 item 7), as the attack: another local user reads the ledger or its keys.
// Every file the service writes beside the ledger is 0600 (the ledger, its -wal and -shm, the card
// token key, the terminal secrets key, the issuer keys); a ledger left 0644 by an older version is
// tightened at start; a key file others can read is refused, not used.
import t from 'tap'
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startService } from '../helpers/service.js'
import { sqliteOnly } from '../helpers/engine.js'
import { adminCall } from '../helpers/http-client.js'

const modeOf = (file: string): string => (statSync(file).mode & 0o777).toString(8)

t.test('every file beside the ledger is 0600, an old 0644 ledger is tightened, a readable key file refused', sqliteOnly('the ledger file and its -wal/-shm are SQLite\'s'), async t => {
  const dir = mkdtempSync(join(tmpdir(), 'yikatong-modes-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const dbPath = join(dir, 'ledger.db')
  const svc = await startService({ seed: 'demo', dbPath, t })
  t.equal((await adminCall(svc.url, svc.adminToken, 'POST', '/v1/admin/cards', { cardNo: 'FM0000001', issuer: '370200' })).status, 201)
  const files = readdirSync(dir).sort()
  for (const name of ['ledger.db', 'ledger.db-wal', 'ledger.db-shm', 'card-token.key', 'terminal-secrets.key', 'issuer-keys.json']) {
    t.ok(files.includes(name), `${name} is there`)
  }
  for (const name of files) t.equal(modeOf(join(dir, name)), '600', `${name} is 0600`)
  t.equal(await svc.stop(), 0)

  // An older version left the ledger 0644: the next start tightens it.
  chmodSync(dbPath, 0o644)
  const again = await startService({ seed: 'none', dbPath, t })
  t.equal(modeOf(dbPath), '600', 'the ledger is 0600 again after a start')
  t.equal(await again.stop(), 0)

  // A key file anyone may read is a key anyone has: refused, by name.
  chmodSync(join(dir, 'terminal-secrets.key'), 0o644)
  await t.rejects(startService({ seed: 'none', dbPath, t }), /terminal-secrets\.key is readable by group or others/)
  writeFileSync(join(dir, 'marker'), '') // the folder is still ours to write: nothing was half-started
})
