// A crash leaves its explanation in the log: an uncaught error is logged as a fatal line that
// reaches stdout before the process exits 1. (main.ts also flushes synchronously before exiting, for
// lines queued behind a write in flight; this test alone does not tell the two apart.)
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { killOnExit } from '../../terminals/lab/json-child.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

t.test('an uncaught error is logged and flushed before exit', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'yikatong-crash-log-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', join(ROOT, 'test', 'ops', 'fixtures', 'crash-after-ready.mjs'), 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', DB_PATH: join(dir, 'ledger.db'), ADMIN_TOKEN: 'crash-admin-token', SEED: 'none', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  killOnExit(child)
  let stdout = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000) // bounded either way
  const code = await new Promise<number | null>(resolve => child.once('exit', c => resolve(c)))
  clearTimeout(timer)
  t.equal(code, 1, 'exits 1')
  const fatal = stdout.split('\n').filter(l => l.includes('"level":60')).map(l => JSON.parse(l))
  t.equal(fatal.length, 1, 'one fatal line')
  t.match(fatal[0], { msg: 'uncaught exception', err: { message: 'test crash after ready' } })
})
