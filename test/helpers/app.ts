// Boots the real app on a fresh temporary ledger for tests (inject, or port 0 via app.listen).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { Test } from 'tap'
import Database from 'better-sqlite3'
import { buildApp, type App, type AppOptions } from '../../src/app.js'
import { signedHeaders } from '../../src/auth/signature.js'
import { demoSecret } from '../../src/service/demo-seed.js'
import { CardVault } from '../../src/cards/card-vault.js'
import { cardDataKey } from '../../src/ops/card-token-key.js'
import { createTestDatabase, queryStoredLedger, testEngine } from './engine.js'

export const ADMIN_TOKEN = 'test-admin-token'

export interface TestApp extends App {
  dbPath: string
  /** Set when the suite runs on PostgreSQL (test/helpers/engine.ts): this test's own database. */
  databaseUrl?: string
  logLines: string[]
  admin: (method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown) => Promise<{ statusCode: number, json: any, body: string }>
  tap: (terminalId: string, body: unknown, options?: { secret?: string, url?: string, nowMs?: number }) => Promise<{ statusCode: number, json: any, body: string }>
  /** A read-only connection to the ledger file, closed at teardown: to look at what was recorded. */
  readLedger: () => Database.Database
  /** Rows off whichever storage the app runs on (portable SQL): SQLite file or PostgreSQL. */
  query: (sql: string) => Promise<any[]>
  /** The ledger's key of a card (src/cards/card-vault.ts): what its rows are stored under. */
  cardToken: (cardNo: string) => string
}

export function tempDbPath (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'yikatong-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'ledger.db')
}

export async function buildTestApp (t: Test, options: Partial<AppOptions> = {}): Promise<TestApp> {
  const dbPath = options.dbPath ?? tempDbPath(t)
  // One switch for the suite: YKT_TEST_ENGINE=postgres puts every app on a database of its own.
  const databaseUrl = options.databaseUrl ?? (testEngine() === 'postgres' && options.faultInjection !== true ? await createTestDatabase(t) : undefined)
  const logLines: string[] = []
  const logStream = new Writable({
    write (chunk, _encoding, done) { logLines.push(...String(chunk).split('\n').filter(l => l !== '')); done() }
  })
  const built = await buildApp({ dbPath, adminToken: ADMIN_TOKEN, seed: 'demo', logStream, ...options, ...(databaseUrl === undefined ? {} : { databaseUrl }) })
  t.teardown(async () => { await built.app.close() })
  const parse = (r: { statusCode: number, body: string }): { statusCode: number, json: any, body: string } =>
    ({ statusCode: r.statusCode, body: r.body, json: safeJson(r.body) })
  return {
    ...built,
    dbPath,
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
    logLines,
    admin: async (method, url, body) => parse(await built.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      payload: body === undefined ? undefined : JSON.stringify(body)
    })),
    query: async sql => await queryStoredLedger({ dbPath, databaseUrl }, sql),
    cardToken: (() => {
      const vault = new CardVault(options.cardDataKey ?? cardDataKey({ envValue: undefined, dbPath }).key)
      return (cardNo: string) => vault.token(cardNo)
    })(),
    readLedger: () => {
      if (databaseUrl !== undefined) throw new Error('readLedger reads the SQLite file: mark the test sqliteOnly() (test/helpers/engine.ts)')
      const db = new Database(dbPath, { readonly: true, fileMustExist: true })
      t.teardown(() => db.close())
      return db
    },
    tap: async (terminalId, body, o = {}) => {
      const url = o.url ?? '/v1/taps'
      const payload = typeof body === 'string' ? body : JSON.stringify(body)
      const headers = signedHeaders({ terminalId, secret: o.secret ?? demoSecret(terminalId), method: 'POST', path: url, body: payload, nowMs: o.nowMs })
      return parse(await built.app.inject({ method: 'POST', url, payload, headers: { ...headers, 'content-type': 'application/json' } }))
    }
  }
}

function safeJson (body: string): any {
  try { return JSON.parse(body) } catch { return undefined }
}

/** An RFC 3339 local (+08:00) time `offsetMs` from now, as terminals send it. */
export function localAt (offsetMs = 0, nowMs = Date.now()): string {
  const shifted = new Date(nowMs + offsetMs + 8 * 3_600_000)
  return shifted.toISOString().replace('Z', '+08:00')
}

let tapCounter = 0
export function tapId (prefix = 't'): string {
  tapCounter += 1
  return `${prefix}-${process.pid}-${tapCounter}`
}

export function physical (cardNo: string, issuer: string): { type: 'physical', cardNo: string, issuer: string } {
  return { type: 'physical', cardNo, issuer }
}
