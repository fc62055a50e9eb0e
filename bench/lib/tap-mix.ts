// The tap mix: tap number g of a ledger's life (g = 0, 1, 2, ... across every run on that ledger)
// → which terminal sends which body. Deterministic, so runs are repeatable and never reuse a tap id.
//
// Shares per 100 taps (transit dominates, as in the three cities' daily counts): bus 40, metro 34
// (17 journeys, in and out), pharmacy 6, bank payment 6, scenic 4, library 4 (2 loans, borrow and
// return), utility bills 3, highway tolls 3. Cities rotate, cards rotate, so approvals dominate:
// - bus declines DUPLICATE_TAP for the same card on the same validator within 2 minutes: a card's
//   consecutive bus taps move to the next validator, so a pair repeats only after cards × validators;
// - metro and library come in pairs (in → out, borrow → return) placed in blocks: the second half of
//   a pair is sent at least 2 blocks (≥ 512 metro taps) after the first, far more than the
//   connections in flight, so it never overtakes its first half;
// - a card is in at most one open journey / loan of this rotation at a time (cards ≫ pairs in flight).
import type { BenchTerminal, Fleet } from './fleet.js'

export const MIX: ReadonlyArray<readonly [string, number]> = [
  ['bus', 40], ['metro', 34], ['pharmacy', 6], ['bank-payment', 6], ['scenic', 4], ['library', 4], ['utility', 3], ['highway-etc', 3]
]
const PATTERN_LENGTH = 100
const METRO_BLOCK = 256
const LIBRARY_BLOCK = 64

export interface PlannedTap {
  terminal: BenchTerminal
  /** The JSON body, keys in the spec's order. */
  body: Record<string, unknown>
}

/** Smooth weighted round robin over MIX: the 100-slot pattern and each slot's rank in its scenario. */
function buildPattern (): Array<{ scenario: string, rank: number }> {
  const current = new Map<string, number>(MIX.map(([s]) => [s, 0]))
  const ranks = new Map<string, number>(MIX.map(([s]) => [s, 0]))
  const pattern: Array<{ scenario: string, rank: number }> = []
  for (let slot = 0; slot < PATTERN_LENGTH; slot++) {
    let best = ''
    for (const [s, w] of MIX) {
      current.set(s, current.get(s)! + w)
      if (best === '' || current.get(s)! > current.get(best)!) best = s
    }
    current.set(best, current.get(best)! - PATTERN_LENGTH)
    const rank = ranks.get(best)!
    ranks.set(best, rank + 1)
    pattern.push({ scenario: best, rank })
  }
  return pattern
}

const PATTERN = buildPattern()
const WEIGHT = new Map(MIX)

/** Pair block layout: block 0 = firsts of pair-block 0; odd b = firsts of (b+1)/2; even b ≥ 2 = seconds of b/2 - 1. */
function pairOf (k: number, block: number): { second: boolean, q: number } {
  const b = Math.floor(k / block)
  const j = k % block
  if (b === 0) return { second: false, q: j }
  if (b % 2 === 1) return { second: false, q: ((b + 1) / 2) * block + j }
  return { second: true, q: (b / 2 - 1) * block + j }
}

function card (fleet: Fleet, index: number): { type: 'physical', cardNo: string, issuer: string } {
  const c = fleet.cards[index % fleet.cards.length]!
  return { type: 'physical', cardNo: c.cardNo, issuer: c.issuer }
}

export function plannedTap (fleet: Fleet, g: number, at: string): PlannedTap {
  const slot = PATTERN[g % PATTERN_LENGTH]!
  const k = Math.floor(g / PATTERN_LENGTH) * WEIGHT.get(slot.scenario)! + slot.rank
  const tapId = `t-${g}`
  const nCards = fleet.cards.length
  const city = fleet.cities[k % fleet.cities.length]!
  const j = Math.floor(k / fleet.cities.length)
  switch (slot.scenario) {
    case 'bus': {
      // The card's next bus tap (j + nCards) is on the next validator.
      const terminal = city.bus[(j + Math.floor(j / nCards)) % city.bus.length]!
      // Each city starts the rotation at another card, so one card's taps are spread in time.
      return { terminal, body: { tapId, at, card: card(fleet, j + (k % fleet.cities.length) * 9973) } }
    }
    case 'metro': {
      const { second, q } = pairOf(k, METRO_BLOCK)
      const c = fleet.cities[q % fleet.cities.length]!
      const stations = c.metroGates.length
      const entry = (q * 31) % stations
      const station = second ? (entry + 1 + (q * 17) % (stations - 1)) % stations : entry
      const terminal = c.metroGates[station]![Math.floor(q / 3) % 2]!
      return { terminal, body: { tapId, at, card: card(fleet, q * 7 + 13), context: { direction: second ? 'out' : 'in' } } }
    }
    case 'library': {
      const { second, q } = pairOf(k, LIBRARY_BLOCK)
      const c = fleet.cities[q % fleet.cities.length]!
      const terminal = c.library[(Math.floor(q / 3) + (second ? 1 : 0)) % c.library.length]!
      const item = second ? { id: `BK-${q}` } : { id: `BK-${q}`, value: 2000 + (q * 37) % 4000 }
      return { terminal, body: { tapId, at, card: card(fleet, q * 11 + 29), context: { action: second ? 'return' : 'borrow', items: [item] } } }
    }
    case 'scenic': {
      const terminal = city.scenic[j % city.scenic.length]!
      const tickets = city.scenicTickets.get(terminal.location.venue ?? '') ?? []
      const context = tickets.length > 1 ? { ticket: tickets[j % tickets.length] } : {}
      return { terminal, body: { tapId, at, card: card(fleet, j * 13 + 7), context } }
    }
    case 'pharmacy': {
      const terminal = city.pharmacy[j % city.pharmacy.length]!
      const n = 1 + k % 3
      const items = Array.from({ length: n }, (_v, i) => {
        const item = city.pharmacyItems[(k + i * 2) % city.pharmacyItems.length]!
        return { code: item.code, class: item.class, amount: 500 + ((k + i) * 389) % 4500 }
      })
      const amount = items.reduce((sum, i) => sum + i.amount, 0)
      return { terminal, body: { tapId, at, card: card(fleet, k * 17 + 3), amount, context: { items } } }
    }
    case 'bank-payment': {
      const terminal = city.bankPayment[j % city.bankPayment.length]!
      return { terminal, body: { tapId, at, card: card(fleet, k * 19 + 5), amount: 500 + (k * 37) % 19_500, context: {} } }
    }
    case 'utility': {
      const terminal = city.utilities[j % city.utilities.length]!
      return { terminal, body: { tapId, at, card: card(fleet, k * 23 + 11), amount: 2000 + (k * 53) % 30_000, context: { reference: `ACC-${100000 + (k * 7) % 900000}` } } }
    }
    default: {
      const terminal = city.highway[j % city.highway.length]!
      return { terminal, body: { tapId, at, card: card(fleet, k * 29 + 17), amount: 500 + (k * 41) % 8000, context: {} } }
    }
  }
}
