// The PostgreSQL engine: several stateless service processes on one ledger. The same state machine
// as the SQLite engine (tap-machine.ts, writer-ops.ts) runs here on the event loop, against a
// PreloadedState read by key for each transaction (pg-batch.ts), so both engines give the same
// answers by construction.
//
// Group commit per process: taps that arrive while a batch is in flight wait and go together in the
// next one, up to TAP_BATCH_SIZE_MAX, on one of PG_TAP_CONNECTIONS lanes. A batch is one
// transaction: two round trips and a commit. A serialization failure, deadlock or unique-key race
// runs it again (PG_RETRIES_MAX); a database that is away fails it with 503 and the lane
// reconnects by itself (after a failover, to whichever host now takes writes). An answer is sent
// only after COMMIT returned: with synchronous replication, after the standby has it too.
import { randomInt } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type pg from 'pg'
import {
  ACCOUNT_ID_CACHE_ENTRIES_MAX, CARD_OPENED_MEMO_ENTRIES_MAX, PG_BALANCE_SHARDS, PG_PENDING_SCAN_CALLS_MAX, PG_POOL_CONNECTIONS_MAX, PG_RECONNECT_DELAY_MS_MAX, PG_RECONNECT_DELAY_MS_MIN,
  PG_RETRIES_MAX, PG_TAP_CONNECTIONS, READER_QUEUE_DEPTH_MAX, TAPS_LISTED_MAX, TAP_BATCH_SIZE_MAX
} from '../constants.js'
import { DomainError, ErrorCode, ledgerCommitFailed, overloaded } from '../errors.js'
import type { Catalogue } from '../rules/catalogue.js'
import type { AccountKind, CityCode } from '../rules/types.js'
import type { LedgerCheckReport } from './check.js'
import { checkPgLedger, inPgSnapshot, readPgSettlementDay } from './pg-reports.js'
import type {
  AuditEntry, AuditQuery, AuditRecord, AuditStamp, BatchStats, CardInput, CardView, DenylistAnswer, EngineHealth, LedgerEngine, RefundResult, ReversalResult,
  StoredTap, TapAnswer, TapJob, TapResult, TerminalFacts, TerminalRecord
} from './engine.js'
import { auditPageArgs, auditPageSql, toAuditRecord } from './audit-trail.js'
import { connectReadWrite, describePgError, isConnectionLoss, isRetryable, parseDatabaseUrl, type PgTarget } from './pg-connection.js'
import { ensureAccounts, flushAndCommit, isBalanceAssertion, preload, preloadAwaitingExits, tapBatchSpec, type PreloadSpec } from './pg-batch.js'
import { CardVault } from '../cards/card-vault.js'
import { CardDataKeyMismatchError } from './card-tokens.js'
import { DenyListKeeper } from './deny-list.js'
import { DENYLIST_BACKFILL_BATCH_MAX, denylistBackfillSql, denylistSql, readDenylist } from './denylist-read.js'
import { migratePg } from './pg-schema.js'
import { accountCode, LedgerInvariantError, type AccountClass } from './postings.js'
import type { PreloadedState } from './preloaded-state.js'
import { settlementRows, settlementSql, settlementWindow, type SettlementRow } from './settlement.js'
import { buildSettlementDay, closedReportOf, settledPositions, type SettlementDayReport } from './settlement-days.js'
import { toTerminal } from './store.js'
import { requestCardNo, TapMachine } from './tap-machine.js'
import { WriterOps } from './writer-ops.js'

export interface PgEngineOptions {
  databaseUrl: string
  catalogue: Catalogue
  serialize: (answer: TapAnswer) => string
  onBatch?: (stats: BatchStats) => void
  /** Logs what the engine does on its own (reconnects); never a card number. */
  onEvent?: (message: string) => void
  /** Tests only: a lower bound of the audit trail than AUDIT_ROWS_MAX. */
  auditRowsMax?: number
  /** The deny list's token key: cards are listed by token, never by number. */
  denylistKey: Buffer
  /** The card data key material (src/cards/card-vault.ts): the same in every process of a ledger. */
  cardDataKey: Buffer
}

