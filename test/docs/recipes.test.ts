// The signing recipes in docs/recipes/ (curl+openssl shell, Python, Java, Go, C) reproduce the
// README's worked example and agree with src/auth/signature.ts on another request; the shell
// recipe's --send makes a real signed tap against the service. A recipe whose toolchain is missing
// is skipped with a message, and fails instead when CI is set (.ci/run installs the toolchains).
import t from 'tap'
import { execFile, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bodySha256Hex, sign } from '../../src/auth/signature.js'
import { buildTestApp, localAt, physical, tapId } from '../helpers/app.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const RECIPES = join(ROOT, 'docs', 'recipes')
const RUN_MS_MAX = 120_000

/** The worked example as the README states it (so README and recipes cannot drift apart). */
function readmeExample (): { secret: string, timestamp: string, body: string, bodySha256: string, signature: string } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const cell = (label: string): string => {
    const m = new RegExp(`^\\| ${label} \\| \`([^\`]+)\``, 'm').exec(readme)
    if (m === null) throw new Error(`README worked example has no "${label}" row`)
    return m[1]!
  }
  return { secret: cell('secret'), timestamp: cell('X-Timestamp'), body: cell('body'), bodySha256: cell('SHA-256\\(body\\)'), signature: cell('X-Signature') }
}

function has (command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0
}

const buildDir = mkdtempSync(join(tmpdir(), 'yikatong-recipes-'))
t.teardown(() => rmSync(buildDir, { recursive: true, force: true }))

interface Recipe { name: string, needs: string[], build?: () => void, run: string[] }
const recipes: Recipe[] = [
  { name: 'curl + openssl (sign.sh)', needs: ['bash', 'openssl'], run: ['bash', join(RECIPES, 'sign.sh')] },
  { name: 'Python (sign.py)', needs: ['python3'], run: ['python3', join(RECIPES, 'sign.py')] },
  { name: 'Java (Sign.java)', needs: ['javac', 'java'], build: () => exec(['javac', '-d', buildDir, join(RECIPES, 'Sign.java')]), run: ['java', '-cp', buildDir, 'Sign'] },
  { name: 'Go (sign.go)', needs: ['go'], build: () => exec(['go', 'build', '-o', join(buildDir, 'sign-go'), join(RECIPES, 'sign.go')], { GOCACHE: join(buildDir, 'gocache'), GOFLAGS: '-mod=mod', GO111MODULE: 'off' }), run: [join(buildDir, 'sign-go')] },
  { name: 'C (sign.c)', needs: ['gcc', 'pkg-config:libcrypto'], build: () => exec(['gcc', '-O2', '-o', join(buildDir, 'sign-c'), join(RECIPES, 'sign.c'), '-lcrypto']), run: [join(buildDir, 'sign-c')] }
]

function exec (argv: string[], env: Record<string, string> = {}): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: RUN_MS_MAX, env: { ...process.env, ...env } })
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}${r.error?.message ?? ''}`)
  return r.stdout
}

function missing (needs: string[]): string[] {
  return needs.filter(n => n.startsWith('pkg-config:') ? spawnSync('pkg-config', ['--exists', n.slice(11)]).status !== 0 : !has(n))
}

const example = readmeExample()
const other = { secret: 'another secret ✓', method: 'GET', path: '/v1/terminal/me?x=1', timestamp: '1700000000000', body: '' }

for (const recipe of recipes) {
  const absent = missing(recipe.needs)
  if (absent.length > 0) {
    const why = `${recipe.name}: ${absent.join(', ')} not installed`
    if (process.env.CI !== undefined) t.fail(`${why} (.ci/run must install it)`)
    else t.test(recipe.name, { skip: why }, async () => {})
    continue
  }
  t.test(recipe.name, async t => {
    recipe.build?.()
    const out = exec([...recipe.run, example.secret, 'POST', '/v1/taps', example.timestamp, example.body])
    t.match(out, `body-sha256: ${example.bodySha256}\n`, 'the README body hash')
    t.match(out, `x-signature: ${example.signature}\n`, 'the README signature')
    // Another request, an empty body and a non-ASCII secret: the same answer as the service's code.
    const expected = sign(other.secret, other.method, other.path, other.timestamp, bodySha256Hex(other.body))
    t.match(exec([...recipe.run, other.secret, other.method, other.path, other.timestamp, other.body]), `x-signature: ${expected}\n`, 'agrees with src/auth/signature.ts')
  })
}

t.test('sign.sh --send makes a real signed tap', async t => {
  if (missing(['bash', 'openssl', 'curl']).length > 0) {
    if (process.env.CI !== undefined) t.fail('bash, openssl and curl are needed')
    else t.comment('skipped: bash, openssl or curl not installed')
    return
  }
  const h = await buildTestApp(t)
  const base = await h.app.listen({ port: 0, host: '127.0.0.1' })
  const body = JSON.stringify({ tapId: tapId('recipe'), at: localAt(), card: physical('JN0000001', '370100') })
  // Asynchronously: the service answering curl runs in this process.
  const send = promisify(execFile)
  const r = await send('bash', [join(RECIPES, 'sign.sh'), '--send', base, 'jinan-bus-01', 'demo-secret-jinan-bus-01', body], { encoding: 'utf8', timeout: RUN_MS_MAX })
  t.match(JSON.parse(r.stdout), { decision: 'approved' })
  const bad = await send('bash', [join(RECIPES, 'sign.sh'), '--send', base, 'jinan-bus-01', 'wrong-secret', body], { encoding: 'utf8', timeout: RUN_MS_MAX }).then(() => undefined, (e: { code: number, stdout: string }) => e)
  t.ok(bad !== undefined && bad.code !== 0, 'a wrong secret fails')
  t.match(bad?.stdout, /UNAUTHENTICATED/)
})
