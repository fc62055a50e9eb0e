// The ledger's writer thread: it owns the only write connection. The event loop sends taps in
// batches (one message per loop turn); the writer takes every tap message that is waiting, up to
// TAP_BATCH_SIZE_MAX taps, decides and records them in ONE transaction, commits with one fsync, and
// sends every answer back in one message. The event loop never waits for an fsync; an answer leaves
// the writer only after COMMIT returned, so "answered only after it is durable" stays exactly true.
// Non-tap operations (cards, credits, terminals, reversals) each run in a transaction of their own.
import { parentPort, workerData } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import { buildTapSerializer } from '../api/tap-answer.js'
import { NONCE_PURGE_PER_BATCH_MAX, STATE_PURGE_PER_BATCH_MAX, TAP_BATCH_SIZE_MAX } from '../constants.js'
import { DomainError, ErrorCode, ledgerCommitFailed } from '../errors.js'
import { loadFixtures } from '../fixtures.js'
import { buildCatalogue } from '../rules/catalogue.js'
import { loadSchemas } from '../schemas.js'
import type { TapResult } from './engine.js'
import { FaultInjector, withFaults, type FaultPlan } from './fault-injection.js'
import { LedgerInvariantError } from './postings.js'
import { CardVault } from '../cards/card-vault.js'
import { openLedgerDb, type Db } from './schema.js'
import { LedgerStore } from './store.js'
import { readSettlementDay } from './settlement-days.js'
import { TapMachine } from './tap-machine.js'
import { packedJobCount, packResults, unpackJobs, type WorkerRequest, type WorkerResponse, type WriterData } from './writer-protocol.js'
import { WriterOps } from './writer-ops.js'
import { DenyListKeeper } from './deny-list.js'
import { DENYLIST_BACKFILL_BATCH_MAX, denylistBackfillSql } from './denylist-read.js'

const port = parentPort
if (port === null) throw new Error('sqlite-writer runs as a worker thread')
const data = workerData as WriterData

const vault = new CardVault(Buffer.from(data.cardDataKeyHex, 'hex'))
const fileDb = openLedgerDb(data.dbPath, { vault })
const faults = data.faultInjection ? new FaultInjector() : undefined
const db: Db = faults === undefined ? fileDb : withFaults(fileDb, faults)
const catalogue = buildCatalogue(loadFixtures(data.fixturesDir))
const store = new LedgerStore(db, vault, { auditRowsMax: data.auditRowsMax })
const denyList = new DenyListKeeper(Buffer.from(data.denylistKeyHex, 'hex'))
const machine = new TapMachine({ store, catalogue, serialize: buildTapSerializer(loadSchemas(data.schemasDir)), denyList })
const ops = new WriterOps(store, catalogue, denyList)
const begin = db.prepare('BEGIN IMMEDIATE')
const commitStatement = db.prepare('COMMIT')
const rollbackStatement = db.prepare('ROLLBACK')
const backfillCards = db.prepare(denylistBackfillSql(() => '?')).pluck()
const healthWrite = db.prepare("INSERT INTO meta (key, value) VALUES ('health_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")

const queue: WorkerRequest[] = []
let scheduled = false
let closing = false

port.on('message', (request: WorkerRequest) => {
  queue.push(request)
  if (!scheduled) {
    scheduled = true
    // setImmediate runs after the poll phase: every message already waiting joins this turn.
    setImmediate(drain)
  }
})

function drain (): void {
  scheduled = false
  const request = queue[0]
  if (request === undefined) return
  if (request.op === 'taps') runTapBatch(takeTapMessages())
  else runOperation(queue.shift()!)
  if (queue.length > 0 && !scheduled) {
    // Yield between transactions so messages sent meanwhile arrive and join the next batch.
    scheduled = true
    setImmediate(drain)
  }
}

/** Consecutive tap messages, whole, up to TAP_BATCH_SIZE_MAX taps (a first message always goes). */
function takeTapMessages (): WorkerRequest[] {
  const taken: WorkerRequest[] = []
  let taps = 0
  while (queue.length > 0 && queue[0]!.op === 'taps') {
    const size = packedJobCount(queue[0]!.args[0] as unknown[])
    if (taken.length > 0 && taps + size > TAP_BATCH_SIZE_MAX) break
    taken.push(queue.shift()!)
    taps += size
  }
  return taken
}

