// The requires() helper: a missing system package skips the suite and says why, and fails under CI.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { commandExists, inCi } from './helpers/requires.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

function runSuite (env: Record<string, string | undefined>): { status: number | null, out: string } {
  const dir = mkdtempSync(join(ROOT, 'test', '.requires-'))
  try {
    const file = join(dir, 'needs-missing.ts')
    writeFileSync(file, `import t from 'tap'\nimport { requires } from '../helpers/requires.js'\n` +
      `const need = requires('ykt-no-such-command', { for: 'a demo suite', install: 'apt-get install -y nothing' })\n` +
      `t.test('uses the command', need, async t => { t.pass('ran') })\n`)
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env }
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k]
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env: childEnv, encoding: 'utf8' })
    return { status: r.status, out: r.stdout + r.stderr }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

t.test('missing on a developer machine: skipped, saying what and how to install', async t => {
  const r = runSuite({ CI: undefined })
  t.equal(r.status, 0, 'the run passes')
  t.match(r.out, /# SKIP ykt-no-such-command is not installed: needed for a demo suite \(install: apt-get install -y nothing\)/)
  t.notMatch(r.out, /ok \d+ - ran/, 'the suite did not run')
})

t.test('missing with CI set: the run fails, with the same message', async t => {
  const r = runSuite({ CI: 'true' })
  t.not(r.status, 0, 'the run fails')
  t.match(r.out, /not ok \d+ - CI is set and a required system package is missing: ykt-no-such-command is not installed/)
})

t.test('detection and the CI switch', async t => {
  t.ok(commandExists('sh'))
  t.notOk(commandExists('ykt-no-such-command'))
  t.throws(() => commandExists('sh; rm -rf /'), RangeError, 'only plain command names')
  t.same([inCi({}), inCi({ CI: '' }), inCi({ CI: 'false' }), inCi({ CI: '0' }), inCi({ CI: 'true' }), inCi({ CI: '1' })], [false, false, false, false, true, true])
})
