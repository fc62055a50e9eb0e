// Schema v5 (SQLite) / migration 4 (PostgreSQL), issue #13 item 7: the ledger keys cards by token
// and seals their numbers and holder data (src/cards/card-vault.ts). What both engines' migrations
// share: which tables have a card key, how a v4 card row is sealed, and the statements that
// rewrite every card-keyed row from a temporary card_token_map (card_no → token), in SQL both
// dialects run as written (UPDATE ... FROM: SQLite ≥ 3.33, PostgreSQL).
import type { CardVault } from '../cards/card-vault.js'
import type { Db } from './schema.js'

/** Tables whose card_no column became card_token. */
export const LEDGER_TABLES_WITH_CARD_KEYS = ['cards', 'taps', 'credits', 'card_state', 'denylist'] as const

/** A cards row as schema v4 stored it. */
export interface V4CardRow {
  card_no: string
  birth_date: string | null
  categories: string
}

export function sealCardRow (vault: CardVault, row: V4CardRow): { token: string, sealed: string } {
  return vault.sealCard({ cardNo: row.card_no, birthDate: row.birth_date, categories: JSON.parse(row.categories) as string[] })
}

// Opening credits were referenced opening:<cardNo>:<account>: they become opening:<token>:<account>
// (what createCard now writes). Other credit and refund references are the integrator's and stay as
// given (docs/security.md: a reference should not hold a card number): rewriting one would make a
// retry of it after the migration a new credit.
export const CARD_TOKEN_REWRITES: readonly string[] = [
  ...(['taps', 'credits', 'card_state', 'denylist'] as const).map(table =>
    `UPDATE ${table} SET card_token = m.token FROM card_token_map m WHERE ${table}.card_token = m.card_no`),
  ...(['bank', 'medical'] as const).flatMap(kind => [
    `UPDATE accounts SET code = 'card:' || m.token || ':${kind}' FROM card_token_map m WHERE accounts.code = 'card:' || m.card_no || ':${kind}'`,
    `UPDATE transfers SET ref = 'opening:' || m.token || ':${kind}' FROM credits c JOIN card_token_map m ON m.token = c.card_token
      WHERE transfers.id = c.transfer_id AND transfers.ref = 'opening:' || m.card_no || ':${kind}'`,
    `UPDATE credits SET reference = 'opening:' || m.token || ':${kind}' FROM card_token_map m
      WHERE credits.card_token = m.token AND credits.reference = 'opening:' || m.card_no || ':${kind}'`
  ])
]

export class CardDataKeyMismatchError extends Error {
  readonly code = 'CARD_DATA_KEY_MISMATCH'
}

/** The ledger remembers the id of the key its cards were tokenised with: another key would find no
 *  card by number and open no card, so a process with another key refuses to start. */
export function cardDataKeyVerdict (storedKeyId: string | undefined, keyId: string): 'same' | 'unset' {
  if (storedKeyId === undefined) return 'unset'
  if (storedKeyId !== keyId) {
    throw new CardDataKeyMismatchError(`the ledger's cards are tokenised with card data key id ${storedKeyId}, this process has key id ${keyId}: give it the ledger's CARD_DATA_KEY (or its card-data.key file)`)
  }
  return 'same'
}

export function checkCardDataKey (db: Db, keyId: string): void {
  const stored = db.prepare("SELECT value FROM meta WHERE key = 'card_data_key_id'").pluck().get() as string | undefined
  if (cardDataKeyVerdict(stored, keyId) === 'unset') {
    db.prepare("INSERT INTO meta (key, value) VALUES ('card_data_key_id', ?)").run(keyId)
  }
}