/** One connection, opened when first needed and again after it was lost. */
class Lane {
  client: pg.Client | undefined
  busy = false
  /** The hot accounts' balance shard this connection writes (tap lanes: claimed, see claimShard). */
  shard = 0
  private connecting: Promise<pg.Client> | undefined
  constructor (private readonly open: () => Promise<pg.Client>) {}

  async connected (): Promise<pg.Client> {
    if (this.client !== undefined) return this.client
    this.connecting ??= this.open().then(client => {
      client.on('error', () => { if (this.client === client) this.client = undefined })
      this.client = client
      return client
    }).finally(() => { this.connecting = undefined })
    return await this.connecting
  }

  drop (): void {
    const client = this.client
    this.client = undefined
    void client?.end().catch(() => {})
  }
}

interface PendingTaps { jobs: TapJob[], resolve: (results: TapResult[]) => void }

export class PgEngine implements LedgerEngine {
  readonly kind = 'postgres' as const
  private readonly o: PgEngineOptions
  private readonly target: PgTarget
  private readonly tapLanes: Lane[]
  private readonly opLanes: Lane[]
  private readonly opWaiting: Array<() => void> = []
  private readonly pending: PendingTaps[] = []
  /** Cards of the batches running on the tap lanes, with how many batches hold each. */
  private readonly cardsInFlight = new Map<string, number>()
  /** Codes of accounts known to exist (they are never deleted): no round trip to ensure them again. */
  private readonly accountsKnown = new Set<string>()
  /** The shard admin operations write (rare: sharing one with a tap lane costs little). */
  private readonly shardBase = randomInt(PG_BALANCE_SHARDS)
  private listener: pg.Client | undefined
  private readonly terminalWatchers: Array<(record: TerminalRecord) => void> = []
  private lastFailure: string | undefined
  private closed = false
  /** Batches run again after a retryable failure (serialization, deadlock, unique race). */
  retries = 0

  private readonly denyList: DenyListKeeper
  private readonly vault: CardVault

  private constructor (o: PgEngineOptions, target: PgTarget) {
    this.o = o
    this.denyList = new DenyListKeeper(o.denylistKey)
    this.vault = new CardVault(o.cardDataKey, { openedEntriesMax: CARD_OPENED_MEMO_ENTRIES_MAX })
    this.target = target
    this.tapLanes = Array.from({ length: PG_TAP_CONNECTIONS }, (_, i) => {
      const lane: Lane = new Lane(async () => {
        const client = await connectReadWrite(target, { pipeline: true, applicationName: `yikatong-taps-${i}` })
        try {
          lane.shard = await claimShard(client)
        } catch (error) {
          void client.end().catch(() => {})
          throw error
        }
        return client
      })
      return lane
    })
    this.opLanes = Array.from({ length: PG_POOL_CONNECTIONS_MAX }, () => new Lane(async () => await connectReadWrite(target, { pipeline: true, applicationName: 'yikatong-admin' })))
  }

  /** Connects, migrates the schema (under an advisory lock: processes may start together), and
   *  listens for terminal changes made by other processes. */
  static async open (o: PgEngineOptions): Promise<PgEngine> {
    const engine = new PgEngine(o, parseDatabaseUrl(o.databaseUrl))
    try {
      await engine.withOpClient(async client => {
        // Another card data key is refused here, before anything is served.
        await migratePg(client, engine.vault)
        // The clearing accounts of every city: credits and settlement name them.
        await engine.knownAccounts(client, [...o.catalogue.cities.keys()].map(city => ({ code: accountCode.clearing(city), kind: 'clearing' as const })))
        // The issuers' debt accounts: offline taps, credits and refunds name them.
        await engine.knownAccounts(client, engine.debtCodes().map(code => ({ code, kind: 'clearing' as const })))
      })
      await engine.listen()
    } catch (error) {
      // A refusal to start leaves no connection behind.
      await engine.close()
      throw error
    }
    return engine
  }

  // Taps

