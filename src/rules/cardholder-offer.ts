// Cardholder offers: a purchase priced at the terminal (a cruise ticket, a partner merchant's bill)
// paid from the card's bank account, with a fixed reduction when the offer applies — once per card
// per offer (`offer:<offerId>` in state holds the date it was used; one key per offer, so bounded
// by the tariff).
//
// An offer may be bound to named sailings or events (`voyages`, local dates): the tap's context
// names the one the ticket is for (`context.voyage`), and the offer applies only to those, bought
// no later than the sailing day. The seed article's cruise offer is exactly that: 立减950元起 (at
// least 950 yuan off) for cardholders paying from the card's bank account, on the two 理想号
// voyages of 2026-07-01 and 2026-07-05 — no invented sale window or threshold. Offers are the
// tariff's, per city; an offer id shared by several cities is still used once per card. A purchase
// that no offer applies to is not declined: it is paid in full. The reduction is the merchant's (or
// the issuing bank's) to fund: the card pays the net, the operator receives the net.
import type { Message, RuleDecision, RuleInput, RuleModule } from './types.js'
import { reasonsFor } from './reasons.js'
import { declineWith, REFERENCE_PROPERTY } from './decline.js'

export interface Offer {
  id: string
  name: Message
  /** The amount the purchase must reach (fen); absent: any amount. */
  thresholdFen?: number
  reductionFen: number
  /** Inclusive local purchase dates `YYYY-MM-DD`; absent: unbounded on that side. */
  validFrom?: string
  validUntil?: string
  /** The offer is for tickets of these sailings/events only (local dates); the tap's context.voyage names one. */
  voyages?: string[]
  /** Operators (terminal owners) taking part; absent: every operator of the scenario in the city. */
  operators?: string[]
}

export interface OfferTariff {
  amountFenMax: number
  /** First match wins. */
  offers: Offer[]
}

const REASONS = reasonsFor('NOT_OFFERED_HERE', 'AMOUNT_REQUIRED', 'AMOUNT_LIMIT')

const contextSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    reference: REFERENCE_PROPERTY,
    // The sailing (or event) date the ticket is for, when the terminal sells tickets of dated voyages.
    voyage: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' }
  }
}

const declined = declineWith(REASONS)

function offerStateKey (offer: Offer): string {
  return `offer:${offer.id}`
}

function applies (offer: Offer, amountFen: number, date: string, operator: string, voyage: string | null): boolean {
  return amountFen >= (offer.thresholdFen ?? 0) &&
    (offer.validFrom === undefined || offer.validFrom <= date) &&
    (offer.validUntil === undefined || date <= offer.validUntil) &&
    (offer.voyages === undefined || (voyage !== null && offer.voyages.includes(voyage) && date <= voyage)) &&
    (offer.operators === undefined || offer.operators.includes(operator))
}

function decide ({ tap, terminal, tariff, state }: RuleInput<OfferTariff | undefined>): RuleDecision {
  if (tariff === undefined) return declined('NOT_OFFERED_HERE')
  const amountFen = tap.amount
  if (amountFen === null) return declined('AMOUNT_REQUIRED')
  if (amountFen > tariff.amountFenMax) return declined('AMOUNT_LIMIT', { amountFenMax: tariff.amountFenMax })
  const reference = typeof tap.context.reference === 'string' ? tap.context.reference : null
  const voyage = typeof tap.context.voyage === 'string' ? tap.context.voyage : null
  const candidates = tariff.offers.filter(offer => applies(offer, amountFen, tap.at.date, terminal.operator, voyage))
  // State is read only for offers that would apply, and the first unused one wins.
  const offer = candidates.find(candidate => state.get(offerStateKey(candidate)) == null)
  if (offer === undefined) {
    const usedOffers = candidates.map(candidate => candidate.id)
    return {
      decision: 'approved',
      payments: [{ account: 'bank', amount: amountFen }],
      message: { zh: '支付成功', en: 'Paid' },
      details: { amountFen, reductionFen: 0, offer: null, offersAlreadyUsed: usedOffers, voyage, reference }
    }
  }
  const reductionFen = Math.min(offer.reductionFen, amountFen)
  return {
    decision: 'approved',
    payments: [{ account: 'bank', amount: amountFen - reductionFen }],
    message: { zh: `支付成功，${offer.name.zh}`, en: `Paid: ${offer.name.en}` },
    stateWrites: [{ key: offerStateKey(offer), value: tap.at.date }],
    details: { amountFen, reductionFen, offer: offer.id, voyage, reference }
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
