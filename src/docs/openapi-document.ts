// The OpenAPI document exactly as GET /docs/json serves it, from a throwaway app (temporary empty
// ledger, no demo data): bin/openapi.ts writes it to openapi.json, the test compares the two.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../app.js'

export async function servedOpenApi (): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'yikatong-openapi-'))
  try {
    const { app } = await buildApp({ dbPath: join(dir, 'ledger.db'), adminToken: 'openapi-only', seed: 'none', logLevel: 'silent' })
    try {
      const response = await app.inject('/docs/json')
      if (response.statusCode !== 200) throw new Error(`GET /docs/json answered ${response.statusCode}`)
      return response.body
    } finally { await app.close() }
  } finally { rmSync(dir, { recursive: true, force: true }) }
}

/** The committed file's form: the served JSON, indented, one trailing newline. */
export function openApiFileText (served: string): string {
  return JSON.stringify(JSON.parse(served), null, 2) + '\n'
}
