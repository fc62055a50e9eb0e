// Scenic areas (and, through createEntryModule, museums and sports venues): a ticket per card per
// venue per day, priced from the scenario's tariff (fixtures/tariffs/scenic.json).
//
// Every price and concession is data: the tariff lists, per operator type (government-run or
// privately run), the concessions of the province the venue is in (children, minors, students,
// seniors). The module charges the cheapest price the holder qualifies for, so a 65-year-old
// student gets whichever of the two concessions is better, never both.
//
// Capacity limits are left out on purpose: a venue's daily count is shared by all cards, and the
// engine's state is per card, so a capacity check needs a per-venue counter from the ledger.
import { ageOn } from './local-time.js'
import type { CardFacts, Message, RuleDecision, RuleInput, RuleModule } from './types.js'
import { declineWith } from './decline.js'
import { reasonsFor } from './reasons.js'

export type OperatorType = 'government' | 'private'

export interface Concession {
  id: string
  /** Inclusive bounds on whole years of age on the tap's local date; needs a known birth date. */
  ageMin?: number
  ageMax?: number
  /** A holder category that qualifies (api-v1 `holder.categories`, e.g. `student`). */
  category?: string
  /** The price paid, as a percent of the ticket's list price: 0 is free, 50 is half price. */
  pricePercent: number
}

export interface Ticket { name: Message, priceFen: number }

export interface EntryVenue {
  operatorType: OperatorType
  /** The ticket sold when the tap's context names none. */
  defaultTicket: string
  tickets: Record<string, Ticket>
}

export interface EntryTariff {
  /** A second tap the same local day for the same venue and ticket: `free` approves it without
   *  charging again; `decline` refuses it with ALREADY_ENTERED. */
  sameDayReentry: 'free' | 'decline'
  concessions: Record<OperatorType, Concession[]>
  venues: Record<string, EntryVenue>
}

export interface EntryPrice {
  listPriceFen: number
  priceFen: number
  /** The concession applied, or null when the holder pays the list price. */
  concession: string | null
}

const ENTRY_REASONS = reasonsFor('NOT_OFFERED_HERE', 'VENUE_UNKNOWN', 'TICKET_UNKNOWN', 'ALREADY_ENTERED')

const ENTRY_CONTEXT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    // A venue with several tickets or routes (Laoshan) is told which one; else the default.
    ticket: { type: 'string', pattern: '^[a-z0-9-]{1,32}$' }
  }
}

/** The entry of `record` under `key`, ignoring inherited keys (a ticket named `constructor`). */
function ownEntry<T> (record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined
}

function qualifies (rule: Concession, card: CardFacts, ageYears: number | null): boolean {
  const needsAge = rule.ageMin !== undefined || rule.ageMax !== undefined
  if (needsAge && ageYears === null) return false
  if (ageYears !== null && rule.ageMin !== undefined && ageYears < rule.ageMin) return false
  if (ageYears !== null && rule.ageMax !== undefined && ageYears > rule.ageMax) return false
  if (rule.category !== undefined && !card.categories.includes(rule.category)) return false
  return true
}

/** Rounds down: a half price of an odd number of fen favours the visitor. */
function percentOf (amountFen: number, percent: number): number {
  return Math.floor(amountFen * percent / 100)
}

/** The cheapest price the holder qualifies for; on a tie the concession listed first wins. */
export function bestPrice (listPriceFen: number, rules: Concession[], card: CardFacts, date: string): EntryPrice {
  const ageYears = card.birthDate === null ? null : ageOn(card.birthDate, date)
  let best: EntryPrice = { listPriceFen, priceFen: listPriceFen, concession: null }
  for (const rule of rules) {
    const priceFen = percentOf(listPriceFen, rule.pricePercent)
    if (priceFen < best.priceFen && qualifies(rule, card, ageYears)) {
      best = { listPriceFen, priceFen, concession: rule.id }
    }
  }
  return best
}

export interface EntryTexts {
  /** What an approved entry says, e.g. 入园 / entry. */
  welcome: Message
  reentry: Message
}

const declined = declineWith(ENTRY_REASONS)

function chosenTicket (context: Record<string, unknown>, venue: EntryVenue): string {
  return typeof context.ticket === 'string' ? context.ticket : venue.defaultTicket
}

function decideEntry (statePrefix: string, texts: EntryTexts, input: RuleInput<EntryTariff | undefined>): RuleDecision {
  const { tap, card, terminal, tariff, state } = input
  if (tariff === undefined) return declined('NOT_OFFERED_HERE')
  const venueId = terminal.location.venue ?? ''
  const venue = ownEntry(tariff.venues, venueId)
  if (venue === undefined) return declined('VENUE_UNKNOWN', { venue: venueId })
  const ticketId = chosenTicket(tap.context, venue)
  const ticket = ownEntry(venue.tickets, ticketId)
  if (ticket === undefined) return declined('TICKET_UNKNOWN', { ticket: ticketId, tickets: Object.keys(venue.tickets) })
  const entryKey = `${statePrefix}:entry:${venueId}:${ticketId}`
  const alreadyEnteredToday = state.get(entryKey) === tap.at.date
  if (alreadyEnteredToday && tariff.sameDayReentry === 'decline') {
    return declined('ALREADY_ENTERED', { venue: venueId, ticket: ticketId, enteredOn: tap.at.date })
  }
  if (alreadyEnteredToday) {
    return {
      decision: 'approved',
      payments: [{ account: 'bank', amount: 0 }],
      message: texts.reentry,
      details: { venue: venueId, ticket: ticketId, alreadyEnteredToday: true, priceFen: 0 }
    }
  }
  const price = bestPrice(ticket.priceFen, tariff.concessions[venue.operatorType] ?? [], card, tap.at.date)
  return {
    decision: 'approved',
    payments: [{ account: 'bank', amount: price.priceFen }],
    message: texts.welcome,
    stateWrites: [{ key: entryKey, value: tap.at.date }],
    details: { venue: venueId, ticket: ticketId, operatorType: venue.operatorType, ...price }
  }
}

/** A one-entry-a-day venue module; scenic, museum and sports-venue entries differ only in words
 *  and in the state key prefix (so a museum visit never counts as a scenic entry). */
export function createEntryModule (code: string, statePrefix: string, texts: EntryTexts): RuleModule<EntryTariff | undefined> {
  return {
    code,
    contextSchema: ENTRY_CONTEXT_SCHEMA,
    reasons: ENTRY_REASONS,
    reversible: false,
    decide: input => decideEntry(statePrefix, texts, input)
  }
}

export const scenic = createEntryModule('scenic', 'scenic', {
  welcome: { zh: '欢迎入园', en: 'Welcome' },
  reentry: { zh: '今日已购票入园，本次不再收费', en: 'Already entered today: no charge this time' }
})
