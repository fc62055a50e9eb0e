// The key behind the card tokens in log lines and on the console (log.ts cardTokenizer). It must
// outlive the process: with a new key per start, one card got a new token every restart and a day's
// lines could not be joined to the next day's. Order: CARD_TOKEN_KEY, else a key file kept beside
// the ledger (created once, mode 0600), so `npm start` is stable with no configuration.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

export const CARD_TOKEN_KEY_CHARS_MIN = 32
export const CARD_TOKEN_KEY_FILE = 'card-token.key'

export class CardTokenKeyError extends Error {
  readonly code = 'CARD_TOKEN_KEY_INVALID'
}

export function cardTokenKey (o: { envValue: string | undefined, dbPath: string }): { key: Buffer, source: string } {
  if (o.envValue !== undefined && o.envValue !== '') {
    if (o.envValue.length < CARD_TOKEN_KEY_CHARS_MIN) throw new CardTokenKeyError(`CARD_TOKEN_KEY must be at least ${CARD_TOKEN_KEY_CHARS_MIN} characters`)
    return { key: Buffer.from(o.envValue, 'utf8'), source: 'CARD_TOKEN_KEY' }
  }
  const file = join(dirname(o.dbPath), CARD_TOKEN_KEY_FILE)
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true })
    // 'wx': two processes starting at once cannot both write a key; the loser reads the winner's.
    try { writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' }) } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
  }
  const text = readFileSync(file, 'utf8').trim()
  if (text.length < CARD_TOKEN_KEY_CHARS_MIN) throw new CardTokenKeyError(`${file} holds fewer than ${CARD_TOKEN_KEY_CHARS_MIN} characters`)
  return { key: Buffer.from(text, 'utf8'), source: file }
}
