// The ledger's reader thread: reports that scan (ledger check, settlement, a card's taps) run here
// on a read-only connection, so a check over 10 M taps never stalls a tap. WAL gives the reader a
// consistent snapshot per statement while the writer commits.
import { parentPort, workerData } from 'node:worker_threads'
import { TAPS_LISTED_MAX } from '../constants.js'
import { auditPageArgs, auditPageSql, toAuditRecord } from './audit-trail.js'
import { checkLedger } from './check.js'
import { openLedgerDb } from './schema.js'
import { settlement } from './settlement.js'
import { denylistSql, readDenylist } from './denylist-read.js'
import { DomainError } from '../errors.js'
import { buildSettlementDay, closedReportOf, readSettlementDay } from './settlement-days.js'
import type { AuditQuery, StoredTap } from './engine.js'
import type { ReaderData, WorkerRequest, WorkerResponse } from './writer-protocol.js'

const port = parentPort
if (port === null) throw new Error('sqlite-reader runs as a worker thread')
const data = workerData as ReaderData
const db = openLedgerDb(data.dbPath, { readonly: true })
const cardExists = db.prepare('SELECT 1 FROM cards WHERE card_token = ?').pluck()
const tapsOfCard = db.prepare(`SELECT terminal_id AS terminalId, tap_id AS tapId, scenario, city, decision, reason,
  amount, account, at, recorded_at AS recordedAt, reversal_transfer_id IS NOT NULL AS reversed
  FROM taps WHERE card_token = ? ORDER BY id LIMIT ?`)
const auditPage = { all: db.prepare(auditPageSql(() => '?', false)), byTarget: db.prepare(auditPageSql(() => '?', true)) }

port.on('message', (request: WorkerRequest) => { void answer(request) })

async function answer (request: WorkerRequest): Promise<void> {
  let response: WorkerResponse
  try {
    response = { id: request.id, ok: true, value: await run(request) }
  } catch (error) {
    const code = (error as { code?: unknown }).code
    // A refusal with its own code (the deny list too big to serve) keeps it; storage is a 503.
    const domain = error instanceof DomainError
    response = { id: request.id, ok: false, error: { code: domain ? error.code : 'OVERLOADED', message: domain ? error.message : `the ledger could not be read (${typeof code === 'string' ? code : (error as Error).message})` } }
  }
  if (request.op === 'close') {
    db.close()
    port!.postMessage(response)
    port!.close()
    return
  }
  port!.postMessage(response)
}

const denylistStatements = (() => {
  const sql = denylistSql(() => '?')
  return {
    version: db.prepare(sql.version).pluck(),
    oldestChange: db.prepare(sql.oldestChange).pluck(),
    changesAfter: db.prepare(sql.changesAfter),
    entries: db.prepare(sql.entries)
  }
})()

/** One read transaction: the version and the rows it names are one snapshot. Every read is
 *  synchronous, so no other request runs inside it. */
async function denylist (since: number | undefined): Promise<unknown> {
  db.exec('BEGIN')
  try {
    return await readDenylist({
      version: () => Number(denylistStatements.version.get() ?? 0),
      oldestChange: () => (denylistStatements.oldestChange.get() as number | null) ?? null,
      changesAfter: (after, limit) => denylistStatements.changesAfter.all(after, limit) as any,
      entries: limit => denylistStatements.entries.all(limit) as any
    }, since)
  } finally {
    db.exec('COMMIT')
  }
}

async function run (request: WorkerRequest): Promise<unknown> {
  const a = request.args as any[]
  switch (request.op) {
    case 'check': return checkLedger(db)
    case 'settlement': return settlement(db, a[0], a[1], issuer => data.issuerCities[issuer] ?? issuer)
    case 'settlementDay': {
      // One read transaction: the stored report and the journal's queries see one state.
      return db.transaction(() => {
        const journal = readSettlementDay(db, a[0])
        return journal.stored !== undefined ? closedReportOf(journal.stored) : buildSettlementDay(a[0], journal, issuer => data.issuerCities[issuer] ?? issuer)
      })()
    }
    case 'tapsForCard': {
      // By token (the engine tokenised the number); the engine puts the number back on the rows.
      if (cardExists.get(a[0]) === undefined) return null
      const limit = Math.min(Number(a[1]), TAPS_LISTED_MAX)
      return (tapsOfCard.all(a[0], limit) as Array<Omit<StoredTap, 'reversed'> & { reversed: number }>).map(t => ({ ...t, reversed: t.reversed === 1 }))
    }
    case 'auditTrail': {
      const query = a[0] as AuditQuery
      const page = query.target === undefined ? auditPage.all : auditPage.byTarget
      return (page.all(...auditPageArgs(query)) as Array<Parameters<typeof toAuditRecord>[0]>).map(toAuditRecord)
    }
    case 'denylist': return await denylist(a[0] ?? undefined)
    case 'close': return null
    default: throw new Error(`unknown reader operation ${request.op}`)
  }
}

port.postMessage({ type: 'ready' })
