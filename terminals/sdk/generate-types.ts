// Generates terminals/sdk/contract-types.ts from the contract schemas (schemas/*.json) with
// json-schema-to-typescript, so the SDK's types are the service's schemas, not a hand copy.
// `npm run sdk:types` rewrites the file; test/sdk/terminal-client.test.ts fails when it is stale.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { compile, type JSONSchema } from 'json-schema-to-typescript'
import { SCHEMAS_DIR } from '../../src/app.js'

/** Every contract schema becomes one type, named from its file: tap-request.json → TapRequest. */
const typeName = (file: string): string => file.replace(/\.json$/, '').split('-').map(w => w[0]!.toUpperCase() + w.slice(1)).join('')

/** "tap-response.json", "error.json#/properties/error" → a local ref into the combined schema. */
function localRef (ref: string): string {
  const [file, pointer = ''] = ref.split('#')
  return `#/definitions/${typeName(file!)}${pointer}`
}

function rewriteRefs (node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs)
  if (node === null || typeof node !== 'object') return node
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string' && !v.startsWith('#')) out[k] = localRef(v)
    else if (k === 'title' || k === '$id') continue // titles would become type names
    else out[k] = rewriteRefs(v)
  }
  return out
}

export async function contractTypes (): Promise<string> {
  const definitions: Record<string, unknown> = {}
  for (const file of readdirSync(SCHEMAS_DIR).filter(f => f.endsWith('.json')).sort()) {
    const schema = rewriteRefs(JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8'))) as Record<string, unknown>
    definitions[typeName(file)] = { ...schema, title: typeName(file) }
  }
  const combined = { title: 'Contract', type: 'object', additionalProperties: false, properties: {}, definitions } as unknown as JSONSchema
  const text = await compile(combined, 'Contract', { bannerComment: '', format: false, unreachableDefinitions: true, additionalProperties: true })
  return '// Generated from schemas/ by terminals/sdk/generate-types.ts (npm run sdk:types). Do not edit.\n' + text
}
