// `npm run openapi`: writes openapi.json, the OpenAPI 3.1 document GET /docs/json serves.
// `npm run openapi -- --check`: exits 1 when the committed file differs from what is served.
import { readFileSync, writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { openApiFileText, servedOpenApi } from '../src/docs/openapi-document.js'

const HELP = `usage: npm run openapi -- [--check] [--out FILE]
  writes the OpenAPI 3.1 document that GET /docs/json serves (default file: openapi.json)
  --check     compare instead of writing; exit 1 when the file is stale
  --out FILE  another file to write or check`

const { values } = parseArgs({ options: { check: { type: 'boolean', default: false }, out: { type: 'string', default: 'openapi.json' }, help: { type: 'boolean', short: 'h', default: false } } })
if (values.help) { process.stdout.write(HELP + '\n'); process.exit(0) }

const text = openApiFileText(await servedOpenApi())
if (values.check) {
  let committed: string
  try { committed = readFileSync(values.out, 'utf8') } catch (error) {
    process.stderr.write(`cannot read ${values.out}: ${(error as Error).message}\n`); process.exit(1)
  }
  if (committed !== text) { process.stderr.write(`${values.out} is stale: run npm run openapi\n`); process.exit(1) }
  process.stdout.write(`${values.out} matches GET /docs/json\n`)
} else {
  writeFileSync(values.out, text)
  process.stdout.write(`wrote ${values.out} (${text.length} bytes)\n`)
}
