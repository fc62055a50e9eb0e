// The embedded SQLite engine: the event loop's side of it. A writer thread owns the only write
// connection (sqlite-writer.ts), a reader thread runs the reports (sqlite-reader.ts), a third
// thread moves WAL checkpoints (checkpoint-worker.ts), and a lock file keeps a second process off
// the same ledger. A writer that dies fails what it had with 503 (never a wrong answer: an
// uncommitted transaction is rolled back by SQLite, a committed one replays on retry) and is
// started again with a doubling pause.
import { setTimeout as sleep } from 'node:timers/promises'
import { existsSync } from 'node:fs'
import Database from 'better-sqlite3'
import {
  READER_QUEUE_DEPTH_MAX, WRITER_CLOSE_MS_MAX, WRITER_REQUESTS_IN_FLIGHT_MAX, WRITER_RESTART_DELAY_MS_MAX, WRITER_RESTART_DELAY_MS_MIN
} from '../constants.js'
import type { AccountKind, CityCode } from '../rules/types.js'
import { BackgroundCheckpointer } from './checkpoint-worker.js'
import type {
  AuditEntry, AuditQuery, AuditRecord, AuditStamp, BatchStats, CardInput, CardView, DenylistAnswer, EngineHealth, LedgerEngine, RefundResult, ReversalResult, StoredTap, TapJob,
  TapResult, TerminalRecord
} from './engine.js'
import type { FaultPlan } from './fault-injection.js'
import { CardVault } from '../cards/card-vault.js'
import { DENYLIST_BACKFILL_BATCH_MAX } from './denylist-read.js'
import type { LedgerCheckReport } from './check.js'
import { lockLedger, type LedgerLock } from './ledger-lock.js'
import { openLedgerDb } from './schema.js'

const QUICK_CHECK_PROBLEMS_MAX = 10
import type { SettlementRow } from './settlement.js'
import type { SettlementDayReport } from './settlement-days.js'
import { WorkerClient, WorkerGoneError } from './worker-client.js'
import { packJobs, siblingModule, unpackResults, type ReaderData, type WriterData } from './writer-protocol.js'

export interface SqliteEngineOptions {
  dbPath: string
  fixturesDir: string
  schemasDir: string
  issuerCities: Record<string, string>
  /** Tests only: lets injectFault() plan storage faults in the writer. */
  faultInjection?: boolean
  onBatch?: (stats: BatchStats) => void
  /** PRAGMA quick_check at start (default); 'off' for a file just checked another way. */
  startCheck?: 'quick' | 'off'
  /** Tests only: a lower bound of the audit trail than AUDIT_ROWS_MAX. */
  auditRowsMax?: number
  /** The deny list's token key (hex), for the writer. */
  denylistKeyHex: string
  /** The card data key material (hex): card tokens and sealed card data (src/cards/card-vault.ts). */
  cardDataKeyHex: string
}

export class LedgerDamagedError extends Error {
  readonly code = 'LEDGER_DAMAGED'
}

/** quick_check: every page and index entry well formed (O(file), ~1 s a GiB measured here). */
function assertUndamaged (db: Database.Database, path: string): void {
  let problems: string[]
  try {
    problems = (db.pragma(`quick_check(${QUICK_CHECK_PROBLEMS_MAX})`) as Array<{ quick_check: string }>).map(r => r.quick_check)
  } catch (error) {
    problems = [(error as Error).message]
  }
  if (problems.length === 1 && problems[0] === 'ok') return
  throw new LedgerDamagedError(`ledger ${path} is damaged (${problems.slice(0, 3).join('; ')}): not serving it; restore a backup (npm run ledger:backup makes them)`)
}

export class SqliteEngine implements LedgerEngine {
  readonly kind = 'sqlite' as const
  private readonly o: SqliteEngineOptions
  private readonly lock: LedgerLock
  private readonly vault: CardVault
  private writer: WorkerClient | undefined
  private reader: WorkerClient | undefined
  private readonly checkpointer: BackgroundCheckpointer | undefined
  private restartDelayMs = WRITER_RESTART_DELAY_MS_MIN
  private restarting: Promise<void> | undefined
  private closed = false
  /** Times the writer died and was started again. */
  writerRestarts = 0

  private constructor (o: SqliteEngineOptions, lock: LedgerLock, vault: CardVault) {
    this.o = o
    this.lock = lock
    this.vault = vault
    this.checkpointer = o.dbPath === ':memory:' ? undefined : new BackgroundCheckpointer(o.dbPath)
  }