function runTapBatch (messages: WorkerRequest[]): void {
  const started = performance.now()
  const results: TapResult[][] = []
  let size = 0
  let nowMs = 0
  const failure = inTransaction(() => {
    for (const message of messages) {
      const jobs = unpackJobs(message.args[0] as unknown[], terminalId => store.terminalFacts(terminalId))
      results.push(jobs.map((job): TapResult => {
        size++
        if ('missingTerminal' in job) return { ok: false, error: { code: ErrorCode.FORBIDDEN, message: `terminal ${job.missingTerminal} is not registered` } }
        nowMs = Math.max(nowMs, job.nowMs)
        try {
          return { ok: true, outcome: machine.process(job) }
        } catch (error) {
          // A domain refusal happens before the tap's first write (tap-machine.ts); anything else
          // is storage or a broken invariant and fails the whole batch.
          if (error instanceof DomainError) return { ok: false, error: { code: error.code, message: error.message } }
          throw error
        }
      }))
    }
    // Bounded housekeeping in the same commit: at least as many rows as a batch can add.
    store.purgeNonces(nowMs, NONCE_PURGE_PER_BATCH_MAX)
    store.purgeState(nowMs, STATE_PURGE_PER_BATCH_MAX)
  })
  const batch = { size, commitMs: performance.now() - started }
  messages.forEach((message, i) => {
    if (failure !== undefined) reply({ id: message.id, ok: false, error: failure })
    else reply({ id: message.id, ok: true, value: packResults(results[i]!), batch: i === 0 ? batch : undefined })
  })
}

function runOperation (request: WorkerRequest): void {
  if (request.op === 'close') {
    closing = true
    fileDb.close()
    reply({ id: request.id, ok: true, value: null })
    port!.close()
    return
  }
  if (request.op === 'faults') {
    if (faults === undefined) return reply({ id: request.id, ok: false, error: { code: ErrorCode.FORBIDDEN, message: 'fault injection is not enabled' } })
    faults.plan(request.args[0] as FaultPlan)
    return reply({ id: request.id, ok: true, value: null })
  }
  let value: unknown
  const failure = inTransaction(() => { value = operation(request) })
  reply(failure === undefined ? { id: request.id, ok: true, value } : { id: request.id, ok: false, error: failure })
}

function operation (request: WorkerRequest): unknown {
  const a = request.args as any[]
  switch (request.op) {
    case 'createCard': return ops.createCard(a[0], a[1], a[2])
    case 'card': return ops.findCard(a[0]) ?? null
    case 'setCardStatus': return ops.setCardStatus(a[0], a[1], a[2])
    case 'credit': return ops.credit(a[0], a[1], a[2], a[3], a[4], a[5])
    case 'reverseTap': return ops.reverseTap(a[0], a[1], a[2])
    case 'refundTap': return ops.refundTap(a[0], a[1], a[2] ?? undefined, a[3], a[4], a[5])
    case 'registerTerminal': return ops.registerTerminal(a[0], a[1])
    case 'setTerminalStatus': return ops.setTerminalStatus(a[0], a[1], a[2])
    case 'setTerminalSecret': return ops.setTerminalSecret(a[0], a[1], a[2], a[3])
    case 'recordAudit': ops.recordAudit(a[0]); return null
    case 'backfillDenylist': return ops.syncDenylist(backfillCards.all(DENYLIST_BACKFILL_BATCH_MAX) as string[])
    // The day is read on this connection, inside this operation's write transaction.
    case 'closeSettlementDay': return ops.closeSettlementDay(a[0], a[1], readSettlementDay(db, a[0]))
    case 'terminals': return store.allTerminals()
    case 'counts': return { cards: store.countCards(), terminals: store.countTerminals() }
    case 'health': healthWrite.run(new Date(a[0] as number).toISOString()); return { writable: true, detail: 'ledger committed a write' }
    default: throw new DomainError(ErrorCode.BAD_REQUEST, `unknown writer operation ${request.op}`)
  }
}

/** BEGIN IMMEDIATE … COMMIT with one fsync; any throw rolls back the file and the caches alike.
 *  Returns the failure to answer with, or undefined when committed. */
function inTransaction (work: () => void): { code: string, message: string } | undefined {
  try {
    begin.run()
  } catch (error) {
    return storageFailure(error)
  }
  try {
    work()
    store.flushBalances()
    faults?.beforeCommit(fileDb)
    commitStatement.run()
  } catch (error) {
    // A failed COMMIT leaves the transaction open (SQLite keeps it): roll it back either way.
    if (fileDb.inTransaction) {
      try { rollbackStatement.run() } catch { /* the connection is gone; nothing was committed */ }
    }
    store.rollback()
    if (error instanceof DomainError) return { code: error.code, message: error.message }
    if (error instanceof LedgerInvariantError) process.stderr.write(`ledger invariant refused a transaction: ${error.message}\n`)
    return storageFailure(error)
  }
  store.commit()
  faults?.afterCommit()
  return undefined
}

function storageFailure (error: unknown): { code: string, message: string } {
  const code = (error as { code?: unknown }).code
  const what = typeof code === 'string' ? code : (error as Error).message
  const failure = ledgerCommitFailed(what)
  return { code: failure.code, message: failure.message }
}

function reply (response: WorkerResponse): void {
  if (!closing || response.id >= 0) port!.postMessage(response)
}

port.postMessage({ type: 'ready' })
