// The ledger's reader thread: reports that scan (ledger check, settlement, a card's taps) run here
// on a read-only connection, so a check over 10 M taps never stalls a tap. WAL gives the reader a
// consistent snapshot per statement while the writer commits.
import { parentPort, workerData } from 'node:worker_threads'
import { TAPS_LISTED_MAX } from '../constants.js'
import { auditPageArgs, auditPageSql, toAuditRecord } from './audit-trail.js'
import { checkLedger } from './check.js'
import { openLedgerDb } from './schema.js'
import { settlement } from './settlement.js'
import { buildSettlementDay, closedReportOf, readSettlementDay } from './settlement-days.js'
import type { AuditQuery, StoredTap } from './engine.js'
import type { ReaderData, WorkerRequest, WorkerResponse } from './writer-protocol.js'

const port = parentPort
if (port === null) throw new Error('sqlite-reader runs as a worker thread')
const data = workerData as ReaderData
const db = openLedgerDb(data.dbPath, { readonly: true })
const cardExists = db.prepare('SELECT 1 FROM cards WHERE card_no = ?').pluck()
const tapsOfCard = db.prepare(`SELECT terminal_id AS terminalId, tap_id AS tapId, card_no AS cardNo, scenario, city, decision, reason,
  amount, account, at, recorded_at AS recordedAt, reversal_transfer_id IS NOT NULL AS reversed
  FROM taps WHERE card_no = ? ORDER BY id LIMIT ?`)
const auditPage = { all: db.prepare(auditPageSql(() => '?', false)), byTarget: db.prepare(auditPageSql(() => '?', true)) }

port.on('message', (request: WorkerRequest) => {
  let response: WorkerResponse
  try {
    response = { id: request.id, ok: true, value: run(request) }
  } catch (error) {
    const code = (error as { code?: unknown }).code
    response = { id: request.id, ok: false, error: { code: 'OVERLOADED', message: `the ledger could not be read (${typeof code === 'string' ? code : (error as Error).message})` } }
  }
  if (request.op === 'close') {
    db.close()
    port.postMessage(response)
    port.close()
    return
  }
  port.postMessage(response)
})

function run (request: WorkerRequest): unknown {
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
      if (cardExists.get(a[0]) === undefined) return null
      const limit = Math.min(Number(a[1]), TAPS_LISTED_MAX)
      return (tapsOfCard.all(a[0], limit) as Array<Omit<StoredTap, 'reversed'> & { reversed: number }>).map(t => ({ ...t, reversed: t.reversed === 1 }))
    }
    case 'auditTrail': {
      const query = a[0] as AuditQuery
      const page = query.target === undefined ? auditPage.all : auditPage.byTarget
      return (page.all(...auditPageArgs(query)) as Array<Parameters<typeof toAuditRecord>[0]>).map(toAuditRecord)
    }
    case 'close': return null
    default: throw new Error(`unknown reader operation ${request.op}`)
  }
}

port.postMessage({ type: 'ready' })
