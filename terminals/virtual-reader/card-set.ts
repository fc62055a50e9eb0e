// The cards a virtual reader can be tapped with: loaded from a fixtures file
// ({"cards": [{"cardNo", "issuer", "expiresOn"}, ...]}, e.g. fixtures/demo.json), bounded in size.
import { readFileSync } from 'node:fs'
import type { CardFacts } from './card-image.js'

export const CARD_SET_SIZE_MAX = 10_000

export function loadCardSet (file: string): Map<string, CardFacts> {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { cards?: unknown }
  if (!Array.isArray(doc.cards)) throw new Error(`${file}: no "cards" array`)
  if (doc.cards.length > CARD_SET_SIZE_MAX) throw new Error(`${file}: more than ${CARD_SET_SIZE_MAX} cards`)
  const cards = new Map<string, CardFacts>()
  for (const c of doc.cards as Array<Record<string, unknown>>) {
    const { cardNo, issuer, expiresOn } = c
    if (typeof cardNo !== 'string' || typeof issuer !== 'string' || typeof expiresOn !== 'string') {
      throw new Error(`${file}: a card needs cardNo, issuer and expiresOn strings`)
    }
    cards.set(cardNo, { cardNo, issuer, expiresOn })
  }
  return cards
}
