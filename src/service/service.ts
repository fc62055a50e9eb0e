// The application layer: what the API asks for, in domain terms. It validates what needs no
// storage, hands taps to the engine through the tap queue, keeps the terminal registry, and knows
// nothing of HTTP (it throws DomainError; src/api/ maps codes to statuses).
import { randomBytes } from 'node:crypto'
import type { CardAuthKeys } from '../cards/card-auth.js'
import { mintQr, type QrKeyRing } from '../cards/qr-token.js'
import {
  AUDIT_PAGE_ROWS_MAX, HEALTH_PROBE_REUSE_MS, READY_QUEUE_FRACTION_MAX, QR_TTL_SECONDS_MAX, SETTLEMENT_DAY_CLOSE_GRACE_MS, SETTLEMENT_DAYS_MAX,
  TAPS_LISTED_MAX, TAP_BATCH_SIZE_MAX, TAP_QUEUE_DEPTH_MAX, TERMINAL_SECRET_OVERLAP_S_MAX
} from '../constants.js'
import { badRequest, conflict, forbidden, notFound } from '../errors.js'
import type { Catalogue } from '../rules/catalogue.js'
import type { AccountKind, CityCode, TerminalLocation } from '../rules/types.js'
import type {
  AdminActor, AuditQuery, AuditRecord, AuditStamp, CardInput, CardView, DenylistAnswer, EngineHealth, LedgerEngine, RefundResult, ReversalResult, StoredTap,
  TapOutcome, TapRequest, TerminalRecord
} from '../ledger/engine.js'
import { cardTokenizer, type CardTokenizer } from '../log.js'
import type { LedgerCheckReport } from '../ledger/check.js'
import type { SettlementRow } from '../ledger/settlement.js'
import { isSettlementDate, settlementDayClosable, settlementDayOf, type SettlementDayReport } from '../ledger/settlement-days.js'
import { prepareTapJob, type TapCheckContext } from './tap-checks.js'
import { TapQueue } from './tap-queue.js'
import { TerminalRegistry } from './terminal-registry.js'
import { SecretBox, SecretBoxError } from '../auth/secret-box.js'
import { TerminalHeartbeats, type Heartbeat } from './terminal-heartbeats.js'
import type { AuthTerminal } from '../auth/terminal-auth.js'

export interface TerminalInput {
  terminalId: string
  city: CityCode
  scenario: string
  operator: string
  location?: TerminalLocation
  cardAuthentication?: 'optional' | 'required'
  /** Only the demo seed sets a known secret; registrations get a random one. */
  secret?: string
}

export interface ServiceOptions {
  engine: LedgerEngine
  catalogue: Catalogue
  qrKeys: QrKeyRing
  /** Issuer master keys for physical cards' proofs of presence (src/cards/card-auth.ts). */
  cardAuthKeys: CardAuthKeys
  nowMs?: () => number
  batchSizeMax?: number
  queueDepthMax?: number
  /** The card tokens of the logs (CARD_TOKEN_KEY): the audit trail names a card by its token, so
   *  one card's rows join its log lines. Unset: a random key (tests). */
  cardToken?: CardTokenizer
  /** Seals terminal secrets before the ledger stores them (TERMINAL_SECRETS_KEY or its key file). */
  secretBox: SecretBox
  /** The deny list's token key (32 bytes): terminals get it with the list to compute tokens. */
  denylistKey: Buffer
}

/** What a rotation answers: the new secret, once, and until when the old one is still accepted. */
export interface RotatedSecret { terminalId: string, secret: string, previousSecretValidUntil: string | null }

export class Service {
  readonly engine: LedgerEngine
  readonly catalogue: Catalogue
  private readonly qrKeys: QrKeyRing
  private readonly cardAuthKeys: CardAuthKeys
  private readonly checkContext: TapCheckContext
  private readonly nowMs: () => number
  private readonly queue: TapQueue
  private readonly registry: TerminalRegistry
  private readonly queueDepthMax: number
  private readonly cardToken: CardTokenizer
  private lastHealth: { atMs: number, health: EngineHealth } | undefined
  private healthProbe: Promise<EngineHealth> | undefined

