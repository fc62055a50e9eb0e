// Direct micro-benchmark of the ledger's write path: the writer's own transaction (TapMachine on a
// LedgerStore, BEGIN IMMEDIATE … flush balances … COMMIT) on a temp file with the service's
// connection settings (openLedgerDb: WAL, synchronous=FULL), fed the bench mix in waves of `batch`
// taps (one wave = one transaction). No HTTP, no thread hop: this is the ledger's own ceiling.
// Splits each batch's time into deciding+writing the taps (inside the transaction) and the rest
// (BEGIN, the batched balance UPDATEs, COMMIT: the WAL write, its fsync, any automatic checkpoint).
import { randomBytes } from 'node:crypto'
import { DenyListKeeper } from '../../src/ledger/deny-list.js'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildTapSerializer, type TapAnswer } from '../../src/api/tap-answer.js'
import { FIXTURES_DIR, loadFixtures } from '../../src/fixtures.js'
import type { TapJob, TapRequest } from '../../src/ledger/engine.js'
import { openLedgerDb, type Db } from '../../src/ledger/schema.js'
import { LedgerStore } from '../../src/ledger/store.js'
import { TapMachine } from '../../src/ledger/tap-machine.js'
import { buildCatalogue } from '../../src/rules/catalogue.js'
import { loadSchemas } from '../../src/schemas.js'
import { buildFleet, type FleetSizes } from './fleet.js'
import { benchVault, provisionFleet } from './provision.js'
import { plannedTap } from './tap-mix.js'

export interface GroupCommitMicroResult {
  batch: number
  taps: number
  tapsPerSecond: number
  /** Per tap, inside the transaction: idempotency lookup, rules, postings, state and tap rows. */
  processUsPerTap: number
  /** Per batch, outside processing: BEGIN + COMMIT (WAL write + fsync) + automatic checkpoints. */
  commitMsPerBatch: number
  /** p99 of the whole batch (processing + commit). */
  batchMsP99: number
}

export function serializer (): (a: TapAnswer) => string {
  return buildTapSerializer(loadSchemas())
}

export async function groupCommitMicro (o: { sizes: FleetSizes, batches: number[], tapsPerBatchSize: number, pragmas?: string[], dir?: string }): Promise<GroupCommitMicroResult[]> {
  const dir = mkdtempSync(join(o.dir ?? tmpdir(), 'yikatong-gc-'))
  try {
    const dbPath = join(dir, 'ledger.db')
    const fleet = buildFleet(o.sizes)
    await provisionFleet(dbPath, fleet)
    const catalogue = buildCatalogue(loadFixtures(FIXTURES_DIR))
    const vault = benchVault(dbPath)
    const db: Db = openLedgerDb(dbPath, { vault })
    for (const p of o.pragmas ?? []) db.pragma(p)
    const store = new LedgerStore(db, vault)
    const terminals = new Map(store.allTerminals().map(({ secret: _secret, ...t }) => [t.terminalId, t]))
    const machine = new TapMachine({ store, catalogue, serialize: serializer(), denyList: new DenyListKeeper(randomBytes(32)) })
    const begin = db.prepare('BEGIN IMMEDIATE')
    const commit = db.prepare('COMMIT')
    let processNs = 0n
    const batchMs: number[] = []
    const runBatch = (jobs: TapJob[]): void => {
      const started = performance.now()
      begin.run()
      const processStarted = process.hrtime.bigint()
      for (const job of jobs) {
        try { machine.process(job) } catch { /* a refused tap (409/400) records nothing */ }
      }
      processNs += process.hrtime.bigint() - processStarted
      store.flushBalances()
      commit.run()
      store.commit()
      batchMs.push(performance.now() - started)
    }
    const at = new Date(Date.now() + 8 * 3_600_000).toISOString().replace('Z', '+08:00')
    let g = 0
    const jobsFor = (n: number): TapJob[] => Array.from({ length: n }, () => {
      const planned = plannedTap(fleet, g++, at)
      const tap = planned.body as unknown as TapRequest
      return { terminal: terminals.get(planned.terminal.terminalId)!, tap, bodyHash: createHash('sha256').update(JSON.stringify(tap)).digest('hex'), nowMs: Date.now() }
    })
    // Warm-up: JIT, statement caches, the first pages of every table.
    for (let i = 0; i < 20; i++) runBatch(jobsFor(64))
    const results: GroupCommitMicroResult[] = []
    for (const batch of o.batches) {
      const waves = Math.max(1, Math.floor(o.tapsPerBatchSize / batch))
      const jobs = jobsFor(waves * batch)
      processNs = 0n
      batchMs.length = 0
      const started = performance.now()
      for (let w = 0; w < waves; w++) runBatch(jobs.slice(w * batch, (w + 1) * batch))
      const elapsedMs = performance.now() - started
      const taps = waves * batch
      const processMs = Number(processNs) / 1e6
      const sorted = [...batchMs].sort((a, b) => a - b)
      const totalBatchMs = batchMs.reduce((s, x) => s + x, 0)
      results.push({
        batch,
        taps,
        tapsPerSecond: Math.round(taps / (elapsedMs / 1000)),
        processUsPerTap: Math.round(processMs * 1000 / taps * 10) / 10,
        commitMsPerBatch: Math.round((totalBatchMs - processMs) / batchMs.length * 1000) / 1000,
        batchMsP99: Math.round((sorted[Math.ceil(sorted.length * 0.99) - 1] ?? 0) * 1000) / 1000
      })
    }
    db.close()
    return results
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
