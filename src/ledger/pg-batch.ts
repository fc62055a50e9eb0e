// The SQL of one PostgreSQL ledger transaction: the reads that preload a PreloadedState (taking
// the locks that make concurrent service processes safe) and the multi-row writes that flush what
// the state machine collected. Every statement is sent without waiting for the one before (pg's
// pipeline mode), so a tap batch costs two round trips and a commit, whatever its size.
//
// Locks, always in this order, so two transactions never wait on each other in a circle:
//   1. an advisory lock per (terminal, tapId), in hash order: one tapId sent to two processes at
//      once is decided by one; the other waits, then finds it recorded and replays its answer;
//   2. the cards' rows, FOR UPDATE in card-number order: no lost update, no overdraft;
//   3. hot accounts' balance shards, last, in account-id order, each lane on its own shard.
// A deadlock the server still detects (40P01) rolls back, and the batch runs again.
import type pg from 'pg'
import type { CardVault } from '../cards/card-vault.js'
import { AUDIT_PURGE_PER_WRITE_MAX, AUDIT_ROWS_MAX, DENYLIST_CHANGES_KEPT_MAX, NONCE_PURGE_PER_BATCH_MAX, STATE_PURGE_PER_BATCH_MAX } from '../constants.js'
import type { TapJob } from './engine.js'
import { requestCardNo } from './tap-machine.js'
import type { CreditRecord } from './ledger-state.js'
import { LedgerInvariantError, type AccountClass } from './postings.js'
import { PreloadedState, stateKey, tapKey, type CollectedWrites, type Preloaded } from './preloaded-state.js'
import { toCard, toTerminal, type CardRow, type CardWithAccounts, type DenyReason, type RecordedTap, type RefundRecord, type RefundTotals } from './store.js'

/** The refunds of these taps so far, added up ($1 terminal ids, $2 tap ids): refund bounds. */
const REFUND_TOTALS_SQL = `SELECT k.terminal_id, k.tap_id, COALESCE(SUM(r.amount), 0) AS amount,
    COALESCE(SUM(r.bank_fen), 0) AS "bankFen", COALESCE(SUM(r.medical_fen), 0) AS "medicalFen", COALESCE(SUM(r.debt_fen), 0) AS "debtFen"
  FROM unnest($1::text[], $2::text[]) AS k(terminal_id, tap_id) LEFT JOIN refunds r ON r.terminal_id = k.terminal_id AND r.tap_id = k.tap_id
  GROUP BY k.terminal_id, k.tap_id`
type RefundTotalsRow = RefundTotals & { terminal_id: string, tap_id: string }

const REFUND_COLUMNS = `reference, terminal_id AS "terminalId", tap_id AS "tapId", amount, bank_fen AS "bankFen", medical_fen AS "medicalFen",
  debt_fen AS "debtFen", transfer_id AS "transferId", created_at AS "createdAt"`

/** What to read (and lock) for one transaction. */
export interface PreloadSpec {
  /** Taps to serialize on (advisory locks) and look up. */
  tapKeys?: Array<[string, string]>
  /** A recorded tap whose row is locked (reversals). */
  lockTap?: [string, string]
  terminals?: string[]
  lockTerminals?: boolean
  /** Cards to read, locked FOR UPDATE. */
  cards?: string[]
  /** Rule state of these cards, not expired at nowMs. */
  stateOf?: { cards: string[], nowMs: number }
  nonces?: string[]
  /** Accounts to read by code (they must exist: see ensureAccounts). */
  accountCodes?: string[]
  accountIds?: number[]
  /** Card accounts created inside this transaction (a new card's). */
  newCardAccountCodes?: string[]
  credits?: string[]
  transferIds?: number
  /** Refunds by reference, and the refund totals of these taps (refunds, late metro entries). */
  refunds?: string[]
  refundTotalsOf?: Array<[string, string]>
}

const CARD_SELECT = `SELECT c.card_token, c.issuer, c.status, c.expires_on, c.sealed, c.bank_account_id, c.medical_account_id,
  c.debt_fen, b.balance AS bank, m.balance AS medical FROM cards c
  JOIN accounts b ON b.id = c.bank_account_id JOIN accounts m ON m.id = c.medical_account_id`