  private readonly secretBox: SecretBox
  private readonly denylistTokenKey: string
  readonly heartbeats = new TerminalHeartbeats()

  private constructor (o: ServiceOptions, terminals: AuthTerminal[]) {
    this.secretBox = o.secretBox
    this.denylistTokenKey = o.denylistKey.toString('base64url')
    this.engine = o.engine
    this.catalogue = o.catalogue
    this.qrKeys = o.qrKeys
    this.cardAuthKeys = o.cardAuthKeys
    this.checkContext = { catalogue: o.catalogue, qrKeys: o.qrKeys, cardAuthKeys: o.cardAuthKeys }
    this.nowMs = o.nowMs ?? Date.now
    this.queueDepthMax = o.queueDepthMax ?? TAP_QUEUE_DEPTH_MAX
    this.cardToken = o.cardToken ?? cardTokenizer()
    this.queue = new TapQueue(o.engine, { batchSizeMax: o.batchSizeMax ?? TAP_BATCH_SIZE_MAX, depthMax: this.queueDepthMax })
    this.registry = new TerminalRegistry(terminals)
    // Several processes on one ledger: what another one registered or changed reaches this one.
    o.engine.watchTerminals?.(record => {
      // A row this process cannot open was altered (every process opened them all at start).
      try { this.registry.committed(this.opened(record)) } catch (error) {
        if (!(error instanceof SecretBoxError)) throw error
        this.registry.forget(record.terminalId)
      }
    })
  }

  /** Opens every terminal's sealed secret (refusing to start, by name, on one that does not open:
   *  another key, an altered row) and seals any still stored in clear (a ledger from before). */
  static async create (o: ServiceOptions): Promise<Service> {
    const terminals: AuthTerminal[] = []
    for (const stored of await o.engine.terminals()) {
      if (SecretBox.isSealed(stored.secret)) {
        terminals.push(openedWith(o.secretBox, stored))
        continue
      }
      const resealed = await o.engine.setTerminalSecret(stored.terminalId, o.secretBox.seal(stored.terminalId, { secret: stored.secret }))
      terminals.push(openedWith(o.secretBox, resealed))
    }
    // A ledger from before the deny list: its lost and frozen cards are listed now (bounded batches).
    await o.engine.backfillDenylist()
    return new Service(o, terminals)
  }

  private opened (record: TerminalRecord): AuthTerminal { return openedWith(this.secretBox, record) }

  // Taps

  submitTap (terminal: TerminalRecord, tap: TapRequest, bodyHash: string, atPastMsMax: number): Promise<TapOutcome> {
    // The record itself, not a copy without its secret: only the terminal id crosses to the writer
    // (writer-protocol.ts packJobs), so no object is built per tap on this path.
    const job = prepareTapJob(this.checkContext, terminal, tap, bodyHash, this.nowMs(), atPastMsMax)
    return this.queue.submit(job)
  }

  get queueDepth (): number { return this.queue.depth }

  async reverseTap (terminalId: string, tapId: string): Promise<ReversalResult> {
    return await this.engine.reverseTap(terminalId, tapId, this.nowMs())
  }

  /** api-v1.1 refunds: all or part of an approved tap's charge, idempotent on reference. */
  async refundTap (terminalId: string, tapId: string, amount: number | undefined, reference: string, actor?: AdminActor): Promise<RefundResult> {
    // The amount's shape is checked once, in the ledger's refund (writer-ops.ts), with its bounds.
    return await this.engine.refundTap(terminalId, tapId, amount, reference, this.nowMs(), this.stamp(actor, terminalId))
  }

  /** The deny list for a terminal: changes after `since`, or all of it, with the token key. */
  async denylist (since: number | undefined): Promise<DenylistAnswer & { tokenKey: string }> {
    if (since !== undefined && (!Number.isSafeInteger(since) || since < 0)) throw badRequest('since must be a whole number ≥ 0')
    return { ...await this.engine.denylist(since), tokenKey: this.denylistTokenKey }
  }