  static async open (o: SqliteEngineOptions): Promise<SqliteEngine> {
    if (o.dbPath === ':memory:') throw new Error('the SQLite engine needs a file: its writer and reader threads share it')
    const lock = lockLedger(o.dbPath)
    try {
      // Create and migrate the file here, once, before any thread opens it, and refuse a damaged
      // file by name rather than serve 500s from it (a corrupt page in the middle of the file used
      // to pass /healthz and fail taps).
      // The check runs on the file as found, before any DDL or migration reads or writes a page
      // of it (a migration meeting a damaged page fails with SQLITE_CORRUPT, naming nothing).
      if (o.startCheck !== 'off' && existsSync(o.dbPath)) {
        let found: Database.Database | undefined
        try {
          found = new Database(o.dbPath, { fileMustExist: true })
          assertUndamaged(found, o.dbPath)
        } catch (error) {
          if (error instanceof LedgerDamagedError) throw error
          throw new LedgerDamagedError(`ledger ${o.dbPath} is damaged (${(error as Error).message}): not serving it; restore a backup (npm run ledger:backup makes them)`)
        } finally {
          found?.close()
        }
      }
      // With the card data key: a v4 ledger is tokenised here, and a ledger of another key refused.
      const vault = new CardVault(Buffer.from(o.cardDataKeyHex, 'hex'))
      openLedgerDb(o.dbPath, { vault }).close()
      const engine = new SqliteEngine(o, lock, vault)
      await engine.startWriter()
      return engine
    } catch (error) {
      lock.release()
      throw error
    }
  }

  // Taps

  async decideTaps (jobs: TapJob[]): Promise<TapResult[]> {
    const { value, batch } = await this.write<unknown[]>('taps', [packJobs(jobs)])
    if (batch !== undefined) {
      this.o.onBatch?.(batch)
      this.checkpointer?.start()
    }
    return unpackResults(value)
  }

  // Cards, credits, reversals, terminals: the writer, one transaction each

  async createCard (input: CardInput & { issuerCity: CityCode }, nowMs: number, audit?: AuditStamp): Promise<CardView> {
    return (await this.write<CardView>('createCard', [input, nowMs, audit])).value
  }

  async card (cardNo: string): Promise<CardView | undefined> {
    return (await this.write<CardView | null>('card', [cardNo])).value ?? undefined
  }

  async setCardStatus (cardNo: string, status: 'active' | 'lost' | 'frozen', audit?: AuditStamp): Promise<CardView> {
    return (await this.write<CardView>('setCardStatus', [cardNo, status, audit])).value
  }

  async credit (cardNo: string, account: AccountKind, amount: number, reference: string, nowMs: number, audit?: AuditStamp): Promise<CardView> {
    return (await this.write<CardView>('credit', [cardNo, account, amount, reference, nowMs, audit])).value
  }

  async reverseTap (terminalId: string, tapId: string, nowMs: number): Promise<ReversalResult> {
    return (await this.write<ReversalResult>('reverseTap', [terminalId, tapId, nowMs])).value
  }

  async refundTap (terminalId: string, tapId: string, amount: number | undefined, reference: string, nowMs: number, audit?: AuditStamp): Promise<RefundResult> {
    return (await this.write<RefundResult>('refundTap', [terminalId, tapId, amount ?? null, reference, nowMs, audit])).value
  }

  async backfillDenylist (): Promise<number> {
    let synced = 0
    // Bounded: each pass fixes what it read, so the passes end; 1,000 passes is 5 M cards.
    for (let pass = 0; pass < 1_000; pass++) {
      const batch = (await this.write<number>('backfillDenylist', [])).value
      synced += batch
      if (batch < DENYLIST_BACKFILL_BATCH_MAX) return synced
    }
    return synced
  }

  async denylist (since: number | undefined): Promise<DenylistAnswer> {
    return await this.read<DenylistAnswer>('denylist', [since ?? null])
  }

  async registerTerminal (record: TerminalRecord, audit?: AuditStamp): Promise<TerminalRecord> {
    return (await this.write<TerminalRecord>('registerTerminal', [record, audit])).value
  }

  async setTerminalStatus (terminalId: string, status: 'active' | 'disabled', audit?: AuditStamp): Promise<TerminalRecord> {
    return (await this.write<TerminalRecord>('setTerminalStatus', [terminalId, status, audit])).value
  }

  async setTerminalSecret (terminalId: string, storedSecret: string, audit?: AuditStamp, detail?: Record<string, unknown>): Promise<TerminalRecord> {
    return (await this.write<TerminalRecord>('setTerminalSecret', [terminalId, storedSecret, audit, detail])).value
  }

  async recordAudit (entry: AuditEntry): Promise<void> {
    await this.write('recordAudit', [entry])
  }

  async terminals (): Promise<TerminalRecord[]> {
    return (await this.write<TerminalRecord[]>('terminals', [])).value
  }

  async counts (): Promise<{ cards: number, terminals: number }> {
    return (await this.write<{ cards: number, terminals: number }>('counts', [])).value
  }

  async health (): Promise<EngineHealth> {
    try {
      return (await this.write<EngineHealth>('health', [Date.now()])).value
    } catch (error) {
      return { writable: false, detail: (error as Error).message }
    }
  }

