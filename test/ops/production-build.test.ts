// The product to run: `npm run build` compiles to plain JavaScript and the compiled service starts
// with plain `node` (no tsx loader), answers /readyz, /docs/json and /console, takes a tap from the
// compiled tap command, and stops cleanly on SIGTERM. Built into a temporary folder, not dist/.
import t from 'tap'
import { execFile, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { killOnExit } from '../../terminals/lab/json-child.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const run = promisify(execFile)

t.test('compiled service runs without tsx', { timeout: 170_000 }, async t => {
  const out = mkdtempSync(join(ROOT, '.build-test-'))
  const data = mkdtempSync(join(tmpdir(), 'yikatong-prod-'))
  t.teardown(() => { rmSync(out, { recursive: true, force: true }); rmSync(data, { recursive: true, force: true }) })
  await run(process.execPath, ['scripts/build.mjs', '--out', out], { cwd: ROOT, timeout: 150_000 })
  t.ok(existsSync(join(out, 'src', 'main.js')), 'main.js built')
  t.ok(existsSync(join(out, 'console', 'index.html')) && existsSync(join(out, 'schemas', 'tap-request.json')), 'run-time data copied')
  // The systemd units start scripts the build made (/opt/yikatong/dist/... is this build's out/...).
  for (const unit of readdirSync(join(ROOT, 'deploy', 'systemd'))) {
    const exec = /^ExecStart=\/usr\/bin\/node \/opt\/yikatong\/dist\/(\S+)/m.exec(readFileSync(join(ROOT, 'deploy', 'systemd', unit), 'utf8'))
    t.ok(exec !== null && existsSync(join(out, exec[1]!)), `${unit} starts ${exec?.[1]}, which the build made`)
  }
  const agentHelp = await run(process.execPath, [join(out, 'terminals', 'agent.js'), '--help'], { cwd: ROOT, timeout: 30_000 })
  t.match(agentHelp.stdout, /Terminal agent/, 'the compiled agent answers --help')

  // A clean environment: no tsx loader flags inherited from the test runner.
  const env = { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', DB_PATH: join(data, 'ledger.db'), ADMIN_TOKEN: 'prod-admin-token', SEED: 'demo', LOG_LEVEL: 'info' }
  const child = spawn(process.execPath, [join(out, 'src', 'main.js')], { cwd: data, env, stdio: ['ignore', 'pipe', 'pipe'] })
  killOnExit(child)
  let text = ''
  child.stdout.on('data', (d: Buffer) => { text += d.toString() })
  child.stderr.on('data', (d: Buffer) => { text += d.toString() })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 20 s: ${text}`)), 20_000)
    child.stdout.on('data', () => { const m = /listening on (http:\/\/\S+)/.exec(text); if (m !== null) { clearTimeout(timer); resolve(m[1]!) } })
  })
  // Bodies read to the end: a 90 KB answer left unread kept its connection busy (not idle) on the
  // server, and the clean stop then waited out its whole shutdown bound (CI: "shutdown took too long").
  const ready = await fetch(`${url}/readyz`)
  await ready.text()
  t.equal(ready.status, 200)
  const docs = await fetch(`${url}/docs/json`)
  await docs.text()
  t.equal(docs.status, 200)
  t.match(await (await fetch(`${url}/console`)).text(), /运维控制台/)
  const tap = await run(process.execPath, [join(out, 'bin', 'tap.js'), '--url', url], { cwd: ROOT, env, timeout: 30_000 })
  t.match(tap.stdout, /→ 200/)
  const exited = new Promise<string>(resolve => child.once('exit', (code, signal) => resolve(`code ${code} signal ${signal}`)))
  child.kill('SIGTERM')
  // On failure the service's own lines say why (a CI run once saw a non-zero exit here).
  t.equal(await exited, 'code 0 signal null', 'clean stop', { log: text.slice(-4000) })
  t.match(text, /"msg":"tap"/, 'the tap line reached the log')
  t.notOk(text.includes('tsx'), 'nothing mentions tsx')
})
