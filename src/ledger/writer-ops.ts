// The writer's non-tap operations: cards, credits, reversals, terminals. Each runs in its own
// transaction (the writer wraps it in a savepoint-free BEGIN…COMMIT and rolls back on any throw),
// so a refused operation leaves nothing behind: not in the file, not in the writer's caches.
// An admin change given an AuditStamp writes its audit row last, once the change succeeded, in the
// same transaction: a refusal throws before it, a failed commit takes both away.
import { conflict, forbidden, notFound } from '../errors.js'
import type { Catalogue } from '../rules/catalogue.js'
import type { AccountKind, CityCode } from '../rules/types.js'
import type { AuditAction, AuditEntry, AuditStamp, CardInput, CardView, ReversalResult, TapAnswer, TerminalRecord } from './engine.js'
import { accountCode, LedgerInvariantError } from './postings.js'
import type { LedgerState } from './ledger-state.js'
import type { CardWithAccounts, MoneyLeg, RecordedTap } from './store.js'
import {
  buildSettlementDay, closedReportOf, settledPositions, settlementLegCodes, settlementRef, type SettlementDayJournal, type SettlementDayReport,
  type StoredSettlementDay
} from './settlement-days.js'

export class WriterOps {
  private readonly store: LedgerState
  private readonly catalogue: Catalogue

  constructor (store: LedgerState, catalogue: Catalogue) {
    this.store = store
    this.catalogue = catalogue
  }

  createCard (input: CardInput & { issuerCity: CityCode }, nowMs: number, audit?: AuditStamp): CardView {
    const { store } = this
    const nowIso = new Date(nowMs).toISOString()
    if (store.cardExists(input.cardNo)) throw conflict(`card ${maskCardNo(input.cardNo)} already exists`)
    store.insertCard({
      cardNo: input.cardNo,
      issuer: input.issuer,
      issuerCity: input.issuerCity,
      status: input.status ?? 'active',
      expiresOn: input.expiresOn ?? null,
      birthDate: input.holder?.birthDate ?? null,
      categories: input.holder?.categories ?? []
    }, nowIso)
    store.rememberNewCard(input.cardNo)
    for (const [account, amount] of Object.entries(input.accounts ?? {})) {
      if (amount === undefined || amount <= 0) continue
      const reference = `opening:${input.cardNo}:${account}`
      // A reference already taken (by a credit to another card) refuses the card: 409, not a 500.
      if (store.credit(reference) !== undefined) throw conflict(`credit reference ${reference} is already used`)
      this.postCredit(input.cardNo, account as AccountKind, amount, reference, nowIso)
    }
    // Amounts and the issuer, not the holder's birth date or categories.
    this.audit(audit, 'card.create', { card: input.cardNo }, { issuer: input.issuer, status: input.status ?? 'active', openingBalances: input.accounts ?? {} })
    return this.cardView(input.cardNo)
  }

  cardView (cardNo: string): CardView {
    const card = this.store.card(cardNo)
    if (card === undefined) throw notFound('card not found')
    return viewOf(card, this.catalogue.cityByIssuer.get(card.issuer) ?? '')
  }

  findCard (cardNo: string): CardView | undefined {
    const card = this.store.card(cardNo)
    return card === undefined ? undefined : viewOf(card, this.catalogue.cityByIssuer.get(card.issuer) ?? '')
  }

  setCardStatus (cardNo: string, status: 'active' | 'lost' | 'frozen', audit?: AuditStamp): CardView {
    const from = this.store.card(cardNo)?.status
    if (!this.store.setCardStatus(cardNo, status)) throw notFound('card not found')
    this.audit(audit, 'card.status', { card: cardNo }, { from, to: status })
    return this.cardView(cardNo)
  }

