// Issuer keys: the electronic card's QR verifying keys (Ed25519) and the physical cards' master
// keys for card authentication (AES-128, src/cards/card-auth.ts), one set per issuer, each with a
// key id. None of them is in the repository.
//
// Where they come from (first match):
//   1. ISSUER_KEYS_FILE names a key file: it must exist and, if it holds any secret (a QR private
//      key or a card master key), be readable by its owner only (mode 0600), like ssh keys.
//   2. A key file next to the ledger (`issuer-keys.json` in DB_PATH's folder) from an earlier run.
//   3. SEED=demo only: a fresh key set for this deployment is generated into that file (0600).
//   Otherwise the service runs without issuer keys: every QR is QR_INVALID and every card proof
//   CARD_AUTH_FAILED, and it says so at start.
//
// The service trusts only the public keys it is given: a QR verifies against `publicKeyPem` only.
// A `privateKeyPem` (demo/test issuers, so that the admin API can mint QRs as the e-card app would)
// must belong to that public key, or the file is refused.
//
// File format (version 1):
//   {"version": 1, "issuers": [{"issuer": "370100",
//     "qr": [{"keyId", "publicKeyPem", "privateKeyPem"?}],          // 1..3: rotation overlap
//     "cardAuth"?: {"keyId", "masterKeyHex": "<32 hex>"}}]}
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto'
import { existsSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { CardAuthKeys } from './card-auth.js'
import type { QrKeyRing } from './qr-token.js'

export const ISSUER_KEYS_FILE_NAME = 'issuer-keys.json'
/** Keys one issuer may have at once: the current one and those still valid during a rotation. */
export const QR_KEYS_PER_ISSUER_MAX = 3
const FILE_BYTES_MAX = 256 * 1024
const ISSUER = /^[0-9]{6}$/
const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/
const MASTER_KEY_HEX = /^[0-9a-f]{32}$/
const PRIVATE_MODE_BITS = 0o077

export class IssuerKeysError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(message)
    this.name = 'IssuerKeysError'
    this.code = code
  }
}

export interface QrKeyEntry { keyId: string, publicKeyPem: string, privateKeyPem?: string }
export interface IssuerKeyEntry { issuer: string, qr: QrKeyEntry[], cardAuth?: { keyId: string, masterKeyHex: string } }
export interface IssuerKeyFile { version: 1, issuers: IssuerKeyEntry[] }

export interface IssuerKeys {
  qr: QrKeyRing
  cardAuth: CardAuthKeys
  /** Where they came from: null when the service runs without issuer keys. */
  file: string | null
  generated: boolean
  /** Key ids by issuer, for the start-up log line (never key material). */
  keyIds: Record<string, string[]>
}

export interface IssuerKeysOptions {
  /** ISSUER_KEYS_FILE, when configured. */
  file?: string
  dbPath: string
  seed: 'demo' | 'none'
  /** The programme's issuer area codes: keys for anyone else are refused. */
  issuers: string[]
}

export function defaultIssuerKeysPath (dbPath: string): string {
  return join(dirname(dbPath), ISSUER_KEYS_FILE_NAME)
}

/** The one call the service makes at start (src/app.ts). Throws IssuerKeysError with a clear message. */
export function loadIssuerKeys (o: IssuerKeysOptions): IssuerKeys {
  if (o.file !== undefined && o.file !== '') {
    if (!existsSync(o.file)) throw new IssuerKeysError('ISSUER_KEYS_MISSING', `ISSUER_KEYS_FILE ${o.file} does not exist`)
    return { ...issuerKeysFromFile(o.file, o.issuers), file: o.file, generated: false }
  }
  const path = defaultIssuerKeysPath(o.dbPath)
  if (existsSync(path)) return { ...issuerKeysFromFile(path, o.issuers), file: path, generated: false }
  if (o.seed !== 'demo') return { qr: emptyRing(), cardAuth: new Map(), keyIds: {}, file: null, generated: false }
  writeKeyFileExclusive(path, generateIssuerKeyFile(o.issuers))
  return { ...issuerKeysFromFile(path, o.issuers), file: path, generated: true }
}

/** A fresh key set: per issuer its own Ed25519 QR key pair and AES-128 card master key. */
export function generateIssuerKeyFile (issuers: string[], opts: { withPrivate?: boolean } = {}): IssuerKeyFile {
  const stamp = new Date().toISOString().slice(0, 10).replaceAll('-', '')
  return {
    version: 1,
    issuers: issuers.map(issuer => {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519')
      const qr: QrKeyEntry = { keyId: `${issuer}-qr-${stamp}-${randomBytes(3).toString('hex')}`, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }
      if (opts.withPrivate !== false) qr.privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
      return { issuer, qr: [qr], cardAuth: { keyId: `${issuer}-ac-${stamp}-${randomBytes(3).toString('hex')}`, masterKeyHex: randomBytes(16).toString('hex') } }
    })
  }
}

/**
 * Writes the file readable by its owner only, and only if it does not exist yet: written to a
 * temporary name first, then hard-linked into place (atomic, fails if another process won).
 */
