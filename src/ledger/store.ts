// Data access for the ledger: every query the service runs, prepared once.
import type { CardRecord } from '../rules/engine.js'
import type { AccountKind, CityCode, TerminalLocation } from '../rules/types.js'
import type { Db } from './schema.js'
import { accountCode, Postings } from './postings.js'

export interface TerminalRecord {
  terminalId: string
  city: CityCode
  scenario: string
  operator: string
  location: TerminalLocation
  secret: string
  status: 'active' | 'disabled'
  createdAt: string
}

export interface StoredTap {
  id: number
  terminalId: string
  tapId: string
  bodyHash: string
  cardNo: string | null
  scenario: string
  city: string
  decision: 'approved' | 'declined'
  reason: string | null
  amount: number
  account: string | null
  at: string
  recordedAt: string
  transferId: number | null
  reversalTransferId: number | null
  response: string
}

export interface NewCard {
  cardNo: string
  issuer: string
  issuerCity: CityCode
  status: 'active' | 'lost' | 'frozen'
  expiresOn: string | null
  birthDate: string | null
  categories: string[]
}

interface CardRow {
  card_no: string
  issuer: string
  status: 'active' | 'lost' | 'frozen'
  expires_on: string | null
  birth_date: string | null
  categories: string
  bank_account_id: number
  medical_account_id: number
  bank: number
  medical: number
}

export interface CardWithAccounts extends CardRecord {
  accountIds: Record<AccountKind, number>
}

export class LedgerStore {
  readonly db: Db
  readonly postings: Postings
  private readonly s