  decideTaps (jobs: TapJob[]): Promise<TapResult[]> {
    if (this.closed) return Promise.resolve(jobs.map(() => failed(ErrorCode.OVERLOADED, 'the ledger is closing')))
    return new Promise(resolve => {
      this.pending.push({ jobs, resolve })
      this.pump()
    })
  }

  /**
   * Starts a batch on every free lane while taps wait: whole calls, up to TAP_BATCH_SIZE_MAX, and
   * none with a card another lane has in flight. Measured (bench/engines.ts, 3,000 cards): lanes
   * taking taps of the same card waited on its row lock for the other lane's whole commit, the
   * largest wait after the WAL flush; a call held back here waits for that batch alone, not holding
   * a connection and a batch of other taps. Calls of one card keep their order: a held-back call's
   * card stays in flight until its batch ends, so later calls of it are held back too.
   */
  private pump (): void {
    for (const lane of this.tapLanes) {
      if (lane.busy || this.pending.length === 0) continue
      const taken = this.takeBatch()
      if (taken.length === 0) return
      const cards = taken.flatMap(p => p.jobs.flatMap(cardsOfJob))
      for (const card of cards) this.cardsInFlight.set(card, (this.cardsInFlight.get(card) ?? 0) + 1)
      lane.busy = true
      void this.runTapBatch(lane, taken.flatMap(p => p.jobs)).then(results => {
        let offset = 0
        for (const p of taken) {
          p.resolve(results.slice(offset, offset + p.jobs.length))
          offset += p.jobs.length
        }
      }).finally(() => {
        for (const card of cards) {
          const left = this.cardsInFlight.get(card)! - 1
          if (left === 0) this.cardsInFlight.delete(card)
          else this.cardsInFlight.set(card, left)
        }
        lane.busy = false
        this.pump()
      })
    }
  }

  /** Takes waiting calls for one batch, skipping (for now) those touching a card in flight. */
  private takeBatch (): PendingTaps[] {
    const taken: PendingTaps[] = []
    let size = 0
    let i = 0
    for (let scanned = 0; scanned < PG_PENDING_SCAN_CALLS_MAX && i < this.pending.length && size < TAP_BATCH_SIZE_MAX; scanned++) {
      const call = this.pending[i]!
      const fits = taken.length === 0 || size + call.jobs.length <= TAP_BATCH_SIZE_MAX
      if (!fits) break
      if (call.jobs.some(job => cardsOfJob(job).some(card => this.cardsInFlight.has(card)))) { i++; continue }
      this.pending.splice(i, 1)
      taken.push(call)
      size += call.jobs.length
    }
    return taken
  }

  private async runTapBatch (lane: Lane, jobs: TapJob[]): Promise<TapResult[]> {
    const started = performance.now()
    try {
      const results = await this.inTransaction(lane, async client => {
        const nowMs = Math.max(...jobs.map(job => job.nowMs))
        const operatorCodes = [...new Set(jobs.map(job => accountCode.operator(job.terminal.operator, job.terminal.city)))]
        await this.knownAccounts(client, operatorCodes.map(code => ({ code, kind: 'operator' as const })))
        client.query('BEGIN').catch(() => {}) // its failure shows in the reads after it
        const state = await preload(client, tapBatchSpec(jobs, this.vault, operatorCodes, nowMs, this.debtCodes()), this.vault)
        await preloadAwaitingExits(client, state)
        const machine = new TapMachine({ store: state, catalogue: this.o.catalogue, serialize: this.o.serialize, denyList: this.denyList })
        const facts = terminalFacts(state, jobs)
        const results = jobs.map(job => decideOne(machine, facts.get(job.terminal.terminalId), job))
        return { results, state, flush: { shard: lane.shard, purgeBeforeMs: nowMs } }
      })
      this.o.onBatch?.({ size: jobs.length, commitMs: performance.now() - started })
      return results
    } catch (error) {
      const failure = storageFailure(error)
      return jobs.map(() => ({ ok: false, error: failure }))
    }
  }

  // Cards, credits, reversals, terminals: one transaction each, on the admin lanes

