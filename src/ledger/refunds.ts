// Posting a refund of a tap's charge (api-v1.1 refunds; also the difference a late metro entry
// gives back): one balanced transfer of kind 'refund' from the operator's receivable back to the
// card's accounts and to its issuer's debt account (cancelling what the card still owed of it),
// and a refunds row that names the tap and the parts. The caller checked the bounds.
import type { LedgerState } from './ledger-state.js'
import { accountCode, LedgerInvariantError } from './postings.js'
import type { ChargeParts } from './refund-split.js'
import type { CardWithAccounts, MoneyLeg } from './store.js'

export interface RefundPosting {
  reference: string
  terminalId: string
  tapId: string
  card: CardWithAccounts
  operatorAccountId: number
  parts: ChargeParts
  nowIso: string
}

export function postRefund (store: LedgerState, r: RefundPosting): number {
  const { bankFen, medicalFen, debtFen } = r.parts
  const amount = bankFen + medicalFen + debtFen
  if (amount <= 0) throw new LedgerInvariantError('a refund moves money')
  const legs: MoneyLeg[] = [{ accountId: r.operatorAccountId, amount: -amount }]
  if (bankFen > 0) legs.push({ accountId: r.card.accountIds.bank, amount: bankFen, card: { cardToken: r.card.token, account: 'bank' } })
  if (medicalFen > 0) legs.push({ accountId: r.card.accountIds.medical, amount: medicalFen, card: { cardToken: r.card.token, account: 'medical' } })
  if (debtFen > 0) legs.push({ accountId: store.postings.accountId(accountCode.debt(r.card.issuer), 'clearing'), amount: debtFen })
  const transferId = store.postTransfer('refund', r.reference, legs, r.nowIso)
  if (debtFen > 0) store.addCardDebt(r.card.token, -debtFen)
  store.insertRefund({ reference: r.reference, terminalId: r.terminalId, tapId: r.tapId, amount, bankFen, medicalFen, debtFen, transferId, createdAt: r.nowIso })
  return amount
}