  recordHeartbeat (terminalId: string, heartbeat: Heartbeat): void {
    if (heartbeat.oldestQueuedAt !== null && !Number.isFinite(Date.parse(heartbeat.oldestQueuedAt))) throw badRequest('oldestQueuedAt is not a time')
    this.heartbeats.record(terminalId, heartbeat, this.nowMs())
  }

  async tapsForCard (cardNo: string): Promise<StoredTap[]> {
    const taps = await this.engine.tapsForCard(cardNo, TAPS_LISTED_MAX)
    if (taps === undefined) throw notFound('card not found')
    return taps
  }

  // Terminals

  terminal (terminalId: string): TerminalRecord | undefined {
    return this.registry.get(terminalId)
  }

  async registerTerminal (input: TerminalInput, actor?: AdminActor): Promise<TerminalRecord> {
    if (this.registry.has(input.terminalId)) throw conflict(`terminal ${input.terminalId} already exists`)
    const record: TerminalRecord = {
      terminalId: input.terminalId,
      city: input.city,
      scenario: input.scenario,
      operator: input.operator,
      location: this.checkLocation(input),
      secret: input.secret ?? randomBytes(32).toString('base64url'),
      status: 'active',
      createdAt: new Date(this.nowMs()).toISOString(),
      ...(input.cardAuthentication === undefined ? {} : { cardAuthentication: input.cardAuthentication })
    }
    const sealed = { ...record, secret: this.secretBox.seal(record.terminalId, { secret: record.secret }) }
    this.registry.committed(this.opened(await this.engine.registerTerminal(sealed, this.stamp(actor, record.terminalId))))
    return record
  }

  async setTerminalStatus (terminalId: string, status: 'active' | 'disabled', actor?: AdminActor): Promise<TerminalRecord> {
    if (!this.registry.has(terminalId)) throw notFound('terminal not found')
    const updated = this.opened(await this.engine.setTerminalStatus(terminalId, status, this.stamp(actor, terminalId)))
    this.registry.committed(updated)
    return updated
  }

  /**
   * A new secret for a terminal; the old one is still accepted for `overlapS` (0: at once no
   * longer), so a fleet can be re-keyed without a window in which its taps are refused. The new
   * secret is answered once and stored sealed. Two rotations at once through two processes: the
   * later one wins, and the earlier answer's secret is the one no longer accepted.
   */
  async rotateTerminalSecret (terminalId: string, overlapS: number, actor?: AdminActor): Promise<RotatedSecret> {
    const current = this.registry.get(terminalId)
    if (current === undefined) throw notFound('terminal not found')
    if (!Number.isInteger(overlapS) || overlapS < 0 || overlapS > TERMINAL_SECRET_OVERLAP_S_MAX) throw badRequest(`overlapS must be an integer from 0 to ${TERMINAL_SECRET_OVERLAP_S_MAX}`)
    const secret = randomBytes(32).toString('base64url')
    const untilMs = this.nowMs() + overlapS * 1000
    const secrets = overlapS === 0 ? { secret } : { secret, previous: current.secret, previousUntilMs: untilMs }
    const updated = await this.engine.setTerminalSecret(terminalId, this.secretBox.seal(terminalId, secrets), this.stamp(actor, terminalId), { overlapS })
    this.registry.committed(this.opened(updated))
    return { terminalId, secret, previousSecretValidUntil: overlapS === 0 ? null : new Date(untilMs).toISOString() }
  }

  private checkLocation (input: TerminalInput): TerminalLocation {
    const scenario = this.catalogue.scenarios.get(input.scenario)
    if (scenario === undefined) throw badRequest(`unknown scenario ${input.scenario}`)
    const city = this.catalogue.cities.get(input.city)
    if (city === undefined) throw badRequest(`unknown city ${input.city}`)
    const location = input.location ?? {}
    if (location.station !== undefined && !city.stationIds.has(location.station)) throw badRequest(`unknown station ${location.station} in ${input.city}`)
    if (location.line !== undefined && scenario.location === 'station' && !city.lineIds.has(location.line)) throw badRequest(`unknown metro line ${location.line} in ${input.city}`)
    if (location.venue !== undefined) {
      const venue = city.venues.get(location.venue)
      if (venue === undefined) throw badRequest(`unknown venue ${location.venue} in ${input.city}`)
      if (scenario.location === 'venue' && venue.scenario !== input.scenario) throw badRequest(`venue ${location.venue} is a ${venue.scenario} venue, not ${input.scenario}`)
    }
    if (scenario.location === 'station' && location.station === undefined) throw badRequest(`a ${input.scenario} terminal needs location.station`)
    if (scenario.location === 'venue' && location.venue === undefined) throw badRequest(`a ${input.scenario} terminal needs location.venue`)
    return location
  }

