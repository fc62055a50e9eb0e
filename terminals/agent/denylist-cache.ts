// The cached deny list (api-v1.1 "Offline taps, debt and the deny list") in the agent's SQLite file:
// tokens, the list's version and the token key, so a terminal that boots without a network still
// knows which cards not to let through. Changes arrive as deltas after a version, or as the whole
// list (`full: true`) when the service has no delta that old. Bounded: a list over `entriesMax` is
// refused and the cache stays as it was (a terminal cannot hold an unbounded list in flash).
import { DENYLIST_TOKEN_HEX_CHARS, DENYLIST_TOKEN_KEY_BYTES, denylistToken } from '../../src/cards/denylist-token.js'
import { getMeta, setMeta, type AgentDb } from './agent-db.js'

export interface DenylistUpdate {
  version: number
  full: boolean
  add: Array<{ token: string, reason: string }>
  remove: string[]
  tokenKey?: string
}

export type ApplyResult =
  | { kind: 'applied', version: number, size: number, added: number, removed: number }
  | { kind: 'stale', version: number }

export class DenylistError extends Error {
  override readonly name = 'DenylistError'
  constructor (readonly code: 'DENYLIST_INVALID' | 'DENYLIST_TOO_BIG', message: string) { super(message) }
}

const TOKEN = new RegExp(`^[0-9a-f]{${DENYLIST_TOKEN_HEX_CHARS}}$`)
const REASON_CHARS_MAX = 32

export class DenylistCache {
  private key: Buffer | undefined
  private readonly q

  constructor (private readonly db: AgentDb, readonly entriesMax: number) {
    this.q = {
      has: db.prepare('SELECT reason FROM denylist WHERE token = ?').pluck(),
      size: db.prepare('SELECT count(*) FROM denylist').pluck(),
      clear: db.prepare('DELETE FROM denylist'),
      add: db.prepare('INSERT INTO denylist (token, reason) VALUES (?, ?) ON CONFLICT (token) DO UPDATE SET reason = excluded.reason'),
      remove: db.prepare('DELETE FROM denylist WHERE token = ?')
    }
    const k = getMeta(db, 'denylist.tokenKey')
    this.key = k === undefined ? undefined : Buffer.from(k, 'base64url')
  }

  /** The version of the cached list; undefined before the first list arrived. */
  get version (): number | undefined {
    const v = getMeta(this.db, 'denylist.version')
    return v === undefined ? undefined : Number(v)
  }

  get size (): number { return this.q.size.get() as number }

  /** When the service last gave or confirmed the cached list (a refresh answered 200). */
  get confirmedAtMs (): number | undefined {
    const v = getMeta(this.db, 'denylist.confirmedAtMs')
    return v === undefined ? undefined : Number(v)
  }

  /** The service answered that the cached version is current. */
  confirm (nowMs: number): void {
    setMeta(this.db, 'denylist.confirmedAtMs', String(nowMs))
  }

  /** True once a list and its key are cached: only then can the terminal check a card offline. */
  get ready (): boolean { return this.key !== undefined && this.version !== undefined }

  /** The card's deny-list token, or undefined while no key is cached. */
  tokenOf (issuer: string, cardNo: string): string | undefined {
    return this.key === undefined ? undefined : denylistToken(this.key, issuer, cardNo)
  }

  /** The reason the token is listed (`debt`, `lost`, `frozen`), or undefined. */
  reasonFor (token: string): string | undefined {
    return (this.q.has.get(token) as string | undefined) ?? undefined
  }

  /** Checks the update, then applies it in one transaction: all of it or nothing. */
  apply (u: DenylistUpdate, nowMs: number = Date.now()): ApplyResult {
    checkShape(u)
    const current = this.version
    // A delta older than what is cached would undo newer changes: the next refresh asks again.
    if (!u.full && current !== undefined && u.version <= current) return { kind: 'stale', version: current }
    if (!u.full && current === undefined) throw new DenylistError('DENYLIST_INVALID', 'a delta arrived before any full list')
    if (u.full && u.add.length > this.entriesMax) {
      throw new DenylistError('DENYLIST_TOO_BIG', `full deny list of ${u.add.length} entries is over the ${this.entriesMax} this terminal holds`)
    }
    const key = u.tokenKey === undefined ? undefined : Buffer.from(u.tokenKey, 'base64url')
    if (key === undefined && this.key === undefined) throw new DenylistError('DENYLIST_INVALID', 'no tokenKey: the terminal cannot compute card tokens')
    return this.db.transaction((): ApplyResult => {
      if (u.full) this.q.clear.run()
      for (const token of u.remove) this.q.remove.run(token)
      for (const e of u.add) this.q.add.run(e.token, e.reason)
      const size = this.q.size.get() as number
      // Throwing inside the transaction rolls the delta back: the cache stays at its last good version.
      if (size > this.entriesMax) throw new DenylistError('DENYLIST_TOO_BIG', `deny list would hold ${size} entries, over the ${this.entriesMax} this terminal holds`)
      setMeta(this.db, 'denylist.version', String(u.version))
      if (key !== undefined) setMeta(this.db, 'denylist.tokenKey', key.toString('base64url'))
      setMeta(this.db, 'denylist.confirmedAtMs', String(nowMs))
      this.key = key ?? this.key
      return { kind: 'applied', version: u.version, size, added: u.add.length, removed: u.remove.length }
    })()
  }
}

function checkShape (u: DenylistUpdate): void {
  const bad = (what: string): never => { throw new DenylistError('DENYLIST_INVALID', `deny list answer: ${what}`) }
  if (!Number.isSafeInteger(u.version) || u.version < 0) bad('version is not a non-negative integer')
  if (typeof u.full !== 'boolean') bad('full is not a boolean')
  if (!Array.isArray(u.add) || !Array.isArray(u.remove)) bad('add and remove must be arrays')
  for (const e of u.add) {
    if (typeof e?.token !== 'string' || !TOKEN.test(e.token)) bad('an added token is not 32 lowercase hex digits')
    if (typeof e.reason !== 'string' || e.reason.length === 0 || e.reason.length > REASON_CHARS_MAX) bad('an added token has no reason')
  }
  for (const t of u.remove) if (typeof t !== 'string' || !TOKEN.test(t)) bad('a removed token is not 32 lowercase hex digits')
  if (u.tokenKey !== undefined) {
    if (typeof u.tokenKey !== 'string' || !/^[A-Za-z0-9_-]+$/.test(u.tokenKey) || Buffer.from(u.tokenKey, 'base64url').length !== DENYLIST_TOKEN_KEY_BYTES) {
      bad(`tokenKey is not ${DENYLIST_TOKEN_KEY_BYTES} bytes of base64url`)
    }
  }
}
