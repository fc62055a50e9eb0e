// The 200 answer to a tap (schemas/tap-response.json), as both the service and terminals see it.
import fastJson from 'fast-json-stringify'

export interface TapAnswer {
  tapId: string
  decision: 'approved' | 'declined'
  /** Present exactly when declined. */
  reason?: string
  amount: number
  account?: string
  balance?: number
  /** When a tap is paid from more than one account (a pharmacy basket), medical first. */
  payments?: Array<{ account: string, amount: number }>
  /** api-v1.1: the part of an offline tap the card could not pay, now owed. */
  debt?: number
  authCode?: string
  message: { zh: string, en: string }
  details?: Record<string, unknown>
}

/** The answer's bytes, serialised by fast-json-stringify from `schemas/tap-response.json`. The
 *  writer serialises and records them, so a replay answers exactly the same bytes. */
export function buildTapSerializer (schemas: Array<Record<string, unknown>>): (answer: TapAnswer) => string {
  const root = schemas.find(s => s.$id === 'tap-response.json')
  if (root === undefined) throw new Error('schemas/tap-response.json is missing')
  const refs = Object.fromEntries(schemas.map(s => [String(s.$id), s])) as unknown as Record<string, fastJson.Schema>
  return fastJson(root as unknown as fastJson.Schema, { schema: refs }) as (answer: TapAnswer) => string
}