  // Cards

  async createCard (input: CardInput, actor?: AdminActor): Promise<CardView> {
    const issuerCity = this.catalogue.cityByIssuer.get(input.issuer)
    if (issuerCity === undefined) throw badRequest(`issuer ${input.issuer} is not one of the programme's issuers`)
    for (const date of [input.holder?.birthDate, input.expiresOn]) {
      if (date !== undefined && !isCalendarDate(date)) throw badRequest(`${date} is not a calendar date`)
    }
    return await this.engine.createCard({ ...input, issuerCity }, this.nowMs(), this.cardStamp(actor, input.cardNo))
  }

  async cardView (cardNo: string): Promise<CardView> {
    const card = await this.engine.card(cardNo)
    if (card === undefined) throw notFound('card not found')
    return card
  }

  async setCardStatus (cardNo: string, status: 'active' | 'lost' | 'frozen', actor?: AdminActor): Promise<CardView> {
    return await this.engine.setCardStatus(cardNo, status, this.cardStamp(actor, cardNo))
  }

  /** Adds funds; idempotent on `reference` (same reference, same credit → no second posting). */
  async credit (cardNo: string, account: AccountKind, amount: number, reference: string, actor?: AdminActor): Promise<CardView> {
    return await this.engine.credit(cardNo, account, amount, reference, this.nowMs(), this.cardStamp(actor, cardNo))
  }

