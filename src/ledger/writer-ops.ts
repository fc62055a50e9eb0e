// The writer's non-tap operations: cards, credits, reversals, terminals. Each runs in its own
// transaction (the writer wraps it in a savepoint-free BEGIN…COMMIT and rolls back on any throw),
// so a refused operation leaves nothing behind: not in the file, not in the writer's caches.
// An admin change given an AuditStamp writes its audit row last, once the change succeeded, in the
// same transaction: a refusal throws before it, a failed commit takes both away.
import { badRequest, conflict, forbidden, notFound } from '../errors.js'
import type { Catalogue } from '../rules/catalogue.js'
import type { AccountKind, CityCode } from '../rules/types.js'
import type { AuditAction, AuditEntry, AuditStamp, CardInput, CardView, RefundResult, ReversalResult, TapAnswer, TerminalRecord } from './engine.js'
import type { DenyListKeeper } from './deny-list.js'
import { postRefund } from './refunds.js'
import { splitRefund } from './refund-split.js'
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
  private readonly denyList: DenyListKeeper

  constructor (store: LedgerState, catalogue: Catalogue, denyList: DenyListKeeper) {
    this.store = store
    this.catalogue = catalogue
    this.denyList = denyList
  }

  createCard (input: CardInput & { issuerCity: CityCode }, nowMs: number, audit?: AuditStamp): CardView {
    const { store } = this
    const nowIso = new Date(nowMs).toISOString()
    const token = store.vault.token(input.cardNo)
    if (store.cardExists(token)) throw conflict(`card ${maskCardNo(input.cardNo)} already exists`)
    store.insertCard({
      cardNo: input.cardNo,
      issuer: input.issuer,
      issuerCity: input.issuerCity,
      status: input.status ?? 'active',
      expiresOn: input.expiresOn ?? null,
      birthDate: input.holder?.birthDate ?? null,
      categories: input.holder?.categories ?? []
    }, nowIso)
    store.rememberNewCard(token)
    // A card issued lost or frozen is listed at once.
    this.denyList.sync(store, token)
    for (const [account, amount] of Object.entries(input.accounts ?? {})) {
      if (amount === undefined || amount <= 0) continue
      // The token, not the number: the reference is stored (credits, transfers).
      const reference = `opening:${token}:${account}`
      // A reference already taken (by a credit to another card) refuses the card: 409, not a 500.
      if (store.credit(reference) !== undefined) throw conflict(`credit reference ${reference} is already used`)
      this.postCredit(token, account as AccountKind, amount, reference, nowIso)
    }
    // Amounts and the issuer, not the holder's birth date or categories.
    this.audit(audit, 'card.create', { card: input.cardNo }, { issuer: input.issuer, status: input.status ?? 'active', openingBalances: input.accounts ?? {} })
    return this.cardView(token)
  }

  // The card calls below take a card number, as the admin API does; storage is asked by token.

  findCard (cardNo: string): CardView | undefined {
    const card = this.store.card(this.store.vault.token(cardNo))
    return card === undefined ? undefined : viewOf(card, this.catalogue.cityByIssuer.get(card.issuer) ?? '')
  }

  setCardStatus (cardNo: string, status: 'active' | 'lost' | 'frozen', audit?: AuditStamp): CardView {
    const token = this.store.vault.token(cardNo)
    const from = this.store.card(token)?.status
    if (!this.store.setCardStatus(token, status)) throw notFound('card not found')
    this.denyList.sync(this.store, token)
    this.audit(audit, 'card.status', { card: cardNo }, { from, to: status })
    return this.cardView(token)
  }

  /** Adds funds; idempotent on `reference` (same reference, same credit → no second posting). */
  credit (cardNo: string, account: AccountKind, amount: number, reference: string, nowMs: number, audit?: AuditStamp): CardView {
    const token = this.store.vault.token(cardNo)
    if (!this.store.cardExists(token)) throw notFound('card not found')
    const previous = this.store.credit(reference)
    if (previous !== undefined && (previous.card_token !== token || previous.account !== account || previous.amount !== amount)) {
      throw conflict(`credit reference ${reference} was already used for another credit`)
    }
    if (previous === undefined) this.postCredit(token, account, amount, reference, new Date(nowMs).toISOString())
    // A repeat is recorded too (it was asked for), marked so: it moved no money.
    const storedReference = audit === undefined ? reference : reference.split(cardNo).join(audit.target)
    this.audit(audit, 'card.credit', { card: cardNo }, { account, amount, reference: storedReference, repeat: previous !== undefined })
    return this.cardView(token)
  }

  /** Cancels an approved, reversible tap with one balanced reverse transfer. Idempotent. */
  reverseTap (terminalId: string, tapId: string, nowMs: number): ReversalResult {
    const { store } = this
    const tap = store.tap(terminalId, tapId)
    if (tap === undefined) throw notFound('no such tap from this terminal')
    const scenario = this.catalogue.scenarios.get(tap.scenario)
    if (scenario?.module.reversible !== true) throw forbidden(`taps of scenario ${tap.scenario} cannot be reversed`)
    if (tap.decision !== 'approved') throw conflict('a declined tap has nothing to reverse')
    // A refunded tap is refunded the rest of the way, not reversed: one money-back path per tap.
    if (tap.reversalTransferId === null && store.refundTotals(terminalId, tapId).amount > 0) throw conflict('this tap was partly refunded: refund the rest instead')
    const answer = JSON.parse(tap.response) as TapAnswer
    const payments = answer.payments ?? (answer.account === undefined ? [] : [{ account: answer.account, amount: answer.amount }])
    const result: ReversalResult = { tapId, reversed: true, amount: tap.amount, payments }
    if (tap.reversalTransferId !== null || tap.amount === 0) return result
    const legs = this.reverseLegs(tap)
    const transferId = store.postTransfer('reversal', `${terminalId}/${tapId}`, legs, new Date(nowMs).toISOString())
    store.markReversed(tap.id, transferId)
    if (tap.debtFen > 0 && tap.cardToken !== null) this.denyList.sync(store, tap.cardToken)
    return result
  }

  /**
   * api-v1.1 refunds: all (amount undefined) or part of an approved tap's charge back where it
   * came from (refund-split.ts), as one balanced transfer. Idempotent on reference: the same
   * reference for the same tap and amount answers again; for anything else, 409. The refunds of a
   * tap never exceed its charge, and a reversed tap has nothing left to refund.
   */
  refundTap (terminalId: string, tapId: string, amount: number | undefined, reference: string, nowMs: number, audit?: AuditStamp): RefundResult {
    const { store } = this
    const previous = store.refund(reference)
    if (previous !== undefined) {
      if (previous.terminalId !== terminalId || previous.tapId !== tapId || (amount !== undefined && amount !== previous.amount)) {
        throw conflict(`refund reference ${reference} was already used for another refund`)
      }
      return refundAnswer(store.refundTotals(terminalId, tapId).amount, previous)
    }
    const tap = store.tap(terminalId, tapId)
    if (tap === undefined) throw notFound('no such tap from this terminal')
    if (tap.decision !== 'approved' || tap.amount === 0 || tap.operatorAccountId === null || tap.cardToken === null) throw conflict('this tap charged nothing: nothing to refund')
    if (tap.reversalTransferId !== null) throw conflict('this tap was reversed: nothing left to refund')
    const done = store.refundTotals(terminalId, tapId)
    const leftFen = tap.amount - done.amount
    const refundFen = amount ?? leftFen
    if (leftFen <= 0) throw conflict('this tap is refunded in full already')
    if (!Number.isSafeInteger(refundFen) || refundFen <= 0) throw badRequest('amount must be a positive whole number of fen')
    if (refundFen > leftFen) throw conflict(`the refunds of a tap never exceed its charge: ${leftFen} fen left to refund`)
    const card = store.card(tap.cardToken)
    if (card === undefined) throw new LedgerInvariantError('an approved tap without its card')
    const left = { bankFen: tap.bankFen - done.bankFen, medicalFen: tap.medicalFen - done.medicalFen, debtFen: tap.debtFen - done.debtFen }
    const parts = splitRefund(refundFen, left, card.debtFen)
    const nowIso = new Date(nowMs).toISOString()
    postRefund(store, { reference, terminalId, tapId, card, operatorAccountId: tap.operatorAccountId, parts, nowIso })
    if (parts.debtFen > 0) this.denyList.sync(store, card.token)
    const recorded = store.refund(reference) ?? { amount: refundFen, ...parts }
    // The row names the tap (its terminal is the target), never the card behind it.
    this.audit(audit, 'tap.refund', { terminal: terminalId }, { tapId, amount: refundFen, reference: reference.split(card.cardNo).join('*') })
    return refundAnswer(done.amount + refundFen, recorded)
  }

  private cardView (cardToken: string): CardView {
    const card = this.store.card(cardToken)
    if (card === undefined) throw notFound('card not found')
    return viewOf(card, this.catalogue.cityByIssuer.get(card.issuer) ?? '')
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

  /** Brings these cards' deny-list rows in line with their status and debt. */
  syncDenylist (cardTokens: string[]): number {
    for (const cardToken of cardTokens) this.denyList.sync(this.store, cardToken)
    return cardTokens.length
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
    const card = tap.cardToken === null ? undefined : this.store.card(tap.cardToken)
    if (card === undefined) throw new LedgerInvariantError('an approved tap without its card')
    if (tap.operatorAccountId !== null) {
      // What the tap left owed is cancelled; what the card has since repaid of it comes back as money.
      const parts = splitRefund(tap.amount, { bankFen: tap.bankFen, medicalFen: tap.medicalFen, debtFen: tap.debtFen }, card.debtFen)
      const legs: MoneyLeg[] = []
      if (parts.bankFen > 0) legs.push({ accountId: card.accountIds.bank, amount: parts.bankFen, card: { cardToken: card.token, account: 'bank' } })
      if (parts.medicalFen > 0) legs.push({ accountId: card.accountIds.medical, amount: parts.medicalFen, card: { cardToken: card.token, account: 'medical' } })
      if (parts.debtFen > 0) {
        legs.push({ accountId: this.store.postings.accountId(accountCode.debt(card.issuer), 'clearing'), amount: parts.debtFen })
        this.store.addCardDebt(card.token, -parts.debtFen)
      }
      legs.push({ accountId: tap.operatorAccountId, amount: -tap.amount })
      return legs
    }
    if (tap.transferId === null) throw new LedgerInvariantError('an approved paid tap without its transfer')
    return this.store.postingsOfTransfer(tap.transferId).map(p => ({ accountId: p.accountId, amount: -p.amount, card: cardLegOf(card, p.accountId) }))
  }

  /** A credit repays the card's debt first (api-v1.1); the rest goes to the account. One transfer. */
  private postCredit (cardToken: string, account: AccountKind, amount: number, reference: string, nowIso: string): void {
    const card = this.store.card(cardToken)
    if (card === undefined) throw notFound('card not found')
    const clearing = this.store.postings.accountId(accountCode.clearing(this.catalogue.cityByIssuer.get(card.issuer) ?? card.issuer), 'clearing')
    const repaidFen = Math.min(amount, card.debtFen)
    const legs: MoneyLeg[] = [{ accountId: clearing, amount: -amount }]
    if (repaidFen > 0) legs.push({ accountId: this.store.postings.accountId(accountCode.debt(card.issuer), 'clearing'), amount: repaidFen })
    if (amount > repaidFen) legs.push({ accountId: card.accountIds[account], amount: amount - repaidFen, card: { cardToken, account } })
    const transferId = this.store.postTransfer('credit', reference, legs, nowIso)
    this.store.insertCredit(reference, cardToken, account, amount, transferId, repaidFen)
    if (repaidFen > 0) {
      this.store.addCardDebt(cardToken, -repaidFen)
      this.denyList.sync(this.store, cardToken)
    }
  }
}

function cardLegOf (card: CardWithAccounts, accountId: number): { cardToken: string, account: AccountKind } | undefined {
  if (accountId === card.accountIds.bank) return { cardToken: card.token, account: 'bank' }
  if (accountId === card.accountIds.medical) return { cardToken: card.token, account: 'medical' }
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
    balances: { ...card.balances },
    debt: card.debtFen
  }
}

function refundAnswer (refundedFen: number, refund: { bankFen: number, medicalFen: number, debtFen: number }): RefundResult {
  const payments: RefundResult['payments'] = []
  if (refund.bankFen > 0) payments.push({ account: 'bank', amount: refund.bankFen })
  if (refund.medicalFen > 0) payments.push({ account: 'medical', amount: refund.medicalFen })
  return { refunded: refundedFen, payments, debtCancelled: refund.debtFen }
}

/** For error messages and logs: never the card number in clear. */
export function maskCardNo (cardNo: string): string {
  return `${cardNo.slice(0, 2)}*****${cardNo.slice(-2)}`
}
