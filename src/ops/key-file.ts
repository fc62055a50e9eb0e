// Keys that must outlive the process but never live in the ledger (card tokens, terminal secrets):
// from an environment variable, else a key file kept beside the ledger, created once with mode
// 0600, so `npm start` needs no configuration and a copied ledger file carries no key. Several
// processes on one machine share the file; on several machines give them the variable.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'

export interface KeySpec {
  /** The variable's name, for messages. */
  envName: string
  envValue: string | undefined
  dbPath: string
  fileName: string
  charsMin: number
  fail: (message: string) => Error
}

export function keyFromEnvOrFile (o: KeySpec): { key: Buffer, source: string } {
  if (o.envValue !== undefined && o.envValue !== '') {
    if (o.envValue.length < o.charsMin) throw o.fail(`${o.envName} must be at least ${o.charsMin} characters`)
    return { key: Buffer.from(o.envValue, 'utf8'), source: o.envName }
  }
  const file = join(dirname(o.dbPath), o.fileName)
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true })
    // 'wx': two processes starting at once cannot both write a key; the loser reads the winner's.
    try { writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' }) } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
  }
  // Like ssh with a private key: a key file others can read is refused, not used.
  if ((statSync(file).mode & 0o077) !== 0) throw o.fail(`${file} is readable by group or others: chmod 600 it`)
  const text = readFileSync(file, 'utf8').trim()
  if (text.length < o.charsMin) throw o.fail(`${file} holds fewer than ${o.charsMin} characters`)
  return { key: Buffer.from(text, 'utf8'), source: file }
}