  async createCard (input: CardInput & { issuerCity: CityCode }, nowMs: number, audit?: AuditStamp): Promise<CardView> {
    const openings = Object.entries(input.accounts ?? {}).filter(([, amount]) => amount !== undefined && amount > 0)
    const token = this.vault.token(input.cardNo)
    return await this.operation({
      cards: [token],
      newCardAccountCodes: [accountCode.card(token, 'bank'), accountCode.card(token, 'medical')],
      accountCodes: this.clearingCodes(),
      credits: openings.map(([account]) => `opening:${token}:${account}`),
      transferIds: openings.length
    }, ops => ops.createCard(input, nowMs, audit))
  }

  async card (cardNo: string): Promise<CardView | undefined> {
    return await this.operation({ cards: [this.vault.token(cardNo)] }, ops => ops.findCard(cardNo))
  }

  async setCardStatus (cardNo: string, status: 'active' | 'lost' | 'frozen', audit?: AuditStamp): Promise<CardView> {
    return await this.operation({ cards: [this.vault.token(cardNo)] }, ops => ops.setCardStatus(cardNo, status, audit))
  }

  async credit (cardNo: string, account: AccountKind, amount: number, reference: string, nowMs: number, audit?: AuditStamp): Promise<CardView> {
    return await this.operation({ cards: [this.vault.token(cardNo)], credits: [reference], accountCodes: [...this.clearingCodes(), ...this.debtCodes()], transferIds: 1 },
      ops => ops.credit(cardNo, account, amount, reference, nowMs, audit))
  }

  async reverseTap (terminalId: string, tapId: string, nowMs: number): Promise<ReversalResult> {
    return await this.operation(await this.moneyBackSpec(terminalId, tapId), ops => ops.reverseTap(terminalId, tapId, nowMs))
  }

  async refundTap (terminalId: string, tapId: string, amount: number | undefined, reference: string, nowMs: number, audit?: AuditStamp): Promise<RefundResult> {
    const spec = await this.moneyBackSpec(terminalId, tapId)
    return await this.operation({ ...spec, refunds: [reference] }, ops => ops.refundTap(terminalId, tapId, amount, reference, nowMs, audit))
  }

  /** What a reversal or refund of a tap reads: the tap's row locked first, then its card (a second
   *  reversal or refund waits and finds the first done), its operator and debt accounts, its refunds. */
  private async moneyBackSpec (terminalId: string, tapId: string): Promise<PreloadSpec> {
    const found = await this.withOpClient(async client => await client.query<{ card_token: string | null, operator_account_id: number | null }>(
      'SELECT card_token, operator_account_id FROM taps WHERE terminal_id = $1 AND tap_id = $2', [terminalId, tapId]))
    const row = found.rows[0]
    return {
      lockTap: [terminalId, tapId],
      cards: row?.card_token === null || row === undefined ? [] : [row.card_token],
      accountIds: row?.operator_account_id === null || row === undefined ? [] : [row.operator_account_id],
      accountCodes: this.debtCodes(),
      refundTotalsOf: [[terminalId, tapId]],
      transferIds: 1
    }
  }

  async backfillDenylist (): Promise<number> {
    let synced = 0
    // Bounded: each pass fixes what it read, so the passes end; 1,000 passes is 5 M cards.
    for (let pass = 0; pass < 1_000; pass++) {
      const cards = (await this.withOpClient(async client => await client.query<{ card_token: string }>(denylistBackfillSql(n => `$${n}`), [DENYLIST_BACKFILL_BATCH_MAX]))).rows.map(r => r.card_token)
      if (cards.length > 0) synced += await this.operation({ cards }, ops => ops.syncDenylist(cards))
      if (cards.length < DENYLIST_BACKFILL_BATCH_MAX) return synced
    }
    return synced
  }

