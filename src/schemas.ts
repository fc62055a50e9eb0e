// The contract's JSON Schemas (schemas/*.json): validation and answer serialisation both use them.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const SCHEMAS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas')

export function loadSchemas (dir: string = SCHEMAS_DIR): Array<Record<string, unknown>> {
  return readdirSync(dir).filter(f => f.endsWith('.json')).sort()
    .map(f => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>)
}
