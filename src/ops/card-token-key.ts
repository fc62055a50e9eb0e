// The key behind the card tokens in log lines and on the console (log.ts cardTokenizer). It must
// outlive the process: with a new key per start, one card got a new token every restart and a day's
// lines could not be joined to the next day's. Order: CARD_TOKEN_KEY, else a key file kept beside
// the ledger (created once, mode 0600), so `npm start` is stable with no configuration.
import { createHash } from 'node:crypto'
import { keyFromEnvOrFile } from './key-file.js'

export const CARD_TOKEN_KEY_CHARS_MIN = 32

type KeyOptions = { envValue: string | undefined, dbPath: string }

/** A deployment key: its variable, else its key file beside the ledger (key-file.ts). */
function deploymentKey (envName: string, fileName: string, fail: (message: string) => Error): (o: KeyOptions) => { key: Buffer, source: string } {
  return o => keyFromEnvOrFile({ envName, envValue: o.envValue, dbPath: o.dbPath, fileName, charsMin: CARD_TOKEN_KEY_CHARS_MIN, fail })
}
export const CARD_TOKEN_KEY_FILE = 'card-token.key'

export class CardTokenKeyError extends Error {
  readonly code = 'CARD_TOKEN_KEY_INVALID'
}

export const cardTokenKey = deploymentKey('CARD_TOKEN_KEY', CARD_TOKEN_KEY_FILE, message => new CardTokenKeyError(message))

// The key that seals terminal secrets at rest (src/auth/secret-box.ts): TERMINAL_SECRETS_KEY, else
// terminal-secrets.key beside the ledger. Lose it and every terminal must be given a new secret.
export const TERMINAL_SECRETS_KEY_FILE = 'terminal-secrets.key'

export class TerminalSecretsKeyError extends Error {
  readonly code = 'TERMINAL_SECRETS_KEY_INVALID'
}

export const terminalSecretsKey = deploymentKey('TERMINAL_SECRETS_KEY', TERMINAL_SECRETS_KEY_FILE, message => new TerminalSecretsKeyError(message))

// The key of the deny list's card tokens (src/cards/denylist-token.ts), sent to terminals with the
// list: DENYLIST_TOKEN_KEY, else denylist-token.key beside the ledger. The 32 bytes used are the
// SHA-256 of the material. Processes sharing a PostgreSQL ledger need the same; changing it makes
// every listed token unknown to terminals until the list is rebuilt (docs/offline.md).
export const DENYLIST_TOKEN_KEY_FILE = 'denylist-token.key'

export class DenylistTokenKeyError extends Error {
  readonly code = 'DENYLIST_TOKEN_KEY_INVALID'
}

export function denylistTokenKey (o: { envValue: string | undefined, dbPath: string }): { key: Buffer, source: string } {
  const material = deploymentKey('DENYLIST_TOKEN_KEY', DENYLIST_TOKEN_KEY_FILE, message => new DenylistTokenKeyError(message))(o)
  return { key: createHash('sha256').update(material.key).digest(), source: material.source }
}

// The key of card numbers and holder data at rest (src/cards/card-vault.ts): CARD_DATA_KEY, else
// card-data.key beside the ledger. Processes sharing a PostgreSQL ledger need the same one. Lose
// it and the ledger's cards cannot be found by number or read: back it up apart from the ledger
// (a backup of the two together is a backup of the clear data).
export const CARD_DATA_KEY_FILE = 'card-data.key'

export class CardDataKeyError extends Error {
  readonly code = 'CARD_DATA_KEY_INVALID'
}

export const cardDataKey = deploymentKey('CARD_DATA_KEY', CARD_DATA_KEY_FILE, message => new CardDataKeyError(message))