const TAP_COLUMNS = `t.id, t.terminal_id, t.tap_id, t.body_hash AS "bodyHash", t.card_token AS "cardToken", t.scenario, t.decision, t.reason, t.amount,
  t.response, t.transfer_id AS "transferId", t.reversal_transfer_id AS "reversalTransferId", t.bank_fen AS "bankFen",
  t.medical_fen AS "medicalFen", t.operator_account_id AS "operatorAccountId", t.debt_fen AS "debtFen"`

type TapRow = RecordedTap & { terminal_id: string, tap_id: string }

/** Sends the spec's reads (after BEGIN, already sent) at once; builds the state. */
export async function preload (client: pg.ClientBase, spec: PreloadSpec, vault: CardVault): Promise<PreloadedState> {
  const q = <T extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<T>> => client.query<T>(sql, values)
  const none = Promise.resolve({ rows: [] as any[] })

  const tapKeys = spec.tapKeys ?? []
  const advisory = tapKeys.length === 0
    ? none
    : q(`SELECT count(pg_advisory_xact_lock(h)) FROM
        (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY 1) AS keys`, [tapKeys.map(([t, id]) => `${t}\u001f${id}`)])
  const lockedTap = spec.lockTap === undefined
    ? none
    : q<TapRow>(`SELECT ${TAP_COLUMNS} FROM taps t WHERE t.terminal_id = $1 AND t.tap_id = $2 FOR UPDATE`, spec.lockTap)
  const terminals = (spec.terminals ?? []).length === 0
    ? none
    : q(`SELECT * FROM terminals WHERE terminal_id = ANY($1) ORDER BY terminal_id${spec.lockTerminals === true ? ' FOR UPDATE' : ''}`, [spec.terminals])
  // Lock first, read after, in two statements: a FOR UPDATE that waited for another process's
  // commit re-reads the locked cards row but not the accounts joined to it, whose balances would
  // be the old ones (READ COMMITTED's EvalPlanQual; the balance assertion in writeBalances caught
  // it under two processes). The next statement takes a new snapshot, after the locks.
  const cardLocks = (spec.cards ?? []).length === 0
    ? none
    : q('SELECT card_token FROM cards WHERE card_token = ANY($1) ORDER BY card_token FOR UPDATE', [spec.cards])
  const cards = (spec.cards ?? []).length === 0
    ? none
    : q<CardRow>(`${CARD_SELECT} WHERE c.card_token = ANY($1)`, [spec.cards])
  const taps = tapKeys.length === 0
    ? none
    : q<TapRow>(`SELECT ${TAP_COLUMNS} FROM taps t JOIN unnest($1::text[], $2::text[]) AS k(terminal_id, tap_id)
        ON t.terminal_id = k.terminal_id AND t.tap_id = k.tap_id`, [tapKeys.map(k => k[0]), tapKeys.map(k => k[1])])
  const state = spec.stateOf === undefined || spec.stateOf.cards.length === 0
    ? none
    : q<{ card_token: string, key: string, value: string, expires_at_ms: number | null }>(
      'SELECT card_token, key, value, expires_at_ms FROM card_state WHERE card_token = ANY($1) AND (expires_at_ms IS NULL OR expires_at_ms > $2)',
      [spec.stateOf.cards, spec.stateOf.nowMs])
  const nonces = (spec.nonces ?? []).length === 0 ? none : q<{ nonce: string }>('SELECT nonce FROM qr_nonces WHERE nonce = ANY($1)', [spec.nonces])
  const newAccounts = (spec.newCardAccountCodes ?? []).length === 0
    ? none
    : q<{ id: number, code: string, kind: AccountClass }>(`INSERT INTO accounts (code, kind) SELECT c, 'card' FROM unnest($1::text[]) AS c
        ON CONFLICT (code) DO NOTHING RETURNING id, code, kind`, [spec.newCardAccountCodes])
  const accountCodes = [...(spec.accountCodes ?? []), ...(spec.newCardAccountCodes ?? [])]
  const accounts = accountCodes.length === 0 && (spec.accountIds ?? []).length === 0
    ? none
    : q<{ id: number, code: string, kind: AccountClass }>('SELECT id, code, kind FROM accounts WHERE code = ANY($1) OR id = ANY($2)', [accountCodes, spec.accountIds ?? []])
  const credits = (spec.credits ?? []).length === 0
    ? none
    : q<CreditRecord>('SELECT reference, card_token, account, amount FROM credits WHERE reference = ANY($1)', [spec.credits])
  const transferIds = (spec.transferIds ?? 0) === 0
    ? none
    : q<{ id: number }>("SELECT nextval(pg_get_serial_sequence('transfers', 'id')) AS id FROM generate_series(1, $1)", [spec.transferIds])
  const refunds = (spec.refunds ?? []).length === 0
    ? none
    : q<RefundRecord>(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE reference = ANY($1)`, [spec.refunds])
  const refundTotalsOf = spec.refundTotalsOf ?? []
  const refundTotals = refundTotalsOf.length === 0
    ? none
    : q<RefundTotalsRow>(REFUND_TOTALS_SQL, [refundTotalsOf.map(k => k[0]), refundTotalsOf.map(k => k[1])])
  const denylist = (spec.cards ?? []).length === 0
    ? none
    : q<{ card_token: string, token: string, reason: DenyReason }>('SELECT card_token, token, reason FROM denylist WHERE card_token = ANY($1)', [spec.cards])

  const [, lockedTapRows, terminalRows, , cardRows, tapRows, stateRows, nonceRows, , accountRows, creditRows, transferRows, refundRows, refundTotalRows, denylistRows] =
    await allInOrder([advisory, lockedTap, terminals, cardLocks, cards, taps, state, nonces, newAccounts, accounts, credits, transferIds, refunds, refundTotals, denylist])

  const loaded: Preloaded = {
    terminals: new Map((terminalRows.rows as Array<Record<string, string>>).map(row => [String(row.terminal_id), toTerminal(row)])),
    ...openCards(cardRows.rows as CardRow[], vault),
    taps: new Map([...lockedTapRows.rows as TapRow[], ...tapRows.rows as TapRow[]].map(({ terminal_id: terminalId, tap_id: tapId, ...tap }) => [tapKey(terminalId, tapId), tap])),
    state: new Map((stateRows.rows as Array<{ card_token: string, key: string, value: string, expires_at_ms: number | null }>)
      .map(row => [stateKey(row.card_token, row.key), { value: row.value, expiresAtMs: row.expires_at_ms }])),
    nonces: new Set((nonceRows.rows as Array<{ nonce: string }>).map(row => row.nonce)),
    accounts: new Map((accountRows.rows as Array<{ id: number, code: string, kind: AccountClass }>).map(row => [row.code, { id: row.id, kind: row.kind }])),
    credits: new Map((creditRows.rows as CreditRecord[]).map(row => [row.reference, row])),
    transferIds: (transferRows.rows as Array<{ id: number }>).map(row => row.id),
    refunds: new Map((refundRows.rows as RefundRecord[]).map(row => [row.reference, row])),
    refundTotals: new Map((refundTotalRows.rows as RefundTotalsRow[])
      .map(({ terminal_id: terminalId, tap_id: tapId, ...totals }) => [tapKey(terminalId, tapId), totals])),
    denylist: new Map((denylistRows.rows as Array<{ card_token: string, token: string, reason: DenyReason }>).map(row => [row.card_token, { token: row.token, reason: row.reason }]))
  }
  return new PreloadedState(loaded, vault)
}

/** The second read of a tap batch whose cards have metro exits waiting for their entry: their
 *  operator accounts and refund totals (one more round trip, only then). */
export async function preloadAwaitingExits (client: pg.ClientBase, state: PreloadedState): Promise<void> {
  const needs = state.awaitingExitNeeds()
  if (needs.exits === 0) return
  const [accounts, totals, transferIds] = await Promise.all([
    client.query<{ id: number, code: string, kind: AccountClass }>('SELECT id, code, kind FROM accounts WHERE id = ANY($1)', [needs.accountIds]),
    client.query<RefundTotalsRow>(REFUND_TOTALS_SQL, [needs.taps.map(k => k[0]), needs.taps.map(k => k[1])]),
    client.query<{ id: number }>("SELECT nextval(pg_get_serial_sequence('transfers', 'id')) AS id FROM generate_series(1, $1)", [needs.exits])
  ])
  state.addLoaded(accounts.rows, totals.rows.map(({ terminal_id: terminalId, tap_id: tapId, ...t }) => [terminalId, tapId, t]), transferIds.rows.map(r => r.id))
}

/** The preload of a tap batch: every key its jobs can touch. */
export function tapBatchSpec (jobs: TapJob[], vault: CardVault, operatorCodes: string[], nowMs: number, debtCodes: string[] = []): PreloadSpec {
  const cardTokens = new Set<string>()
  const nonces: string[] = []
  for (const job of jobs) {
    const cardNo = requestCardNo(job)
    if (cardNo !== null) cardTokens.add(vault.token(cardNo))
    if (job.tap.card.type === 'qr' && job.qr?.ok === true) nonces.push(job.qr.nonce)
  }
  const cards = [...cardTokens]
  return {
    tapKeys: jobs.map(job => [job.terminal.terminalId, job.tap.tapId]),
    terminals: [...new Set(jobs.map(job => job.terminal.terminalId))],
    cards,
    stateOf: { cards, nowMs },
    nonces,
    // The issuers' debt accounts: any offline tap may leave some unpaid (three rows, same query).
    accountCodes: [...operatorCodes, ...debtCodes]
  }
}

/** Accounts that must exist before a transaction names them (operator receivables, clearing),
 *  created outside it: an account at zero with no postings is harmless, and a transaction that
 *  inserted one would hold its key until commit against every other process. */
export async function ensureAccounts (client: pg.ClientBase, accounts: Array<{ code: string, kind: AccountClass }>): Promise<void> {
  if (accounts.length === 0) return
  await client.query(`INSERT INTO accounts (code, kind) SELECT * FROM unnest($1::text[], $2::text[])
    ON CONFLICT (code) DO NOTHING`, [accounts.map(a => a.code), accounts.map(a => a.kind)])
  const rows = await client.query<{ code: string, kind: AccountClass }>('SELECT code, kind FROM accounts WHERE code = ANY($1)', [accounts.map(a => a.code)])
  for (const wanted of accounts) {
    const row = rows.rows.find(r => r.code === wanted.code)
    if (row === undefined) throw new LedgerInvariantError(`account ${wanted.code} could not be created`)
    if (row.kind !== wanted.kind) throw new LedgerInvariantError(`account ${wanted.code} is a ${row.kind} account, not ${wanted.kind}`)
  }
}

/** Sends every write of the transaction, then COMMIT, at once; checks what came back. */
export async function flushAndCommit (client: pg.ClientBase, writes: CollectedWrites, o: { shard: number, purgeBeforeMs?: number, notifyTerminals?: string[], auditRowsMax?: number }): Promise<void> {
  const sent: Array<Promise<unknown>> = []
  const q = (sql: string, values?: unknown[]): Promise<pg.QueryResult<any>> => {
    const promise = client.query(sql, values)
    sent.push(promise)
    return promise
  }

  for (const t of writes.newTerminals) {
    q(`INSERT INTO terminals (terminal_id, city, scenario, operator, location, secret, status, created_at, card_authentication)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [t.terminalId, t.city, t.scenario, t.operator, JSON.stringify(t.location), t.secret, t.status, t.createdAt, t.cardAuthentication ?? null])
  }
  for (const [terminalId, status] of writes.terminalStatus) q('UPDATE terminals SET status = $1 WHERE terminal_id = $2', [status, terminalId])
  for (const [terminalId, secret] of writes.terminalSecrets) q('UPDATE terminals SET secret = $1 WHERE terminal_id = $2', [secret, terminalId])
  for (const { card, token, sealed, bankAccountId, medicalAccountId, createdAt } of writes.newCards) {
    q(`INSERT INTO cards (card_token, issuer, status, expires_on, sealed, bank_account_id, medical_account_id, created_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [token, card.issuer, card.status, card.expiresOn, sealed, bankAccountId, medicalAccountId, createdAt])
  }
  for (const [cardToken, status] of writes.cardStatus) q('UPDATE cards SET status = $1 WHERE card_token = $2', [status, cardToken])
  for (const transfer of writes.transfers) {
    q('INSERT INTO transfers (id, kind, ref, created_at) VALUES ($1, $2, $3, $4)', [transfer.id, transfer.kind, transfer.ref, transfer.createdAt])
    q('INSERT INTO postings (transfer_id, account_id, amount) SELECT $1, * FROM unnest($2::bigint[], $3::bigint[])',
      [transfer.id, transfer.legs.map(l => l.accountId), transfer.legs.map(l => l.amount)])
  }
  for (const c of writes.credits) {
    q('INSERT INTO credits (reference, card_token, account, amount, transfer_id, debt_fen) VALUES ($1, $2, $3, $4, $5, $6)', [c.reference, c.cardToken, c.account, c.amount, c.transferId, c.debtFen])
  }
  for (const r of writes.refunds) {
    q(`INSERT INTO refunds (reference, terminal_id, tap_id, amount, bank_fen, medical_fen, debt_fen, transfer_id, created_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [r.reference, r.terminalId, r.tapId, r.amount, r.bankFen, r.medicalFen, r.debtFen, r.transferId, r.createdAt])
  }
  if (writes.cardDebt.size > 0) {
    q('UPDATE cards c SET debt_fen = d.debt FROM unnest($1::text[], $2::bigint[]) AS d(card_token, debt) WHERE c.card_token = d.card_token',
      [[...writes.cardDebt.keys()], [...writes.cardDebt.values()]])
  }
  for (const r of writes.reversals) q('UPDATE taps SET reversal_transfer_id = $1 WHERE id = $2', [r.transferId, r.tapRowId])
  for (const d of writes.settlementDays) q('INSERT INTO settlement_days (day, closed_at, report) VALUES ($1, $2, $3)', [d.day, d.closedAt, d.report])
  if (writes.taps.length > 0) insertTaps(q, writes)
  writeState(q, writes)
  if (writes.nonces.length > 0) {
    q('INSERT INTO qr_nonces (nonce, expires_at_ms) SELECT * FROM unnest($1::text[], $2::bigint[])',
      [writes.nonces.map(n => n.nonce), writes.nonces.map(n => n.expiresAtMs)])
  }
  // Before the shards (the lock order: cards, then the deny list's version row, then shards).
  if (writes.denylist.length > 0) writeDenylist(q, writes)
  writeBalances(q, writes, o.shard)
  if (writes.audit.length > 0) writeAudit(q, writes, o.auditRowsMax ?? AUDIT_ROWS_MAX)
  if (o.purgeBeforeMs !== undefined) {
    // SKIP LOCKED: two processes purging at once take different rows instead of waiting.
    q(`DELETE FROM qr_nonces WHERE nonce IN (SELECT nonce FROM qr_nonces WHERE expires_at_ms < $1
      ORDER BY expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED)`, [o.purgeBeforeMs, NONCE_PURGE_PER_BATCH_MAX])
    q(`DELETE FROM card_state WHERE (card_token, key) IN (SELECT card_token, key FROM card_state
      WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, [o.purgeBeforeMs, STATE_PURGE_PER_BATCH_MAX])
  }
  for (const terminalId of o.notifyTerminals ?? []) q("SELECT pg_notify('ykt_terminals', $1)", [terminalId])
  q('COMMIT')
  // After a failed statement the server refuses the rest (25P02) and turns COMMIT into ROLLBACK:
  // the first failure is the cause, and nothing was committed.
  await allInOrder(sent)
}

/** Every result, or the first failure in the order sent (later ones are its consequence). */
async function allInOrder<T extends readonly unknown[]> (promises: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(promises)
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (failed !== undefined) throw failed.reason
  return settled.map(s => (s as PromiseFulfilledResult<unknown>).value) as any
}

/**
 * The deny list's changes under versions drawn in commit order: the UPDATE of the version row
 * takes its lock until COMMIT, so a transaction listing cards waits for the one before it and
 * reads its committed value (READ COMMITTED), and a terminal asking "after v" never misses a
 * change committed later with a smaller version. Then the list's rows as they end.
 */
function writeDenylist (q: (sql: string, values?: unknown[]) => Promise<unknown>, writes: CollectedWrites): void {
  const changes = writes.denylist
  const n = changes.length
  q(`INSERT INTO meta (key, value) VALUES ('denylist_version', $1) ON CONFLICT (key)
    DO UPDATE SET value = (meta.value::bigint + $1::bigint)::text`, [String(n)])
  const top = "(SELECT value::bigint FROM meta WHERE key = 'denylist_version')"
  q(`INSERT INTO denylist_changes (version, token, reason)
    SELECT ${top} - $3::bigint + d.i, d.token, d.reason FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS d(token, reason, i)`,
  [changes.map(c => c.token), changes.map(c => c.reason), n])
  const last = new Map<string, { cardToken: string, reason: string | null, i: number }>()
  changes.forEach((c, i) => last.set(c.token, { cardToken: c.cardToken, reason: c.reason, i: i + 1 }))
  const listed = [...last].filter(([, c]) => c.reason !== null)
  const unlisted = [...last].filter(([, c]) => c.reason === null).map(([token]) => token)
  if (listed.length > 0) {
    q(`INSERT INTO denylist (token, card_token, reason, version)
      SELECT d.token, d.card_token, d.reason, ${top} - $4::bigint + d.i FROM unnest($1::text[], $2::text[], $3::text[], $5::bigint[]) AS d(token, card_token, reason, i)
      ON CONFLICT (token) DO UPDATE SET reason = excluded.reason, version = excluded.version`,
    [listed.map(([token]) => token), listed.map(([, c]) => c.cardToken), listed.map(([, c]) => c.reason), n, listed.map(([, c]) => c.i)])
  }
  if (unlisted.length > 0) q('DELETE FROM denylist WHERE token = ANY($1)', [unlisted])
  q(`DELETE FROM denylist_changes WHERE version IN (SELECT version FROM denylist_changes WHERE version <= ${top} - $1
    ORDER BY version LIMIT $2 FOR UPDATE SKIP LOCKED)`, [DENYLIST_CHANGES_KEPT_MAX, AUDIT_PURGE_PER_WRITE_MAX])
}

function insertTaps (q: (sql: string, values?: unknown[]) => Promise<unknown>, writes: CollectedWrites): void {
  const taps = writes.taps
  const column = <K extends keyof typeof taps[number]>(key: K): Array<typeof taps[number][K]> => taps.map(t => t[key])
  // One statement for the batch; unnest keeps the batch's order, so ids rise in decision order.
  q(`INSERT INTO taps (terminal_id, tap_id, body_hash, card_token, scenario, city, decision, reason, amount, account, at, recorded_at,
      response, bank_fen, medical_fen, operator_account_id, debt_fen)
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[],
      $10::text[], $11::text[], $12::text[], $13::text[], $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[])`,
  [column('terminalId'), column('tapId'), column('bodyHash'), column('cardToken'), column('scenario'), column('city'), column('decision'),
    column('reason'), column('amount'), column('account'), column('at'), column('recordedAt'), column('response'), column('bankFen'),
    column('medicalFen'), column('operatorAccountId'), column('debtFen')])
}

/** The audit rows, then the oldest beyond the bound. bigserial ids may skip (a rolled-back
 *  transaction spends its value), so "ids above the newest less N" keeps at most N rows. SKIP
 *  LOCKED: two processes pruning at once take different rows instead of waiting on each other. */
function writeAudit (q: (sql: string, values?: unknown[]) => Promise<unknown>, writes: CollectedWrites, rowsMax: number): void {
  const rows = writes.audit
  const column = <K extends keyof typeof rows[number]>(key: K): Array<typeof rows[number][K]> => rows.map(r => r[key])
  q(`INSERT INTO admin_audit (at_ms, actor, action, target_kind, target, request_id, client_ip, detail)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])`,
  [column('atMs'), column('actor'), column('action'), column('targetKind'), column('target'), column('requestId'), column('clientIp'),
    rows.map(r => JSON.stringify(r.detail))])
  q(`DELETE FROM admin_audit WHERE id IN (SELECT id FROM admin_audit WHERE id <= (SELECT max(id) FROM admin_audit) - $1
    ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)`, [rowsMax, AUDIT_PURGE_PER_WRITE_MAX])
}

function writeState (q: (sql: string, values?: unknown[]) => Promise<unknown>, writes: CollectedWrites): void {
  const upserts = [...writes.state.values()].filter(w => w.value !== null)
  const deletes = [...writes.state.values()].filter(w => w.value === null)
  if (upserts.length > 0) {
    q(`INSERT INTO card_state (card_token, key, value, expires_at_ms) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
      ON CONFLICT (card_token, key) DO UPDATE SET value = excluded.value, expires_at_ms = excluded.expires_at_ms`,
    [upserts.map(w => w.cardToken), upserts.map(w => w.key), upserts.map(w => w.value), upserts.map(w => w.expiresAtMs)])
  }
  if (deletes.length > 0) {
    q(`DELETE FROM card_state s USING unnest($1::text[], $2::text[]) AS d(card_token, key)
      WHERE s.card_token = d.card_token AND s.key = d.key`, [deletes.map(w => w.cardToken), deletes.map(w => w.key)])
  }
}

/** Card accounts on their rows (locked with the card), the others on this lane's shard.
 *
 *  The card accounts' UPDATE asserts, inside the database and before COMMIT, that each balance
 *  after the delta is the one the state machine computed and told the terminal: a mismatch sets
 *  NULL, which the NOT NULL column refuses (23502), and the whole transaction rolls back. It
 *  cannot happen while every change to a card's accounts holds the card's row lock. */
function writeBalances (q: (sql: string, values?: unknown[]) => Promise<unknown>, writes: CollectedWrites, shard: number): void {
  const card: Array<[number, number, number]> = []
  const hot: Array<[number, number]> = []
  for (const [accountId, delta] of [...writes.deltas].sort((a, b) => a[0] - b[0])) {
    if (delta === 0) continue
    const kind = writes.accountKinds.get(accountId)
    if (kind === undefined) throw new LedgerInvariantError(`account ${accountId} has no known kind`)
    if (kind !== 'card') {
      hot.push([accountId, delta])
      continue
    }
    const expected = writes.expectedCardBalances.get(accountId)
    if (expected === undefined) throw new LedgerInvariantError(`card account ${accountId} moved without a computed balance`)
    card.push([accountId, delta, expected])
  }
  if (hot.length > 0) {
    q(`INSERT INTO account_shards (account_id, shard, balance) SELECT id, $3, delta FROM unnest($1::bigint[], $2::bigint[]) AS d(id, delta)
      ON CONFLICT (account_id, shard) DO UPDATE SET balance = account_shards.balance + excluded.balance`,
    [hot.map(h => h[0]), hot.map(h => h[1]), shard])
  }
  if (card.length > 0) {
    q(`UPDATE accounts a SET balance = CASE WHEN a.balance + d.delta = d.expected THEN d.expected ELSE NULL END
      FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS d(id, delta, expected) WHERE a.id = d.id AND a.kind = 'card'`,
    [card.map(c => c[0]), card.map(c => c[1]), card.map(c => c[2])])
  }
}

/** 23502 on accounts.balance: the in-database balance assertion above refused the transaction. */
export function isBalanceAssertion (error: unknown): boolean {
  const e = error as { code?: unknown, column?: unknown, table?: unknown }
  return e.code === '23502' && e.table === 'accounts'
}

/** The batch's cards opened; one that does not open fails its own calls (PreloadedState.card),
 *  not the batch. */
function openCards (rows: CardRow[], vault: CardVault): Pick<Preloaded, 'cards' | 'damagedCards'> {
  const cards = new Map<string, CardWithAccounts>()
  const damagedCards = new Map<string, Error>()
  for (const row of rows) {
    try {
      cards.set(row.card_token, toCard(row, vault))
    } catch (error) {
      damagedCards.set(row.card_token, error as Error)
    }
  }
  return { cards, damagedCards }
}
