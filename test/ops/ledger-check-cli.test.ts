// `npm run ledger:check` on whichever engine the suite runs on: a file (DB_PATH) or PostgreSQL
// (DATABASE_URL, the way a restored backup is checked). A sound ledger exits 0; one whose card
// balance was changed behind the ledger's back (a posting-less edit) exits 1 and names it.
import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startService } from '../helpers/service.js'
import { adminCall } from '../helpers/http-client.js'
import { execStoredLedger } from '../helpers/engine.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const run = promisify(execFile)

async function ledgerCheck (env: Record<string, string>): Promise<{ code: number, report: { ok: boolean, problems: string[] } }> {
  try {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bin/ledger-check.ts'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 })
    return { code: 0, report: JSON.parse(stdout) }
  } catch (error) {
    const failed = error as { code: number, stdout: string, stderr: string }
    if (failed.stdout === '') throw new Error(`ledger:check printed no report (exit ${failed.code}): ${failed.stderr}`)
    return { code: failed.code, report: JSON.parse(failed.stdout) }
  }
}

t.test('ledger:check on the suite\'s engine: sound exits 0, a balance edited behind the ledger exits 1', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'yikatong-check-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const svc = await startService({ seed: 'none', dbPath: join(dir, 'ledger.db'), t })
  const created = await adminCall(svc.url, svc.adminToken, 'POST', '/v1/admin/cards', { cardNo: 'LC0000001', issuer: '370200', accounts: { bank: 5_000 } })
  t.equal(created.status, 201)
  t.equal(await svc.stop(), 0)
  const env: Record<string, string> = svc.databaseUrl === undefined ? { DB_PATH: svc.dbPath } : { DATABASE_URL: svc.databaseUrl }

  const sound = await ledgerCheck(env)
  t.equal(sound.code, 0, 'exits 0')
  t.equal(sound.report.ok, true, 'reports ok')

  // The ledger's only card (seed none): cards are kept by token, not number.
  await execStoredLedger(svc, "UPDATE accounts SET balance = balance + 1 WHERE id = (SELECT bank_account_id FROM cards)")
  const broken = await ledgerCheck(env)
  t.equal(broken.code, 1, 'exits 1')
  t.equal(broken.report.ok, false, 'reports the broken invariant')
  t.ok(broken.report.problems.length > 0, `names it: ${broken.report.problems.join('; ')}`)
})
