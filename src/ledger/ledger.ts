// The ledger service: owns the database, the terminal registry cache, the group committer for
// taps, and the admin operations (cards, credits, terminals, reversals).
import { randomBytes } from 'node:crypto'
import { badRequest, conflict, forbidden, notFound } from '../errors.js'
import type { Catalogue } from '../rules/catalogue.js'
import type { AccountKind, CityCode, TerminalLocation } from '../rules/types.js'
import { mintQr, type QrKeyRing } from '../cards/qr-token.js'
import { GroupCommitter } from './group-commit.js'
import { accountCode } from './postings.js'
import type { Db } from './schema.js'
import { LedgerStore, type CardWithAccounts, type StoredTap, type TerminalRecord } from './store.js'
import { TapProcessor, type TapAnswer, type TapJob, type TapOutcome } from './tap-processor.js'
import { checkLedger, type LedgerCheckReport } from './check.js'

export interface LedgerOptions {
  db: Db
  catalogue: Catalogue
  qrKeys: QrKeyRing
  nowMs?: () => number
  serializeTap: (answer: TapAnswer) => string
  batchSizeMax?: number
  queueDepthMax?: number
  onBatch?: (stats: { size: number, commitMs: number }) => void
}

export interface CardView {
  cardNo: string
  issuer: string
  city: string
  status: string
  expiresOn: string | null
  holder: { birthDate: string | null, categories: string[] }
  balances: Record<AccountKind, number>
}

export interface CardInput {
  cardNo: string
  issuer: string
  holder?: { birthDate?: string, categories?: string[] }
  expiresOn?: string
  status?: 'active' | 'lost' | 'frozen'
  accounts?: Partial<Record<AccountKind, number>>
}

export interface TerminalInput {
  terminalId: string
  city: CityCode
  scenario: string
  operator: string
  location?: TerminalLocation
  /** Only the demo seed sets a known secret; registrations get a random one. */
  secret?: string
}

export const TAPS_LISTED_MAX = 10_000
const NONCE_PURGE_BATCH = 1_000

export class Ledger {
  readonly db: Db
  readonly store: LedgerStore
  readonly catalogue: Catalogue
  private readonly qrKeys: QrKeyRing
  private readonly nowMs: () => number
  private readonly terminals = new Map<string, TerminalRecord>()
  private readonly committer: GroupCommitter<TapJob, TapOutcome>

  constructor (o: LedgerOptions) {
    this.db = o.db
    this.catalogue = o.catalogue
    this.qrKeys = o.qrKeys
    this.nowMs = o.nowMs ?? Date.now
    this.store = new LedgerStore(o.db)
    for (const t of this.store.allTerminals()) this.terminals.set(t.terminalId, t)
    const processor = new TapProcessor({ store: this.store, catalogue: o.catalogue, qrKeys: o.qrKeys, nowMs: this.nowMs, serialize: o.serializeTap })
    this.committer = new GroupCommitter<TapJob, TapOutcome>({
      db: o.db,
      processOne: job => processor.process(job),
      batchSizeMax: o.batchSizeMax ?? 256,
      queueDepthMax: o.queueDepthMax ?? 4096,
      onBatch: o.onBatch
    })
  }

  // Taps

  submitTap (job: TapJob): Promise<TapOutcome> {
    return this.committer.submit(job)
  }

  get queueDepth (): number { return this.committer.depth }

  tapsForCard (cardNo: string): StoredTap[] {
    if (!this.store.cardExists(cardNo)) throw notFound('card not found')
    return this.store.tapsForCard(cardNo, TAPS_LISTED_MAX)
  }

  /** Cancels an approved, reversible tap with one balanced reverse transfer. Idempotent. */
  reverseTap (terminalId: string, tapId: string): { tapId: string, reversed: true, amount: number, payments: Array<{ account: string, amount: number }> } {
    return this.db.transaction(() => {
      const tap = this.store.tap(terminalId, tapId)
      if (tap === undefined) throw notFound('no such tap from this terminal')
      const scenario = this.catalogue.scenarios.get(tap.scenario)
      if (scenario?.module.reversible !== true) throw forbidden(`taps of scenario ${tap.scenario} cannot be reversed`)
      if (tap.decision !== 'approved') throw conflict('a declined tap has nothing to reverse')
      const answer = JSON.parse(tap.response) as TapAnswer
      const payments = answer.payments ?? (answer.account === undefined ? [] : [{ account: answer.account, amount: answer.amount }])
      const result = { tapId, reversed: true as const, amount: tap.amount, payments }
      if (tap.reversalTransferId !== null || tap.transferId === null) return result
      const legs = this.store.postingsOfTransfer(tap.transferId).map(p => ({ accountId: p.accountId, amount: -p.amount }))
      const posted = this.store.postings.transfer('reversal', `${terminalId}/${tapId}`, legs, new Date(this.nowMs()).toISOString())
      this.store.markReversed(tap.id, posted.transferId)
      return result
    })()
  }

  // Terminals

  terminal (terminalId: string): TerminalRecord | undefined {
    return this.terminals.get(terminalId)
  }