  /** A QR lets its bearer pay as the card: minting one is audited like a change, and the QR is
   *  handed out only once its audit row is committed. */
  async mintQr (cardNo: string, ttlSeconds: number, actor?: AdminActor): Promise<{ qr: string, expiresAt: string }> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > QR_TTL_SECONDS_MAX) throw badRequest(`ttlSeconds must be 1..${QR_TTL_SECONDS_MAX}`)
    const card = await this.cardView(cardNo)
    if (!this.qrKeys.privateKeys.has(card.issuer)) throw forbidden(`no QR signing key is configured for issuer ${card.issuer}`)
    const expiresAtMs = Math.floor((this.nowMs() + ttlSeconds * 1000) / 1000) * 1000
    const qr = mintQr(this.qrKeys, card.cardNo, card.issuer, expiresAtMs)
    const stamp = this.cardStamp(actor, cardNo)
    if (stamp !== undefined) {
      const { role, atMs, target, requestId, clientIp } = stamp
      await this.engine.recordAudit({ atMs, actor: role, action: 'card.qr', targetKind: 'card', target, requestId, clientIp, detail: { ttlSeconds } })
    }
    return { qr, expiresAt: new Date(expiresAtMs).toISOString() }
  }

  // Admin audit trail

  /** A page of the trail, newest first. `before` is the id cursor (exclusive); `target` a terminal
   *  id or a card token. */
  async auditTrail (query: AuditQuery): Promise<AuditRecord[]> {
    if (!Number.isSafeInteger(query.limit) || query.limit < 1 || query.limit > AUDIT_PAGE_ROWS_MAX) throw badRequest(`limit must be 1..${AUDIT_PAGE_ROWS_MAX}`)
    if (query.before !== undefined && (!Number.isSafeInteger(query.before) || query.before < 1)) throw badRequest('before must be a positive integer id')
    return await this.engine.auditTrail(query)
  }

  /** A card as the logs and the audit trail name it. */
  cardTokenOf (cardNo: string): string {
    return this.cardToken(cardNo)
  }

  /** The audit stamp of a change to a card: the card as its token, never its number. */
  private cardStamp (actor: AdminActor | undefined, cardNo: string): AuditStamp | undefined {
    return actor === undefined ? undefined : this.stamp(actor, this.cardToken(cardNo))
  }

  private stamp (actor: AdminActor | undefined, target: string): AuditStamp | undefined {
    return actor === undefined ? undefined : { ...actor, atMs: this.nowMs(), target }
  }

  // Reports and health

  async check (): Promise<LedgerCheckReport> {
    return await this.engine.check()
  }

  async settlement (fromDate: string, toDate: string): Promise<SettlementRow[]> {
    const days = (Date.parse(toDate) - Date.parse(fromDate)) / 86_400_000
    if (!(days >= 0 && days < SETTLEMENT_DAYS_MAX)) throw badRequest(`from..to must be 1 to ${SETTLEMENT_DAYS_MAX} days`)
    return await this.engine.settlement(fromDate, toDate)
  }

  /** A settlement day's figures: a closed day's frozen report, an open day's as of now. */
  async settlementDay (date: string): Promise<SettlementDayReport> {
    if (!isSettlementDate(date)) throw badRequest(`${date} is not a calendar date (YYYY-MM-DD)`)
    return await this.engine.settlementDay(date)
  }

  /** Closes a settlement day once it is over (and the grace after its midnight has passed). */
  async closeSettlementDay (date: string): Promise<SettlementDayReport> {
    if (!isSettlementDate(date)) throw badRequest(`${date} is not a calendar date (YYYY-MM-DD)`)
    const nowMs = this.nowMs()
    if (!settlementDayClosable(date, nowMs)) {
      throw conflict(`settlement day ${date} is not over yet (today is ${settlementDayOf(nowMs)} in Asia/Shanghai; a day closes from ${SETTLEMENT_DAY_CLOSE_GRACE_MS / 60_000} minutes after its midnight)`)
    }
    return await this.engine.closeSettlementDay(date, nowMs)
  }

  /** Proves the ledger can be written. An unauthenticated /healthz must not buy an fsync per
   *  request: one probe at a time, its answer reused for HEALTH_PROBE_REUSE_MS. */
  async health (): Promise<EngineHealth> {
    const now = this.nowMs()
    if (this.lastHealth !== undefined && now - this.lastHealth.atMs < HEALTH_PROBE_REUSE_MS) return this.lastHealth.health
    this.healthProbe ??= this.engine.health().then(health => {
      this.lastHealth = { atMs: this.nowMs(), health }
      return health
    }).finally(() => { this.healthProbe = undefined })
    return await this.healthProbe
  }

  /** For /readyz (synchronous): not ready when the last ledger probe failed or the tap queue is
   *  nearly full. Starts a fresh probe when the last one is stale, for the next ask. */
  readiness (): { ready: boolean, why?: string } {
    if (!this.engine.up) return { ready: false, why: 'the ledger is not taking writes (its writer is down)' }
    if (this.lastHealth === undefined || this.nowMs() - this.lastHealth.atMs >= HEALTH_PROBE_REUSE_MS) void this.health().catch(() => {})
    if (this.lastHealth !== undefined && !this.lastHealth.health.writable) return { ready: false, why: `ledger is not writable: ${this.lastHealth.health.detail}` }
    if (this.queue.depth >= this.queueDepthMax * READY_QUEUE_FRACTION_MAX) return { ready: false, why: 'tap queue is nearly full' }
    return { ready: true }
  }

  async counts (): Promise<{ cards: number, terminals: number }> {
    return await this.engine.counts()
  }

  /** Answers every accepted tap, then closes the engine. */
  async close (): Promise<void> {
    await this.queue.close()
    await this.engine.close()
  }
}

function isCalendarDate (date: string): boolean {
  const ms = Date.parse(`${date}T00:00:00Z`)
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === date
}

function openedWith (box: SecretBox, record: TerminalRecord): AuthTerminal {
  const secrets = box.open(record.terminalId, record.secret)
  return {
    ...record,
    secret: secrets.secret,
    ...(secrets.previous === undefined ? {} : { previousSecret: secrets.previous, previousSecretUntilMs: secrets.previousUntilMs ?? 0 })
  }
}
