// `npm run build [-- --out DIR]`: compiles src/, bin/ and terminals/ to plain JavaScript (default
// dist/) and copies the data the code reads at run time (schemas/, fixtures/, console/) beside it,
// so `npm run start:prod` runs `node dist/src/main.js` with no TypeScript loader.
import { execFileSync } from 'node:child_process'
import { cpSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { out: { type: 'string', default: 'dist' }, help: { type: 'boolean', short: 'h', default: false } } })
if (values.help) {
  process.stdout.write('usage: npm run build [-- --out DIR]\n  compiles to DIR (default dist/) and copies schemas/, fixtures/, console/ beside the code\n')
  process.exit(0)
}
rmSync(values.out, { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', values.out], { stdio: 'inherit' })
for (const dir of ['schemas', 'fixtures', 'console']) cpSync(dir, join(values.out, dir), { recursive: true })
process.stdout.write(`built ${values.out}/ (start it with: node ${values.out}/src/main.js)\n`)