  async denylist (since: number | undefined): Promise<DenylistAnswer> {
    const sql = denylistSql(n => `$${n}`)
    return await this.withOpClient(async client => await inPgSnapshot(client, async snapshot => await readDenylist({
      version: async () => Number((await snapshot.query<{ value: string }>(sql.version)).rows[0]?.value ?? 0),
      oldestChange: async () => (await snapshot.query<{ version: number | null }>(sql.oldestChange)).rows[0]?.version ?? null,
      changesAfter: async (after, limit) => (await snapshot.query(sql.changesAfter, [after, limit])).rows,
      entries: async limit => (await snapshot.query(sql.entries, [limit])).rows
    }, since)))
  }

  async registerTerminal (record: TerminalRecord, audit?: AuditStamp): Promise<TerminalRecord> {
    await this.withOpClient(async client => {
      await this.knownAccounts(client, [{ code: accountCode.operator(record.operator, record.city), kind: 'operator' }])
    })
    return await this.operation({ terminals: [record.terminalId], lockTerminals: true }, ops => ops.registerTerminal(record, audit), [record.terminalId])
  }

  async setTerminalStatus (terminalId: string, status: 'active' | 'disabled', audit?: AuditStamp): Promise<TerminalRecord> {
    return await this.operation({ terminals: [terminalId], lockTerminals: true }, ops => ops.setTerminalStatus(terminalId, status, audit), [terminalId])
  }

  async recordAudit (entry: AuditEntry): Promise<void> {
    // Nothing to read or lock: the row alone, flushed and committed like any write.
    await this.operation({}, ops => { ops.recordAudit(entry) })
  }

  async setTerminalSecret (terminalId: string, storedSecret: string, audit?: AuditStamp, detail?: Record<string, unknown>): Promise<TerminalRecord> {
    return await this.operation({ terminals: [terminalId], lockTerminals: true }, ops => ops.setTerminalSecret(terminalId, storedSecret, audit, detail), [terminalId])
  }

  async terminals (): Promise<TerminalRecord[]> {
    const rows = await this.withOpClient(async client => await client.query('SELECT * FROM terminals ORDER BY terminal_id'))
    return (rows.rows as Array<Record<string, string>>).map(toTerminal)
  }

  async counts (): Promise<{ cards: number, terminals: number }> {
    const rows = await this.withOpClient(async client => await client.query<{ cards: number, terminals: number }>(
      'SELECT (SELECT COUNT(*) FROM cards) AS cards, (SELECT COUNT(*) FROM terminals) AS terminals'))
    return { cards: Number(rows.rows[0]!.cards), terminals: Number(rows.rows[0]!.terminals) }
  }

  /** Every process learns at once (NOTIFY at commit) of terminals another one registered or
   *  changed; a lost listener reconnects and re-reads them all. */
  watchTerminals (onChange: (record: TerminalRecord) => void): void {
    this.terminalWatchers.push(onChange)
  }

