// The service as `npm start` runs it: a single tap line reaches stdout while the service idles
// (the former 4 KiB minimum write held it back until more lines came), lines carry ISO times, and a
// generated admin token goes to stderr only, never to the log stream (stdout).
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { signedHeaders } from '../../src/auth/signature.js'
import { demoSecret } from '../../src/service/demo-seed.js'
import { killOnExit } from '../../terminals/lab/json-child.js'
import { localAt, physical, tapId } from '../helpers/app.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const WAIT_MS_MAX = 15_000

async function until (what: string, test: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS_MAX
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

t.test('log lines reach stdout promptly; the generated admin token does not', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'yikatong-logs-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DB_PATH: join(dir, 'ledger.db'), ADMIN_TOKEN: '', SEED: 'demo', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  killOnExit(child)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  await until('the ready line', () => /listening on http:\/\/\S+/.test(stdout))
  const url = /listening on (http:\/\/\S+)/.exec(stdout)![1]!
  const token = /ADMIN_TOKEN \(generated for this run\): (\S+)/.exec(stderr)?.[1]
  t.ok(token, 'the generated token is printed on stderr')
  t.notOk(stdout.includes(token!), 'and not on stdout, the log stream')

  const body = JSON.stringify({ tapId: tapId('log'), at: localAt(), card: physical('JN0000001', '370100') })
  const headers = signedHeaders({ terminalId: 'jinan-bus-01', secret: demoSecret('jinan-bus-01'), method: 'POST', path: '/v1/taps', body })
  t.equal((await fetch(`${url}/v1/taps`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body })).status, 200)
  // One short line on an otherwise idle service: with a minimum write size it would sit in memory.
  await until('the tap line on stdout', () => stdout.includes('"msg":"tap"'))
  const line = JSON.parse(stdout.split('\n').find(l => l.includes('"msg":"tap"'))!)
  t.match(line.time, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'ISO time')
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  child.kill('SIGTERM')
  t.equal(await exited, 0)
  t.notOk(stdout.includes(token!), 'not at exit either')
})