export function writeKeyFileExclusive (path: string, doc: IssuerKeyFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  writeFileSync(tmp, JSON.stringify(doc, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
  try {
    linkSync(tmp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  } finally {
    unlinkSync(tmp)
  }
}

export function issuerKeysFromFile (path: string, programmeIssuers: string[]): Omit<IssuerKeys, 'file' | 'generated'> {
  const stat = statSync(path)
  if (stat.size > FILE_BYTES_MAX) throw new IssuerKeysError('ISSUER_KEYS_INVALID', `${path} is over ${FILE_BYTES_MAX} bytes`)
  let doc: unknown
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'))
  } catch (err) {
    throw new IssuerKeysError('ISSUER_KEYS_INVALID', `${path} is not JSON: ${(err as Error).message}`)
  }
  const parsed = parseKeyFile(doc, path, new Set(programmeIssuers))
  if (parsed.holdsSecrets && (stat.mode & PRIVATE_MODE_BITS) !== 0) {
    throw new IssuerKeysError('ISSUER_KEYS_FILE_MODE',
      `${path} holds private keys but is readable by others (mode ${(stat.mode & 0o777).toString(8)}): chmod 600 ${path}`)
  }
  return { qr: parsed.qr, cardAuth: parsed.cardAuth, keyIds: parsed.keyIds }
}

function emptyRing (): QrKeyRing {
  return { publicKeys: new Map(), privateKeys: new Map() }
}

function parseKeyFile (doc: unknown, path: string, programme: Set<string>): { qr: QrKeyRing, cardAuth: CardAuthKeys, keyIds: Record<string, string[]>, holdsSecrets: boolean } {
  const bad = (message: string): never => { throw new IssuerKeysError('ISSUER_KEYS_INVALID', `${path}: ${message}`) }
  const d = doc as Partial<IssuerKeyFile> | null
  if (d === null || typeof d !== 'object' || d.version !== 1 || !Array.isArray(d.issuers)) bad('need {"version": 1, "issuers": [...]}')
  const qr = emptyRing()
  const cardAuth: CardAuthKeys = new Map()
  const keyIds: Record<string, string[]> = {}
  const seenKeyIds = new Set<string>()
  let holdsSecrets = false
  const keyId = (id: unknown): string => {
    if (typeof id !== 'string' || !KEY_ID.test(id)) bad(`key id ${String(id)} must match ${KEY_ID.source}`)
    if (seenKeyIds.has(id as string)) bad(`key id ${String(id)} is used twice`)
    seenKeyIds.add(id as string)
    return id as string
  }
  for (const entry of d!.issuers as IssuerKeyEntry[]) {
    const issuer = entry?.issuer
    if (typeof issuer !== 'string' || !ISSUER.test(issuer)) bad(`issuer ${String(issuer)} is not a 6-digit area code`)
    if (!programme.has(issuer)) bad(`issuer ${issuer} is not one of the programme's issuers`)
    if (qr.publicKeys.has(issuer) || cardAuth.has(issuer)) bad(`issuer ${issuer} is listed twice`)
    if (!Array.isArray(entry.qr) || entry.qr.length > QR_KEYS_PER_ISSUER_MAX) bad(`issuer ${issuer}: qr must list 0..${QR_KEYS_PER_ISSUER_MAX} keys`)
    const ids: string[] = []
    const publicKeys: KeyObject[] = []
    for (const key of entry.qr) {
      ids.push(keyId(key?.keyId))
      const publicKey = ed25519Public(key.publicKeyPem, `${issuer} ${key.keyId}`, bad)
      publicKeys.push(publicKey)
      if (key.privateKeyPem !== undefined) {
        holdsSecrets = true
        const privateKey = ed25519Private(key.privateKeyPem, `${issuer} ${key.keyId}`, bad)
        const derived = createPublicKey(privateKey).export({ type: 'spki', format: 'der' })
        if (!derived.equals(publicKey.export({ type: 'spki', format: 'der' }))) bad(`issuer ${issuer} key ${key.keyId}: the private key does not belong to the public key`)
        // Minting uses the first listed key that has a private part (the current one).
        if (!qr.privateKeys.has(issuer)) qr.privateKeys.set(issuer, privateKey)
      }
    }
    if (publicKeys.length > 0) qr.publicKeys.set(issuer, publicKeys)
    if (entry.cardAuth !== undefined) {
      holdsSecrets = true
      ids.push(keyId(entry.cardAuth.keyId))
      if (typeof entry.cardAuth.masterKeyHex !== 'string' || !MASTER_KEY_HEX.test(entry.cardAuth.masterKeyHex)) bad(`issuer ${issuer}: cardAuth.masterKeyHex must be 32 lowercase hex`)
      cardAuth.set(issuer, { keyId: entry.cardAuth.keyId, masterKey: Buffer.from(entry.cardAuth.masterKeyHex, 'hex') })
    }
    keyIds[issuer] = ids
  }
  return { qr, cardAuth, keyIds, holdsSecrets }
}

function ed25519Public (pem: unknown, what: string, bad: (m: string) => never): KeyObject {
  try {
    const key = createPublicKey(String(pem))
    if (typeof pem === 'string' && key.asymmetricKeyType === 'ed25519') return key
  } catch { /* reported below */ }
  return bad(`${what}: publicKeyPem is not an Ed25519 public key`)
}

function ed25519Private (pem: unknown, what: string, bad: (m: string) => never): KeyObject {
  try {
    const key = createPrivateKey(String(pem))
    if (typeof pem === 'string' && key.asymmetricKeyType === 'ed25519') return key
  } catch { /* reported below */ }
  return bad(`${what}: privateKeyPem is not an Ed25519 private key`)
}