  async health (): Promise<EngineHealth> {
    try {
      await this.withOpClient(async client => await client.query(
        "INSERT INTO meta (key, value) VALUES ('health_probe', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [new Date().toISOString()]))
      this.lastFailure = undefined
      return { writable: true, detail: 'ledger committed a write' }
    } catch (error) {
      return { writable: false, detail: `PostgreSQL: ${describePgError(error)}` }
    }
  }

  get up (): boolean { return !this.closed && this.lastFailure === undefined }

  // Reports: one snapshot each (REPEATABLE READ), on an admin lane

  async tapsForCard (cardNo: string, limit: number): Promise<StoredTap[] | undefined> {
    return await this.withOpClient(async client => {
      const token = this.vault.token(cardNo)
      const exists = await client.query('SELECT 1 FROM cards WHERE card_token = $1', [token])
      if (exists.rows.length === 0) return undefined
      const rows = await client.query<Omit<StoredTap, 'cardNo'>>(`SELECT terminal_id AS "terminalId", tap_id AS "tapId", scenario, city,
        decision, reason, amount, account, at, recorded_at AS "recordedAt", reversal_transfer_id IS NOT NULL AS reversed
        FROM taps WHERE card_token = $1 ORDER BY id LIMIT $2`, [token, Math.min(limit, TAPS_LISTED_MAX)])
      // Stored by token; the rows are this card's, so they carry the number asked for.
      return rows.rows.map(tap => ({ ...tap, cardNo }))
    })
  }

  async check (): Promise<LedgerCheckReport> {
    return await this.withOpClient(async client => await checkPgLedger(client))
  }

  async auditTrail (query: AuditQuery): Promise<AuditRecord[]> {
    const rows = await this.withOpClient(async client => await client.query<Parameters<typeof toAuditRecord>[0]>(
      auditPageSql(n => `$${n}`, query.target !== undefined), auditPageArgs(query)))
    return rows.rows.map(toAuditRecord)
  }

  async settlement (fromDate: string, toDate: string): Promise<SettlementRow[]> {
    const rows = await this.withOpClient(async client => await inPgSnapshot(client, async snapshot =>
      (await snapshot.query(settlementSql('$1', '$2'), settlementWindow(fromDate, toDate))).rows))
    return settlementRows(rows, issuer => this.o.catalogue.cityByIssuer.get(issuer) ?? issuer)
  }

  async settlementDay (date: string): Promise<SettlementDayReport> {
    const journal = await this.withOpClient(async client => await inPgSnapshot(client, async snapshot => await readPgSettlementDay(snapshot, date)))
    return journal.stored !== undefined ? closedReportOf(journal.stored) : buildSettlementDay(date, journal, this.issuerCityOf)
  }

  /**
   * One transaction: a lock on the day (two processes closing it at once: the second waits, then
   * finds it closed), the day's journal read inside the transaction, then the WriterOps close
   * against a PreloadedState holding the clearing accounts and as many transfer ids as the day has
   * cross-city positions (computed from the same journal first: the ids are drawn in the preload).
   */
  async closeSettlementDay (date: string, nowMs: number): Promise<SettlementDayReport> {
    return await this.withOpLane(async lane => await this.inTransaction(lane, async client => {
      client.query('BEGIN').catch(() => {}) // its failure shows in the reads after it
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [SETTLEMENT_DAY_LOCK_NAMESPACE, date])
      const journal = await readPgSettlementDay(client, date)
      const transferIds = journal.stored !== undefined ? 0 : settledPositions(buildSettlementDay(date, journal, this.issuerCityOf)).length
      const state = await preload(client, transferIds === 0 ? {} : { accountCodes: this.clearingCodes(), transferIds }, this.vault)
      const results = new WriterOps(state, this.o.catalogue, this.denyList).closeSettlementDay(date, nowMs, journal)
      return { results, state, flush: { shard: this.shardBase, auditRowsMax: this.o.auditRowsMax } }
    }))
  }

  private readonly issuerCityOf = (issuer: string): string => this.o.catalogue.cityByIssuer.get(issuer) ?? issuer

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    while (this.tapLanes.some(lane => lane.busy) || this.pending.length > 0) await sleep(5)
    for (const lane of [...this.tapLanes, ...this.opLanes]) await lane.client?.end().catch(() => {})
    await this.listener?.end().catch(() => {})
  }

  // Transactions

