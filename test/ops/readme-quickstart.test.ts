// The README's quick-start tap commands, run in order against a listening service exactly as
// written (with --url added): each answers 200 with the decision its comment promises, and none is
// a duplicate of an earlier one (the QR example used to repeat the first bus tap: DUPLICATE_TAP).
import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { ADMIN_TOKEN, buildTestApp } from '../helpers/app.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

function quickStartTaps (): string[][] {
  const block = /With the service running, in another shell:\n\n```sh\n([\s\S]*?)```/.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'))![1]!
  return block.split('\n').filter(l => /npm run tap\b/.test(l) && !l.includes('--help')).map(line => {
    const args = line.replace(/#.*$/, '').replace(/^ADMIN_TOKEN=… /, '').replace(/^npm run tap( --)?/, '').trim()
    return [...args.matchAll(/'([^']*)'|(\S+)/g)].map(m => m[1] ?? m[2]!)
  })
}

t.test('quick-start taps', async t => {
  const h = await buildTestApp(t)
  const base = await h.app.listen({ port: 0, host: '127.0.0.1' })
  const commands = quickStartTaps()
  t.ok(commands.length >= 5, `${commands.length} tap commands in the README`)
  for (const args of commands) {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(ROOT, 'bin', 'tap.ts'), ...args, '--url', base], { cwd: ROOT, env: { ...process.env, ADMIN_TOKEN }, timeout: 30_000 })
    t.match(stdout, /→ 200/, `npm run tap -- ${args.join(' ')}`)
    const answer = JSON.parse(stdout.slice(stdout.indexOf('{')))
    t.equal(answer.decision, 'approved', `${args.join(' ')}: ${answer.reason ?? 'approved'}`)
  }
})