  /** Adds funds; idempotent on `reference` (same reference, same credit → no second posting). */
  credit (cardNo: string, account: AccountKind, amount: number, reference: string, nowMs: number, audit?: AuditStamp): CardView {
    if (!this.store.cardExists(cardNo)) throw notFound('card not found')
    const previous = this.store.credit(reference)
    if (previous !== undefined && (previous.card_no !== cardNo || previous.account !== account || previous.amount !== amount)) {
      throw conflict(`credit reference ${reference} was already used for another credit`)
    }
    if (previous === undefined) this.postCredit(cardNo, account, amount, reference, new Date(nowMs).toISOString())
    // A repeat is recorded too (it was asked for), marked so: it moved no money.
    const storedReference = audit === undefined ? reference : reference.split(cardNo).join(audit.target)
    this.audit(audit, 'card.credit', { card: cardNo }, { account, amount, reference: storedReference, repeat: previous !== undefined })
    return this.cardView(cardNo)
  }

  /** Cancels an approved, reversible tap with one balanced reverse transfer. Idempotent. */
  reverseTap (terminalId: string, tapId: string, nowMs: number): ReversalResult {
    const { store } = this
    const tap = store.tap(terminalId, tapId)
    if (tap === undefined) throw notFound('no such tap from this terminal')
    const scenario = this.catalogue.scenarios.get(tap.scenario)
    if (scenario?.module.reversible !== true) throw forbidden(`taps of scenario ${tap.scenario} cannot be reversed`)
    if (tap.decision !== 'approved') throw conflict('a declined tap has nothing to reverse')
    const answer = JSON.parse(tap.response) as TapAnswer
    const payments = answer.payments ?? (answer.account === undefined ? [] : [{ account: answer.account, amount: answer.amount }])
    const result: ReversalResult = { tapId, reversed: true, amount: tap.amount, payments }
    if (tap.reversalTransferId !== null || tap.amount === 0) return result
    const legs = this.reverseLegs(tap)
    const transferId = store.postTransfer('reversal', `${terminalId}/${tapId}`, legs, new Date(nowMs).toISOString())
    store.markReversed(tap.id, transferId)
    return result
  }

  registerTerminal (record: TerminalRecord, audit?: AuditStamp): TerminalRecord {
    if (this.store.terminal(record.terminalId) !== undefined) throw conflict(`terminal ${record.terminalId} already exists`)
    this.store.insertTerminal(record)
    // Never the secret.
    const { city, scenario, operator, location } = record
    this.audit(audit, 'terminal.register', { terminal: record.terminalId }, { city, scenario, operator, location, ...(record.cardAuthentication === undefined ? {} : { cardAuthentication: record.cardAuthentication }) })
    return record
  }

  setTerminalStatus (terminalId: string, status: 'active' | 'disabled', audit?: AuditStamp): TerminalRecord {
    const record = this.store.terminal(terminalId)
    if (record === undefined) throw notFound('terminal not found')
    this.store.setTerminalStatus(terminalId, status)
    this.audit(audit, 'terminal.status', { terminal: terminalId }, { from: record.status, to: status })
    return { ...record, status }
  }

  setTerminalSecret (terminalId: string, storedSecret: string, audit?: AuditStamp, detail: Record<string, unknown> = {}): TerminalRecord {
    const record = this.store.terminal(terminalId)
    if (record === undefined) throw notFound('terminal not found')
    this.store.setTerminalSecret(terminalId, storedSecret)
    // Never the secret, sealed or not.
    this.audit(audit, 'terminal.secret', { terminal: terminalId }, detail)
    return { ...record, secret: storedSecret }
  }

  /**
   * Closes a settlement day: posts one settlement transfer per cross-city position and stores the
   * report, frozen. `journal` is the day read by the engine inside this same write transaction
   * (settlement-days.ts), so what is posted and stored is exactly what the journal says at commit.
   * A day already closed answers its stored report and posts nothing. The caller checked the day
   * is over (service.ts).
   */
  closeSettlementDay (date: string, nowMs: number, journal: SettlementDayJournal): SettlementDayReport {
    if (journal.stored !== undefined) return closedReportOf(journal.stored)
    const closedAt = new Date(nowMs).toISOString()
    const issuerCityOf = (issuer: string): string => this.catalogue.cityByIssuer.get(issuer) ?? issuer
    const report: SettlementDayReport = { ...buildSettlementDay(date, journal, issuerCityOf), status: 'closed', closedAt }
    for (const position of settledPositions(report)) {
      const legs = settlementLegCodes(position).map(leg => ({ accountId: this.store.postings.accountId(leg.code, 'clearing'), amount: leg.amount }))
      this.store.postTransfer('settlement', settlementRef(date, position.issuerCity, position.acquirerCity), legs, closedAt)
    }
    // The issuer map the positions were computed with goes with them: `ledger check` recomputes
    // the day from the journal with it, needing no catalogue (check.ts item 8).
    const stored: StoredSettlementDay = { ...report, issuerCities: Object.fromEntries(this.catalogue.cityByIssuer) }
    this.store.insertSettlementDay(date, closedAt, JSON.stringify(stored))
    return report
  }