  // Reports: the reader thread

  async tapsForCard (cardNo: string, limit: number): Promise<StoredTap[] | undefined> {
    const taps = await this.read<Array<Omit<StoredTap, 'cardNo'>> | null>('tapsForCard', [this.vault.token(cardNo), limit])
    return taps?.map(tap => ({ ...tap, cardNo }))
  }

  async check (): Promise<LedgerCheckReport> {
    return await this.read<LedgerCheckReport>('check', [])
  }

  async settlement (fromDate: string, toDate: string): Promise<SettlementRow[]> {
    return await this.read<SettlementRow[]>('settlement', [fromDate, toDate])
  }

  async auditTrail (query: AuditQuery): Promise<AuditRecord[]> {
    return await this.read<AuditRecord[]>('auditTrail', [query])
  }

  async settlementDay (date: string): Promise<SettlementDayReport> {
    return await this.read<SettlementDayReport>('settlementDay', [date])
  }

  async closeSettlementDay (date: string, nowMs: number): Promise<SettlementDayReport> {
    return (await this.write<SettlementDayReport>('closeSettlementDay', [date, nowMs])).value
  }

  // Faults (tests)

  async injectFault (plan: FaultPlan): Promise<void> {
    await this.write('faults', [plan])
  }

  /** Kills the writer thread as a crash would; it is started again by itself. */
  async killWriter (): Promise<void> {
    await this.writer?.terminate()
  }

  /** Resolves when a writer is up again (after a kill or crash). */
  async writerUp (): Promise<void> {
    while (this.writer?.isAlive !== true) {
      if (this.closed) throw new WorkerGoneError('the ledger writer')
      await (this.restarting ?? sleep(10))
    }
  }

  get up (): boolean { return !this.closed && this.writer?.isAlive === true }

  get checkpointWorker (): BackgroundCheckpointer | undefined { return this.checkpointer }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.restarting
    await this.checkpointer?.stop()
    await this.stopWorker(this.reader)
    await this.stopWorker(this.writer)
    this.lock.release()
  }

  // Threads

  private async write<T> (op: string, args: unknown[]): Promise<{ value: T, batch?: BatchStats }> {
    const writer = this.writer
    if (writer === undefined || !writer.isAlive || this.closed) throw new WorkerGoneError('the ledger writer')
    return await writer.request<T>(op, args)
  }

  private async read<T> (op: string, args: unknown[]): Promise<T> {
    if (this.closed) throw new WorkerGoneError('the ledger reader')
    if (this.reader === undefined || !this.reader.isAlive) {
      const data: ReaderData = { dbPath: this.o.dbPath, issuerCities: this.o.issuerCities }
      const reader = new WorkerClient('the ledger reader', siblingModule('sqlite-reader'), data, READER_QUEUE_DEPTH_MAX)
      reader.unref()
      this.reader = reader
      await reader.ready
    }
    return (await this.reader.request<T>(op, args)).value
  }

  private async startWriter (): Promise<void> {
    const data: WriterData = {
      dbPath: this.o.dbPath, fixturesDir: this.o.fixturesDir, schemasDir: this.o.schemasDir, faultInjection: this.o.faultInjection === true, auditRowsMax: this.o.auditRowsMax, denylistKeyHex: this.o.denylistKeyHex, cardDataKeyHex: this.o.cardDataKeyHex
    }
    const writer = new WorkerClient('the ledger writer', siblingModule('sqlite-writer'), data, WRITER_REQUESTS_IN_FLIGHT_MAX)
    void writer.exited.then(() => { if (!this.closed && this.writer === writer) this.scheduleRestart() })
    await Promise.race([writer.ready, writer.exited.then(code => { throw new Error(`the ledger writer exited (${code}) while starting`) })])
    if (this.closed) {
      // close() came while this writer was starting: it must not outlive the engine.
      await this.stopWorker(writer)
      return
    }
    this.writer = writer
    this.restartDelayMs = WRITER_RESTART_DELAY_MS_MIN
  }

  private scheduleRestart (): void {
    if (this.restarting !== undefined) return
    this.restarting = (async () => {
      while (!this.closed) {
        await sleep(this.restartDelayMs)
        this.writerRestarts++
        try {
          await this.startWriter()
          break
        } catch {
          this.restartDelayMs = Math.min(this.restartDelayMs * 2, WRITER_RESTART_DELAY_MS_MAX)
        }
      }
    })().finally(() => { this.restarting = undefined })
  }

  private async stopWorker (client: WorkerClient | undefined): Promise<void> {
    if (client === undefined || !client.isAlive) return
    const stopped = client.request('close', []).catch(() => undefined)
    const timer = setTimeout(() => { void client.terminate() }, WRITER_CLOSE_MS_MAX)
    await stopped
    await client.exited
    clearTimeout(timer)
  }
}
