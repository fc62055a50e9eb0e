// Keeps the deny list in step with the cards, in the transaction that changes them: a card is
// listed while it is lost or frozen or owes money (api-v1.1), with one reason (lost and frozen
// before debt: a terminal that sees "lost" keeps the card), and unlisted when none holds. Every
// change gets the next version (LedgerState.writeDenylist), which terminals follow by deltas.
import { denylistToken } from '../cards/denylist-token.js'
import type { LedgerState } from './ledger-state.js'
import type { CardWithAccounts, DenyReason } from './store.js'

export function denyReasonOf (card: Pick<CardWithAccounts, 'status' | 'debtFen'>): DenyReason | null {
  if (card.status === 'lost' || card.status === 'frozen') return card.status
  return card.debtFen > 0 ? 'debt' : null
}

export class DenyListKeeper {
  constructor (private readonly tokenKey: Buffer) {}

  token (issuer: string, cardNo: string): string {
    return denylistToken(this.tokenKey, issuer, cardNo)
  }

  /** Writes a change only when the card's reason differs from its row: no version for nothing. */
  sync (store: LedgerState, cardToken: string): void {
    const card = store.card(cardToken)
    if (card === undefined) return
    const wanted = denyReasonOf(card)
    const current = store.denylistEntry(cardToken)
    if ((current?.reason ?? null) === wanted) return
    // The terminals' token is of the card's number (opened from its row), under the deny-list key.
    store.writeDenylist(cardToken, current?.token ?? this.token(card.issuer, card.cardNo), wanted)
  }
}
