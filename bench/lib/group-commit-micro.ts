// Direct micro-benchmark of the ledger's write path: TapProcessor + GroupCommitter on a temp file
// with the service's connection settings (openLedgerDb: WAL, synchronous=FULL), fed the bench mix
// in waves of `batch` taps (one wave = one group commit). No HTTP: this is the ledger's own ceiling.
// Splits each batch's time into deciding+writing the taps (inside the transaction) and the rest
// (BEGIN/COMMIT: the WAL write, its fsync, and any automatic checkpoint).
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fastJson from 'fast-json-stringify'
import { emptyKeyRing } from '../../src/cards/qr-token.js'
import { loadSchemas } from '../../src/app.js'
import { FIXTURES_DIR, loadFixtures } from '../../src/fixtures.js'
import { GroupCommitter } from '../../src/ledger/group-commit.js'
import { openLedgerDb, type Db } from '../../src/ledger/schema.js'
import { LedgerStore } from '../../src/ledger/store.js'
import { AT_PAST_MS_MAX_ONLINE, TapProcessor, type TapAnswer, type TapJob, type TapOutcome, type TapRequest } from '../../src/ledger/tap-processor.js'
import { buildCatalogue } from '../../src/rules/catalogue.js'
import { buildFleet, type FleetSizes } from './fleet.js'
import { provisionFleet } from './provision.js'
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
  const schemas = loadSchemas()
  return fastJson(schemas.find(s => s.$id === 'tap-response.json') as unknown as fastJson.Schema,
    { schema: Object.fromEntries(schemas.map(s => [String(s.$id), s])) as unknown as Record<string, fastJson.Schema> }) as (a: TapAnswer) => string
}

export async function groupCommitMicro (o: { sizes: FleetSizes, batches: number[], tapsPerBatchSize: number, pragmas?: string[], dir?: string }): Promise<GroupCommitMicroResult[]> {
  const dir = mkdtempSync(join(o.dir ?? tmpdir(), 'yikatong-gc-'))
  try {
    const dbPath = join(dir, 'ledger.db')
    const fleet = buildFleet(o.sizes)
    await provisionFleet(dbPath, fleet)
    const fixtures = loadFixtures(FIXTURES_DIR)
    const catalogue = buildCatalogue(fixtures)
    const db: Db = openLedgerDb(dbPath)
    for (const p of o.pragmas ?? []) db.pragma(p)
    const store = new LedgerStore(db)
    const terminals = new Map(store.allTerminals().map(t => [t.terminalId, t]))
    const processor = new TapProcessor({ store, catalogue, qrKeys: emptyKeyRing(), nowMs: Date.now, serialize: serializer() })
    let processNs = 0n
    const commitMs: number[] = []
    const committer = new GroupCommitter<TapJob, TapOutcome>({
      db,
      processOne: job => {
        const started = process.hrtime.bigint()
        try { return processor.process(job) } finally { processNs += process.hrtime.bigint() - started }
      },
      batchSizeMax: 4096,
      queueDepthMax: 8192,
      onBatch: ({ commitMs: ms }) => { commitMs.push(ms) }
    })
    const at = new Date(Date.now() + 8 * 3_600_000).toISOString().replace('Z', '+08:00')
    let g = 0
    const jobsFor = (n: number): TapJob[] => Array.from({ length: n }, () => {
      const planned = plannedTap(fleet, g++, at)
      const tap = planned.body as unknown as TapRequest
      return { terminal: terminals.get(planned.terminal.terminalId)!, tap, bodyHash: createHash('sha256').update(JSON.stringify(tap)).digest('hex'), atPastMsMax: AT_PAST_MS_MAX_ONLINE }
    })
    // Warm-up: JIT, statement caches, the first pages of every table.
    for (let i = 0; i < 20; i++) await Promise.all(jobsFor(64).map(async j => await committer.submit(j)))
    const results: GroupCommitMicroResult[] = []
    for (const batch of o.batches) {
      const waves = Math.max(1, Math.floor(o.tapsPerBatchSize / batch))
      const jobs = jobsFor(waves * batch)
      processNs = 0n
      commitMs.length = 0
      const started = performance.now()
      for (let w = 0; w < waves; w++) {
        await Promise.all(jobs.slice(w * batch, (w + 1) * batch).map(async j => await committer.submit(j)))
      }
      const elapsedMs = performance.now() - started
      const taps = waves * batch
      const processMs = Number(processNs) / 1e6
      const sorted = [...commitMs].sort((a, b) => a - b)
      const totalBatchMs = commitMs.reduce((s, x) => s + x, 0)
      results.push({
        batch,
        taps,
        tapsPerSecond: Math.round(taps / (elapsedMs / 1000)),
        processUsPerTap: Math.round(processMs * 1000 / taps * 10) / 10,
        commitMsPerBatch: Math.round((totalBatchMs - processMs) / commitMs.length * 1000) / 1000,
        batchMsP99: Math.round((sorted[Math.ceil(sorted.length * 0.99) - 1] ?? 0) * 1000) / 1000
      })
    }
    await committer.close()
    db.close()
    return results
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
