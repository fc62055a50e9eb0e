// Runs the real service as a child process (`node --import tsx src/main.ts`), as `npm start` does,
// for tests that need a separate process: crash, shutdown, serial end-to-end.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { killOnExit } from '../../terminals/lab/json-child.js'
import { createTestDatabase, testEngine } from './engine.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const READY_MS_MAX = 20_000

/** Processes sharing one PostgreSQL ledger must seal terminal secrets with one key (each test
 *  service has a folder, and so a key file, of its own). A test value, never a deployment's. */
export const SHARED_TERMINAL_SECRETS_KEY = 'test-terminal-secrets-key-shared-by-processes'
/** Processes sharing a PostgreSQL ledger share its card data key (a ledger refuses another) and
 *  its deny-list key (one list, one token per card). */
export const SHARED_CARD_DATA_KEY = 'test-card-data-key-shared-by-processes-0123'
export const SHARED_DENYLIST_TOKEN_KEY = 'test-denylist-token-key-shared-by-processes'

export interface RunningService {
  url: string
  adminToken: string
  dbPath: string
  /** Set when the service runs on PostgreSQL (the suite's switch, or given). */
  databaseUrl?: string
  child: ChildProcess
  output: () => string
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop: () => Promise<number | null>
  /** SIGKILL: no chance to flush or close anything. */
  kill: () => Promise<void>
}

export async function startService (opts: { seed?: 'demo' | 'none', dbPath?: string, databaseUrl?: string, env?: Record<string, string>, t?: Test } = {}): Promise<RunningService> {
  let ownDir: string | undefined
  const dbPath = opts.dbPath ?? join((ownDir = mkdtempSync(join(tmpdir(), 'yikatong-svc-'))), 'ledger.db')
  // The suite's switch (test/helpers/engine.ts): on PostgreSQL, a database of this test's own; a
  // restart passes the same databaseUrl, as it passes the same dbPath.
  const databaseUrl = opts.databaseUrl ?? (testEngine() === 'postgres' ? await createTestDatabase(opts.t ?? (await import('tap')).default) : undefined)
  const adminToken = 'svc-admin-token'
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DB_PATH: dbPath, ADMIN_TOKEN: adminToken, SEED: opts.seed ?? 'demo', LOG_LEVEL: 'warn', ...(databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl, TERMINAL_SECRETS_KEY: SHARED_TERMINAL_SECRETS_KEY, CARD_DATA_KEY: SHARED_CARD_DATA_KEY, DENYLIST_TOKEN_KEY: SHARED_DENYLIST_TOKEN_KEY }), ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  killOnExit(child) // never outlive the test process, even when it dies abruptly
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-200_000) })
  child.stderr.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-200_000) })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service not ready in ${READY_MS_MAX} ms:\n${out}`)), READY_MS_MAX)
    const onData = (): void => {
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match !== null) { clearTimeout(timer); child.stdout.off('data', onData); resolve(match[1]!) }
    }
    child.stdout.on('data', onData)
    void exited.then(code => { clearTimeout(timer); reject(new Error(`service exited (${code}) before ready:\n${out}`)) })
  })
  const cleanup = (): void => { if (ownDir !== undefined) rmSync(ownDir, { recursive: true, force: true }) }
  return {
    url,
    adminToken,
    dbPath,
    ...(databaseUrl === undefined ? {} : { databaseUrl }),
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      const code = await exited
      cleanup()
      return code
    },
    kill: async () => {
      if (child.exitCode === null) child.kill('SIGKILL')
      await exited
    }
  }
}