  /** An admin act with no ledger change of its own (a QR minted): the row alone. */
  recordAudit (entry: AuditEntry): void {
    this.store.insertAudit(entry)
  }

  private audit (stamp: AuditStamp | undefined, action: AuditAction, of: { card: string } | { terminal: string }, detail: Record<string, unknown>): void {
    if (stamp === undefined) return
    const { role, requestId, clientIp, atMs, target } = stamp
    // The stamp's target was computed by the service; a card number in clear must never land in
    // the trail, whoever called.
    if ('card' in of && target.includes(of.card)) throw new LedgerInvariantError('an audit row would hold a card number in clear')
    if ('terminal' in of && target !== of.terminal) throw new LedgerInvariantError('an audit row names another terminal')
    this.store.insertAudit({ atMs, actor: role, action, targetKind: 'card' in of ? 'card' : 'terminal', target, requestId, clientIp, detail })
  }

  /** The opposite legs of a tap's transfer: journal columns (v2) or postings rows (v1 taps). */
  private reverseLegs (tap: RecordedTap): MoneyLeg[] {
    const card = tap.cardNo === null ? undefined : this.store.card(tap.cardNo)
    if (card === undefined) throw new LedgerInvariantError('an approved tap without its card')
    if (tap.operatorAccountId !== null) {
      const legs: MoneyLeg[] = []
      if (tap.bankFen > 0) legs.push({ accountId: card.accountIds.bank, amount: tap.bankFen, card: { cardNo: card.cardNo, account: 'bank' } })
      if (tap.medicalFen > 0) legs.push({ accountId: card.accountIds.medical, amount: tap.medicalFen, card: { cardNo: card.cardNo, account: 'medical' } })
      legs.push({ accountId: tap.operatorAccountId, amount: -(tap.bankFen + tap.medicalFen) })
      return legs
    }
    if (tap.transferId === null) throw new LedgerInvariantError('an approved paid tap without its transfer')
    return this.store.postingsOfTransfer(tap.transferId).map(p => ({ accountId: p.accountId, amount: -p.amount, card: cardLegOf(card, p.accountId) }))
  }

  private postCredit (cardNo: string, account: AccountKind, amount: number, reference: string, nowIso: string): void {
    const card = this.store.card(cardNo)
    if (card === undefined) throw notFound('card not found')
    const clearing = this.store.postings.accountId(accountCode.clearing(this.catalogue.cityByIssuer.get(card.issuer) ?? card.issuer), 'clearing')
    const transferId = this.store.postTransfer('credit', reference, [
      { accountId: clearing, amount: -amount },
      { accountId: card.accountIds[account], amount, card: { cardNo, account } }
    ], nowIso)
    this.store.insertCredit(reference, cardNo, account, amount, transferId)
  }
}

function cardLegOf (card: CardWithAccounts, accountId: number): { cardNo: string, account: AccountKind } | undefined {
  if (accountId === card.accountIds.bank) return { cardNo: card.cardNo, account: 'bank' }
  if (accountId === card.accountIds.medical) return { cardNo: card.cardNo, account: 'medical' }
  return undefined
}

function viewOf (card: CardWithAccounts, city: string): CardView {
  return {
    cardNo: card.cardNo,
    issuer: card.issuer,
    city,
    status: card.status,
    expiresOn: card.expiresOn,
    holder: { birthDate: card.birthDate, categories: card.categories },
    balances: { ...card.balances }
  }
}

/** For error messages and logs: never the card number in clear. */
export function maskCardNo (cardNo: string): string {
  return `${cardNo.slice(0, 2)}*****${cardNo.slice(-2)}`
}