  /** BEGIN (sent by work) … preload … decide … flush + COMMIT, run again on a retryable failure.
   *  Anything else rolls back and is thrown. */
  private async inTransaction<T> (lane: Lane, work: (client: pg.Client) => Promise<{ results: T, state: PreloadedState, flush: Parameters<typeof flushAndCommit>[2] }>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let client: pg.Client
      try {
        client = await lane.connected()
      } catch (error) {
        this.noteFailure(error)
        throw error
      }
      try {
        const { results, state, flush } = await work(client)
        await flushAndCommit(client, state.writes(), flush)
        this.lastFailure = undefined
        return results
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {})
        if (isConnectionLoss(error)) {
          lane.drop()
          this.noteFailure(error)
          throw error
        }
        if (isRetryable(error) && attempt < PG_RETRIES_MAX) {
          this.retries++
          await sleep(randomInt(1, 5 * attempt))
          continue
        }
        throw error
      }
    }
  }

  /** A non-tap operation: the WriterOps of the SQLite writer, against a PreloadedState. */
  private async operation<T> (spec: PreloadSpec, run: (ops: WriterOps) => T, notifyTerminals: string[] = []): Promise<T> {
    return await this.withOpLane(async lane => await this.inTransaction(lane, async client => {
      client.query('BEGIN').catch(() => {}) // its failure shows in the reads after it
      const state = await preload(client, spec, this.vault)
      const results = run(new WriterOps(state, this.o.catalogue, this.denyList))
      return { results, state, flush: { shard: this.shardBase, notifyTerminals, auditRowsMax: this.o.auditRowsMax } }
    }))
  }

  private async withOpClient<T> (work: (client: pg.Client) => Promise<T>): Promise<T> {
    return await this.withOpLane(async lane => {
      const client = await lane.connected()
      try {
        return await work(client)
      } catch (error) {
        if (isConnectionLoss(error)) lane.drop()
        throw error
      }
    })
  }

  /** A free admin lane, or a bounded wait for one. */
  private async withOpLane<T> (work: (lane: Lane) => Promise<T>): Promise<T> {
    if (this.closed) throw overloaded('the ledger is closing')
    let lane = this.opLanes.find(l => !l.busy)
    while (lane === undefined) {
      if (this.opWaiting.length >= READER_QUEUE_DEPTH_MAX) throw overloaded('too many ledger operations are waiting')
      await new Promise<void>(resolve => this.opWaiting.push(resolve))
      lane = this.opLanes.find(l => !l.busy)
    }
    lane.busy = true
    try {
      return await work(lane)
    } catch (error) {
      // Refusals (not found, conflict) keep their code, and so does a ledger refusing this
      // process its key; storage failing is a 503, never a 500.
      if (error instanceof DomainError || error instanceof CardDataKeyMismatchError) throw error
      const failure = storageFailure(error)
      throw new DomainError(failure.code, failure.message)
    } finally {
      lane.busy = false
      this.opWaiting.shift()?.()
    }
  }

  private debtCodes (): string[] {
    return [...this.o.catalogue.cityByIssuer.keys()].map(issuer => accountCode.debt(issuer))
  }

  private clearingCodes (): string[] {
    return [...this.o.catalogue.cities.keys()].map(city => accountCode.clearing(city))
  }

  /** Makes sure the accounts exist (committed on their own, before any transaction names them). */
  private async knownAccounts (client: pg.Client, accounts: Array<{ code: string, kind: AccountClass }>): Promise<void> {
    const missing = accounts.filter(a => !this.accountsKnown.has(a.code))
    if (missing.length === 0) return
    await ensureAccounts(client, missing)
    for (const { code } of missing) {
      if (this.accountsKnown.size >= ACCOUNT_ID_CACHE_ENTRIES_MAX) this.accountsKnown.delete(this.accountsKnown.values().next().value!)
      this.accountsKnown.add(code)
    }
  }

  private noteFailure (error: unknown): void {
    const detail = describePgError(error)
    if (this.lastFailure === undefined) this.o.onEvent?.(`PostgreSQL ledger unavailable: ${detail}; reconnecting`)
    this.lastFailure = detail
  }

  // Terminal changes from other processes

  /**
   * One listener connection at a time. A connection that fails before it listens is ended (it
   * would stay open on the server); only the live listener's end starts a new one (an 'end' of any
   * other client starting one too multiplied listeners, and connections, at every failover).
   */
  private async listen (): Promise<void> {
    let delayMs = PG_RECONNECT_DELAY_MS_MIN
    while (!this.closed) {
      let client: pg.Client | undefined
      try {
        client = await connectReadWrite(this.target, { applicationName: 'yikatong-listen', statementTimeoutMs: 0 })
        const listening = client
        listening.on('notification', message => { if (message.payload !== undefined) void this.refreshTerminal(message.payload) })
        await listening.query('LISTEN ykt_terminals')
        this.listener = listening
        listening.on('end', () => {
          if (this.listener !== listening) return
          this.listener = undefined
          if (!this.closed) void this.listen()
        })
        // Whatever changed while no one listened.
        for (const record of await this.terminals()) this.tellWatchers(record)
        return
      } catch {
        // Not listening, or listening without the re-read: drop this connection and start over.
        if (this.listener === client) this.listener = undefined
        void client?.end().catch(() => {})
        await sleep(delayMs)
        delayMs = Math.min(delayMs * 2, PG_RECONNECT_DELAY_MS_MAX)
      }
    }
  }

  private async refreshTerminal (terminalId: string): Promise<void> {
    try {
      const rows = await this.withOpClient(async client => await client.query('SELECT * FROM terminals WHERE terminal_id = $1', [terminalId]))
      const row = rows.rows[0] as Record<string, string> | undefined
      if (row !== undefined) this.tellWatchers(toTerminal(row))
    } catch {
      // The listener's reconnect re-reads every terminal.
    }
  }

  private tellWatchers (record: TerminalRecord): void {
    for (const watcher of this.terminalWatchers) watcher(record)
  }
}

