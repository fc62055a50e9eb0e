// Cardholder offers: a purchase priced at the terminal (a cruise ticket, a partner merchant's bill)
// paid from the card's bank account, with a fixed reduction when the amount reaches the offer's
// threshold — once per card per offer (`offer:<offerId>` in state holds the date it was used).
//
// The launch cruise gave 950 yuan off a ticket paid through the card's bank account. Offers are the
// tariff's, per city; an offer id shared by several cities is still used once per card. A purchase
// that no offer applies to is not declined: it is paid in full. The reduction is the merchant's (or
// the issuing bank's) to fund: the card pays the net, the operator receives the net.
import type { Message, RuleDecision, RuleInput, RuleModule } from './types.js'
import { reasonsFor } from './reasons.js'
import { declineWith, REFERENCE_CONTEXT_SCHEMA } from './decline.js'

export interface Offer {
  id: string
  name: Message
  /** The amount the purchase must reach (fen). */
  thresholdFen: number
  reductionFen: number
  /** Inclusive local dates `YYYY-MM-DD`. */
  validFrom: string
  validUntil: string
  /** Operators (terminal owners) taking part; absent: every operator of the scenario in the city. */
  operators?: string[]
}

export interface OfferTariff {
  amountFenMax: number
  /** First match wins. */
  offers: Offer[]
}

const REASONS = reasonsFor('NOT_OFFERED_HERE', 'AMOUNT_REQUIRED', 'AMOUNT_LIMIT')

const contextSchema = REFERENCE_CONTEXT_SCHEMA

const declined = declineWith(REASONS)

function offerStateKey (offer: Offer): string {
  return `offer:${offer.id}`
}

function applies (offer: Offer, amountFen: number, date: string, operator: string): boolean {
  return amountFen >= offer.thresholdFen &&
    offer.validFrom <= date && date <= offer.validUntil &&
    (offer.operators === undefined || offer.operators.includes(operator))
}

function decide ({ tap, terminal, tariff, state }: RuleInput<OfferTariff | undefined>): RuleDecision {
  if (tariff === undefined) return declined('NOT_OFFERED_HERE')
  const amountFen = tap.amount
  if (amountFen === null) return declined('AMOUNT_REQUIRED')
  if (amountFen > tariff.amountFenMax) return declined('AMOUNT_LIMIT', { amountFenMax: tariff.amountFenMax })
  const reference = typeof tap.context.reference === 'string' ? tap.context.reference : null
  const candidates = tariff.offers.filter(offer => applies(offer, amountFen, tap.at.date, terminal.operator))
  // State is read only for offers that would apply, and the first unused one wins.
  const offer = candidates.find(candidate => state.get(offerStateKey(candidate)) == null)
  if (offer === undefined) {
    const usedOffers = candidates.map(candidate => candidate.id)
    return {
      decision: 'approved',
      payments: [{ account: 'bank', amount: amountFen }],
      message: { zh: '支付成功', en: 'Paid' },
      details: { amountFen, reductionFen: 0, offer: null, offersAlreadyUsed: usedOffers, reference }
    }
  }
  const reductionFen = Math.min(offer.reductionFen, amountFen)
  return {
    decision: 'approved',
    payments: [{ account: 'bank', amount: amountFen - reductionFen }],
    message: { zh: `支付成功，${offer.name.zh}`, en: `Paid: ${offer.name.en}` },
    stateWrites: [{ key: offerStateKey(offer), value: tap.at.date }],
    details: { amountFen, reductionFen, offer: offer.id, reference }
  }
}

export const cardholderOffer: RuleModule<OfferTariff | undefined> = {
  code: 'cardholder-offer',
  contextSchema,
  reasons: REASONS,
  // Not reversible yet: a reversal would also have to free the offer (`offer:<id>` back to unused).
  reversible: false,
  decide
}
