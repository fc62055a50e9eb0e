// Online backup (issue #13 item 9): `npm run ledger:backup` copies the ledger from a separate
// process while the service is taking taps, the copy verifies, and the service started on the copy
// replays every tap approved before the backup, byte for byte.
import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, openSync, rmSync, statSync, writeSync, closeSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { demoSecret } from '../src/service/demo-seed.js'
import { localAt } from './helpers/app.js'
import { postSigned } from './helpers/http-client.js'
import { startService } from './helpers/service.js'
import { sqliteOnly } from './helpers/engine.js'
import { backupLedger, verifyLedgerFile } from '../bin/ledger-backup.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const run = promisify(execFile)
const CARDS = ['JN0000001', 'QD0000001', 'ZZ0000001', 'JN0000003']
const ISSUER: Record<string, string> = { J: '370100', Q: '370200', Z: '410100' }
const TERMINALS = ['jinan-bus-01', 'qingdao-bus-01', 'zhengzhou-bus-01']

t.test('backup while serving, then restore: every tap approved before the backup replays', sqliteOnly('SQLite\'s backup API; PostgreSQL uses base backups + WAL (docs/postgresql.md)'), async t => {
  const dir = mkdtempSync(join(tmpdir(), 'yikatong-backup-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const svc = await startService({ dbPath: join(dir, 'ledger.db') })
  t.teardown(async () => { await svc.kill() })
  interface Sent { terminal: string, body: Record<string, unknown>, answer: string, answeredAtMs: number }
  const approved: Sent[] = []
  let stop = false
  let n = 0
  const worker = async (w: number): Promise<void> => {
    while (!stop) {
      const i = n++
      const terminal = TERMINALS[i % TERMINALS.length]!
      const cardNo = CARDS[i % CARDS.length]!
      const body = { tapId: `bk-${w}-${i}`, at: localAt(), card: { type: 'physical', cardNo, issuer: ISSUER[cardNo[0]!] } }
      const a = await postSigned(svc.url, terminal, demoSecret(terminal), '/v1/taps', body)
      if (a.status === 200 && a.json?.decision === 'approved') approved.push({ terminal, body, answer: a.body, answeredAtMs: Date.now() })
    }
  }
  const workers = [0, 1, 2, 3].map(worker)
  while (approved.length < 100) await new Promise(resolve => setTimeout(resolve, 10))

  // The backup runs as its own process, as ops would run it, while the workers keep tapping.
  const out = join(dir, 'backup.db')
  const startedAtMs = Date.now()
  const before = approved.filter(a => a.answeredAtMs < startedAtMs).length
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bin/ledger-backup.ts', '--db', svc.dbPath, '--out', out], { cwd: ROOT })
  const report = JSON.parse(stdout)
  const duringBackup = approved.length - before
  t.match(report, { ok: true, integrity: 'ok', ledgerCheck: { ok: true } }, 'the copy verifies')
  t.equal(statSync(out).mode & 0o777, 0o600, 'the copy is owner-only')
  while (approved.length < before + duringBackup + 20) await new Promise(resolve => setTimeout(resolve, 10))
  stop = true
  await Promise.all(workers)
  t.ok(approved.length > before, `the service kept approving during and after the backup (${approved.length - before} more)`)
  t.equal(await svc.stop(), 0)

  const restored = await startService({ dbPath: out, seed: 'none' })
  t.teardown(async () => { await restored.kill() })
  const mustReplay = approved.filter(a => a.answeredAtMs < startedAtMs)
  let replayed = 0
  for (const a of mustReplay) {
    const again = await postSigned(restored.url, a.terminal, demoSecret(a.terminal), '/v1/taps', a.body)
    if (again.status === 200 && again.body === a.answer) replayed++
  }
  t.equal(replayed, mustReplay.length, `all ${mustReplay.length} taps approved before the backup replay their recorded answer`)
  t.equal(await restored.stop(), 0)
})

t.test('the tool refuses what it must, and a damaged copy is caught', sqliteOnly('the SQLite backup tool'), async t => {
  const dir = mkdtempSync(join(tmpdir(), 'yikatong-backup-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  await t.rejects(backupLedger({ db: join(dir, 'nope.db'), out: join(dir, 'b.db') }), { code: 'BACKUP_NO_SOURCE' })
  const svc = await startService({ dbPath: join(dir, 'ledger.db') })
  const dbPath = svc.dbPath
  t.equal(await svc.stop(), 0)
  writeFileSync(join(dir, 'taken.db'), 'x')
  await t.rejects(backupLedger({ db: dbPath, out: join(dir, 'taken.db') }), { code: 'BACKUP_OUT_EXISTS' })
  await t.rejects(backupLedger({ db: dbPath, out: dbPath, force: true }), { code: 'BACKUP_SAME_FILE' })
  await t.rejects(backupLedger({ db: dbPath, out: join(dir, 'no', 'such', 'b.db') }), { code: 'BACKUP_NO_OUT_DIR' })
  const cli = await run(process.execPath, ['--import', 'tsx', 'bin/ledger-backup.ts', '--db', dbPath], { cwd: ROOT }).catch((e: { code: number, stderr: string }) => e)
  t.match(cli, { code: 2, stderr: /usage/ }, 'no --out: usage, exit 2')

  const good = join(dir, 'good.db')
  t.match(await backupLedger({ db: dbPath, out: good }), { ok: true })
  t.match(verifyLedgerFile(good), { integrity: 'ok', ledgerCheck: { ok: true } })
  // Damage a page in the middle of the copy: verification must say so.
  const size = statSync(good).size
  const fd = openSync(good, 'r+')
  writeSync(fd, Buffer.alloc(4096, 0xA5), 0, 4096, Math.floor(size / 4096 / 2) * 4096)
  closeSync(fd)
  const damaged = verifyLedgerFile(good)
  t.not(damaged.integrity, 'ok', `damage found: ${damaged.integrity.slice(0, 80)}`)
  t.equal(damaged.ledgerCheck.ok, false)
})