/** The card a tap touches, when it names one (a QR names it once resolved). */
function cardsOfJob (job: TapJob): string[] {
  const cardNo = requestCardNo(job)
  return cardNo === null ? [] : [cardNo]
}

/** The batch's terminals as the transaction sees them (status included: another process may have
 *  disabled one after this one authenticated its request), without their secrets: once a terminal,
 *  not once a tap. */
function terminalFacts (state: PreloadedState, jobs: TapJob[]): Map<string, TerminalFacts> {
  const facts = new Map<string, TerminalFacts>()
  for (const job of jobs) {
    const id = job.terminal.terminalId
    if (facts.has(id)) continue
    const record = state.terminal(id)
    if (record === undefined) continue
    const { secret: _secret, ...terminal } = record
    facts.set(id, terminal)
  }
  return facts
}

/** The same state machine as the SQLite writer, against the terminal the transaction read. */
function decideOne (machine: TapMachine, terminal: TerminalFacts | undefined, job: TapJob): TapResult {
  if (terminal === undefined) return failed(ErrorCode.FORBIDDEN, `terminal ${job.terminal.terminalId} is not registered`)
  try {
    return { ok: true, outcome: machine.process({ ...job, terminal }) }
  } catch (error) {
    if (error instanceof DomainError) return { ok: false, error: { code: error.code, message: error.message } }
    throw error
  }
}

function failed (code: ErrorCode, message: string): TapResult {
  return { ok: false, error: { code, message } }
}

/** Storage failing is a 503 with "retry with the same tapId": never a wrong answer. */
function storageFailure (error: unknown): { code: ErrorCode, message: string } {
  if (error instanceof DomainError) return { code: error.code, message: error.message }
  if (error instanceof LedgerInvariantError || isBalanceAssertion(error)) {
    process.stderr.write(`ledger invariant refused a transaction: ${(error as Error).message}\n`)
  }
  const failure = ledgerCommitFailed(describePgError(error))
  return { code: failure.code, message: failure.message }
}

/** Advisory lock namespace of settlement day closes (two-key form, the day's hash the second key). */
const SETTLEMENT_DAY_LOCK_NAMESPACE = 0x796b7364 // "ykts"

/** Advisory lock namespace of the shard claims (two-key form: apart from the tap keys' one-key locks). */
const SHARD_CLAIM_NAMESPACE = 0x796b74 // "ykt"

/**
 * Claims a balance shard that no other connection, of this process or another, writes: a session
 * advisory lock, held until the connection ends (a lost connection frees its shard). Shards picked
 * at random per process collided: measured with two processes, a lane sharing its shard with
 * another process's lane waited on that row lock at every commit. With more tap connections than
 * shards in the whole deployment, the last ones share a random shard: slower, still correct (the
 * shard rows are only ever added to).
 */
async function claimShard (client: pg.Client): Promise<number> {
  const startAt = randomInt(PG_BALANCE_SHARDS)
  for (let i = 0; i < PG_BALANCE_SHARDS; i++) {
    const shard = (startAt + i) % PG_BALANCE_SHARDS
    const claimed = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [SHARD_CLAIM_NAMESPACE, shard])
    if (claimed.rows[0]?.ok === true) return shard
  }
  return startAt
}