  constructor (db: Db) {
    this.db = db
    this.postings = new Postings(db)
    this.s = {
      insertTerminal: db.prepare(`INSERT INTO terminals (terminal_id, city, scenario, operator, location, secret, status, created_at)
        VALUES (@terminalId, @city, @scenario, @operator, @location, @secret, @status, @createdAt)`),
      updateTerminalStatus: db.prepare('UPDATE terminals SET status = ? WHERE terminal_id = ?'),
      allTerminals: db.prepare('SELECT * FROM terminals ORDER BY terminal_id'),
      insertCard: db.prepare(`INSERT INTO cards (card_no, issuer, status, expires_on, birth_date, categories, bank_account_id, medical_account_id, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      card: db.prepare(`SELECT c.*, b.balance AS bank, m.balance AS medical FROM cards c
        JOIN accounts b ON b.id = c.bank_account_id JOIN accounts m ON m.id = c.medical_account_id
        WHERE c.card_no = ?`),
      cardExists: db.prepare('SELECT 1 FROM cards WHERE card_no = ?').pluck(),
      updateCardStatus: db.prepare('UPDATE cards SET status = ? WHERE card_no = ?'),
      tap: db.prepare('SELECT * FROM taps WHERE terminal_id = ? AND tap_id = ?'),
      // Positional, not named (@tapId...): measured 1.7 µs vs 2.6 µs an insert, once per tap.
      insertTap: db.prepare(`INSERT INTO taps (terminal_id, tap_id, body_hash, card_no, scenario, city, decision, reason, amount, account, at, recorded_at, transfer_id, response)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      markReversed: db.prepare('UPDATE taps SET reversal_transfer_id = ? WHERE id = ?'),
      tapsForCard: db.prepare('SELECT * FROM taps WHERE card_no = ? ORDER BY id LIMIT ?'),
      postingsOfTransfer: db.prepare('SELECT account_id AS accountId, amount FROM postings WHERE transfer_id = ?'),
      credit: db.prepare('SELECT * FROM credits WHERE reference = ?'),
      insertCredit: db.prepare('INSERT INTO credits (reference, card_no, account, amount, transfer_id) VALUES (?, ?, ?, ?, ?)'),
      state: db.prepare('SELECT value FROM card_state WHERE card_no = ? AND key = ?').pluck(),
      upsertState: db.prepare('INSERT INTO card_state (card_no, key, value) VALUES (?, ?, ?) ON CONFLICT (card_no, key) DO UPDATE SET value = excluded.value'),
      deleteState: db.prepare('DELETE FROM card_state WHERE card_no = ? AND key = ?'),
      nonceUsed: db.prepare('SELECT 1 FROM qr_nonces WHERE nonce = ?').pluck(),
      insertNonce: db.prepare('INSERT INTO qr_nonces (nonce, expires_at_ms) VALUES (?, ?)'),
      purgeNonces: db.prepare('DELETE FROM qr_nonces WHERE nonce IN (SELECT nonce FROM qr_nonces WHERE expires_at_ms < ? LIMIT ?)'),
      countCards: db.prepare('SELECT COUNT(*) FROM cards').pluck(),
      countTerminals: db.prepare('SELECT COUNT(*) FROM terminals').pluck()
    }
  }

  // Terminals

  insertTerminal (t: TerminalRecord): void {
    this.s.insertTerminal.run({ ...t, location: JSON.stringify(t.location) })
  }

  setTerminalStatus (terminalId: string, status: 'active' | 'disabled'): boolean {
    return this.s.updateTerminalStatus.run(status, terminalId).changes === 1
  }

  allTerminals (): TerminalRecord[] {
    return (this.s.allTerminals.all() as Array<Record<string, string>>).map(r => ({
      terminalId: String(r.terminal_id),
      city: r.city as CityCode,
      scenario: String(r.scenario),
      operator: String(r.operator),
      location: JSON.parse(String(r.location)) as TerminalLocation,
      secret: String(r.secret),
      status: r.status as 'active' | 'disabled',
      createdAt: String(r.created_at)
    }))
  }

  // Cards

  cardExists (cardNo: string): boolean {
    return this.s.cardExists.get(cardNo) !== undefined
  }

  /** Creates the card and its two funding accounts at zero. Call inside a transaction. */
  insertCard (card: NewCard, nowIso: string): void {
    const bankId = this.postings.accountId(accountCode.card(card.cardNo, 'bank'), 'card')
    const medicalId = this.postings.accountId(accountCode.card(card.cardNo, 'medical'), 'card')
    this.s.insertCard.run(card.cardNo, card.issuer, card.status, card.expiresOn, card.birthDate,
      JSON.stringify(card.categories), bankId, medicalId, nowIso)
  }

  card (cardNo: string): CardWithAccounts | undefined {
    const row = this.s.card.get(cardNo) as CardRow | undefined
    if (row === undefined) return undefined
    return {
      cardNo: row.card_no,
      issuer: row.issuer,
      status: row.status,
      expiresOn: row.expires_on,
      birthDate: row.birth_date,
      categories: JSON.parse(row.categories) as string[],
      balances: { bank: row.bank, medical: row.medical },
      accountIds: { bank: row.bank_account_id, medical: row.medical_account_id }
    }
  }

  setCardStatus (cardNo: string, status: string): boolean {
    return this.s.updateCardStatus.run(status, cardNo).changes === 1
  }

  countCards (): number { return this.s.countCards.get() as number }
  countTerminals (): number { return this.s.countTerminals.get() as number }

  // Taps

  tap (terminalId: string, tapId: string): StoredTap | undefined {
    const row = this.s.tap.get(terminalId, tapId) as Record<string, unknown> | undefined
    return row === undefined ? undefined : toStoredTap(row)
  }

  insertTap (tap: Omit<StoredTap, 'id' | 'reversalTransferId'>): void {
    this.s.insertTap.run(tap.terminalId, tap.tapId, tap.bodyHash, tap.cardNo, tap.scenario, tap.city, tap.decision, tap.reason,
      tap.amount, tap.account, tap.at, tap.recordedAt, tap.transferId, tap.response)
  }

  markReversed (tapRowId: number, reversalTransferId: number): void {
    this.s.markReversed.run(reversalTransferId, tapRowId)
  }

  tapsForCard (cardNo: string, limit: number): StoredTap[] {
    return (this.s.tapsForCard.all(cardNo, limit) as Array<Record<string, unknown>>).map(toStoredTap)
  }

  postingsOfTransfer (transferId: number): Array<{ accountId: number, amount: number }> {
    return this.s.postingsOfTransfer.all(transferId) as Array<{ accountId: number, amount: number }>
  }

  // Credits

  credit (reference: string): { reference: string, card_no: string, account: string, amount: number } | undefined {
    return this.s.credit.get(reference) as { reference: string, card_no: string, account: string, amount: number } | undefined
  }

  insertCredit (reference: string, cardNo: string, account: string, amount: number, transferId: number): void {
    this.s.insertCredit.run(reference, cardNo, account, amount, transferId)
  }

  // Per-card rule state

  stateValue (cardNo: string, key: string): unknown {
    const raw = this.s.state.get(cardNo, key) as string | undefined
    return raw === undefined ? undefined : JSON.parse(raw)
  }

  writeState (cardNo: string, key: string, value: unknown): void {
    if (value === null || value === undefined) this.s.deleteState.run(cardNo, key)
    else this.s.upsertState.run(cardNo, key, JSON.stringify(value))
  }

  // QR nonces

  nonceUsed (nonce: string): boolean {
    return this.s.nonceUsed.get(nonce) !== undefined
  }

  rememberNonce (nonce: string, expiresAtMs: number): void {
    this.s.insertNonce.run(nonce, expiresAtMs)
  }

  /** Deletes at most `limit` nonces whose QR expired before `beforeMs`; returns how many. */
  purgeNonces (beforeMs: number, limit: number): number {
    return this.s.purgeNonces.run(beforeMs, limit).changes
  }
}

function toStoredTap (r: Record<string, unknown>): StoredTap {
  return {
    id: r.id as number,
    terminalId: r.terminal_id as string,
    tapId: r.tap_id as string,
    bodyHash: r.body_hash as string,
    cardNo: r.card_no as string | null,
    scenario: r.scenario as string,
    city: r.city as string,
    decision: r.decision as 'approved' | 'declined',
    reason: r.reason as string | null,
    amount: r.amount as number,
    account: r.account as string | null,
    at: r.at as string,
    recordedAt: r.recorded_at as string,
    transferId: r.transfer_id as number | null,
    reversalTransferId: r.reversal_transfer_id as number | null,
    response: r.response as string
  }
}