  registerTerminal (input: TerminalInput): TerminalRecord {
    if (this.terminals.has(input.terminalId)) throw conflict(`terminal ${input.terminalId} already exists`)
    const location = this.checkLocation(input)
    const record: TerminalRecord = {
      terminalId: input.terminalId,
      city: input.city,
      scenario: input.scenario,
      operator: input.operator,
      location,
      secret: input.secret ?? randomBytes(32).toString('base64url'),
      status: 'active',
      createdAt: new Date(this.nowMs()).toISOString()
    }
    this.store.insertTerminal(record)
    this.terminals.set(record.terminalId, record)
    return record
  }

  setTerminalStatus (terminalId: string, status: 'active' | 'disabled'): TerminalRecord {
    const record = this.terminals.get(terminalId)
    if (record === undefined) throw notFound('terminal not found')
    this.store.setTerminalStatus(terminalId, status)
    const updated = { ...record, status }
    this.terminals.set(terminalId, updated)
    return updated
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

  createCard (input: CardInput): CardView {
    const issuerCity = this.catalogue.cityByIssuer.get(input.issuer)
    if (issuerCity === undefined) throw badRequest(`issuer ${input.issuer} is not one of the programme's issuers`)
    for (const date of [input.holder?.birthDate, input.expiresOn]) {
      if (date !== undefined && !isCalendarDate(date)) throw badRequest(`${date} is not a calendar date`)
    }
    const nowIso = new Date(this.nowMs()).toISOString()
    this.db.transaction(() => {
      if (this.store.cardExists(input.cardNo)) throw conflict(`card ${maskCardNo(input.cardNo)} already exists`)
      this.store.insertCard({
        cardNo: input.cardNo,
        issuer: input.issuer,
        issuerCity,
        status: input.status ?? 'active',
        expiresOn: input.expiresOn ?? null,
        birthDate: input.holder?.birthDate ?? null,
        categories: input.holder?.categories ?? []
      }, nowIso)
      for (const [account, amount] of Object.entries(input.accounts ?? {})) {
        if (amount !== undefined && amount > 0) this.postCredit(input.cardNo, account as AccountKind, amount, `opening:${input.cardNo}:${account}`, nowIso)
      }
    })()
    return this.cardView(input.cardNo)
  }

  cardView (cardNo: string): CardView {
    const card = this.store.card(cardNo)
    if (card === undefined) throw notFound('card not found')
    return viewOf(card, this.catalogue.cityByIssuer.get(card.issuer) ?? '')
  }

  setCardStatus (cardNo: string, status: 'active' | 'lost' | 'frozen'): CardView {
    if (!this.store.setCardStatus(cardNo, status)) throw notFound('card not found')
    return this.cardView(cardNo)
  }

  /** Adds funds; idempotent on `reference` (same reference, same credit → no second posting). */
  credit (cardNo: string, account: AccountKind, amount: number, reference: string): CardView {
    this.db.transaction(() => {
      if (!this.store.cardExists(cardNo)) throw notFound('card not found')
      const previous = this.store.credit(reference)
      if (previous !== undefined) {
        if (previous.card_no !== cardNo || previous.account !== account || previous.amount !== amount) {
          throw conflict(`credit reference ${reference} was already used for another credit`)
        }
        return
      }
      this.postCredit(cardNo, account, amount, reference, new Date(this.nowMs()).toISOString())
    })()
    return this.cardView(cardNo)
  }

  private postCredit (cardNo: string, account: AccountKind, amount: number, reference: string, nowIso: string): void {
    const card = this.store.card(cardNo)
    if (card === undefined) throw notFound('card not found')
    const clearing = this.store.postings.accountId(accountCode.clearing(this.catalogue.cityByIssuer.get(card.issuer) ?? card.issuer), 'clearing')
    const posted = this.store.postings.transfer('credit', reference, [
      { accountId: clearing, amount: -amount },
      { accountId: card.accountIds[account], amount }
    ], nowIso)
    this.store.insertCredit(reference, cardNo, account, amount, posted.transferId)
  }

  mintQr (cardNo: string, ttlSeconds: number): { qr: string, expiresAt: string } {
    const card = this.store.card(cardNo)
    if (card === undefined) throw notFound('card not found')
    if (!this.qrKeys.privateKeys.has(card.issuer)) throw forbidden(`no QR signing key is configured for issuer ${card.issuer}`)
    const expiresAtMs = Math.floor((this.nowMs() + ttlSeconds * 1000) / 1000) * 1000
    return { qr: mintQr(this.qrKeys, card.cardNo, card.issuer, expiresAtMs), expiresAt: new Date(expiresAtMs).toISOString() }
  }

  purgeExpiredNonces (): number {
    return this.store.purgeNonces(this.nowMs(), NONCE_PURGE_BATCH)
  }

  check (): LedgerCheckReport {
    return checkLedger(this.db)
  }

  /** Commits what is queued, then closes the database. */
  async close (): Promise<void> {
    await this.committer.close()
    this.db.close()
  }
}

function viewOf (card: CardWithAccounts, city: string): CardView {
  return {
    cardNo: card.cardNo,
    issuer: card.issuer,
    city,
    status: card.status,
    expiresOn: card.expiresOn,
    holder: { birthDate: card.birthDate, categories: card.categories },
    balances: card.balances
  }
}

function isCalendarDate (date: string): boolean {
  const ms = Date.parse(`${date}T00:00:00Z`)
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === date
}

/** For error messages and logs: never the card number in clear. */
export function maskCardNo (cardNo: string): string {
  return `${cardNo.slice(0, 2)}*****${cardNo.slice(-2)}`
}
