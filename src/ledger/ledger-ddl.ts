// The ledger's tables, written once for both engines: SQLite (schema.ts) and PostgreSQL
// (pg-schema.ts) create them from this text with their own types. Same names, same columns, same
// constraints, so the check (check.ts) and the reports (settlement.ts) run the same SQL on both.
// A column added here needs a migration step in each engine for ledgers that exist already.

export type SqlDialect = 'sqlite' | 'postgres'

const TYPES: Record<SqlDialect, { id: string, int: string, keyed: string }> = {
  // Money and ids are 64-bit on both: SQLite's INTEGER is; PostgreSQL's integer is not (bigint).
  sqlite: { id: 'INTEGER PRIMARY KEY', int: 'INTEGER', keyed: ' WITHOUT ROWID' },
  postgres: { id: 'bigserial PRIMARY KEY', int: 'bigint', keyed: '' }
}

export function ledgerTablesDdl (dialect: SqlDialect): string {
  const t = TYPES[dialect]
  return `
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
)${t.keyed};

CREATE TABLE IF NOT EXISTS terminals (
  terminal_id TEXT PRIMARY KEY,
  city TEXT NOT NULL,
  scenario TEXT NOT NULL,
  operator TEXT NOT NULL,
  location TEXT NOT NULL,
  secret TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
  created_at TEXT NOT NULL,
  card_authentication TEXT CHECK (card_authentication IN ('optional', 'required'))
)${t.keyed};

-- Balances are cached on the account row and kept equal to the sum of its postings (ledger check).
-- A card account may never go below zero: checked in code before writing, and here as a backstop.
CREATE TABLE IF NOT EXISTS accounts (
  id ${t.id},
  code TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL CHECK (kind IN ('card', 'operator', 'clearing')),
  balance ${t.int} NOT NULL DEFAULT 0,
  CHECK (kind <> 'card' OR balance >= 0)
);

-- v5 (issue #13 item 7): a card is keyed by its token, never its number, everywhere in the ledger
-- (src/cards/card-vault.ts); its number, birth date and categories are sealed in one value.
CREATE TABLE IF NOT EXISTS cards (
  card_token TEXT PRIMARY KEY,
  issuer TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'lost', 'frozen')),
  expires_on TEXT,
  sealed TEXT NOT NULL,
  bank_account_id ${t.int} NOT NULL REFERENCES accounts(id),
  medical_account_id ${t.int} NOT NULL REFERENCES accounts(id),
  created_at TEXT NOT NULL,
  -- v4: what the card owes (offline taps it could not pay); its ledger side is debt:<issuer>.
  debt_fen ${t.int} NOT NULL DEFAULT 0 CHECK (debt_fen >= 0)
)${t.keyed};

${transfersTableDdl(dialect, 'transfers')}

-- One row per account leg; the legs of a transfer sum to zero (asserted before writing).
CREATE TABLE IF NOT EXISTS postings (
  transfer_id ${t.int} NOT NULL REFERENCES transfers(id),
  account_id ${t.int} NOT NULL REFERENCES accounts(id),
  amount ${t.int} NOT NULL CHECK (amount <> 0),
  PRIMARY KEY (transfer_id, account_id)
)${t.keyed};

-- Every tap, approved or declined. (terminal_id, tap_id) is the idempotency key; response is the
-- exact answer sent, replayed byte for byte.
CREATE TABLE IF NOT EXISTS taps (
  id ${t.id},
  terminal_id TEXT NOT NULL,
  tap_id TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  card_token TEXT,
  scenario TEXT NOT NULL,
  city TEXT NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('approved', 'declined')),
  reason TEXT,
  amount ${t.int} NOT NULL CHECK (amount >= 0),
  account TEXT,
  at TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  -- v1 taps: the transfer's legs are postings rows. v2 taps: the legs are these three columns.
  transfer_id ${t.int} REFERENCES transfers(id),
  reversal_transfer_id ${t.int} REFERENCES transfers(id),
  response TEXT NOT NULL,
  bank_fen ${t.int} NOT NULL DEFAULT 0 CHECK (bank_fen >= 0),
  medical_fen ${t.int} NOT NULL DEFAULT 0 CHECK (medical_fen >= 0),
  operator_account_id ${t.int} REFERENCES accounts(id),
  -- v4: the part of an offline tap the card could not pay, a leg on its issuer's debt account.
  debt_fen ${t.int} NOT NULL DEFAULT 0 CHECK (debt_fen >= 0)
);
CREATE UNIQUE INDEX IF NOT EXISTS taps_idempotency ON taps (terminal_id, tap_id);
CREATE INDEX IF NOT EXISTS taps_by_card ON taps (card_token, id);

CREATE TABLE IF NOT EXISTS credits (
  reference TEXT PRIMARY KEY,
  card_token TEXT NOT NULL,
  account TEXT NOT NULL,
  amount ${t.int} NOT NULL CHECK (amount > 0),
  transfer_id ${t.int} NOT NULL REFERENCES transfers(id),
  -- v4: the part of the credit that repaid the card's debt (the rest went to the account).
  debt_fen ${t.int} NOT NULL DEFAULT 0 CHECK (debt_fen >= 0)
)${t.keyed};

-- Per-card rule state (open metro journeys, monthly counters, loans...), written by rule modules.
CREATE TABLE IF NOT EXISTS card_state (
  card_token TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  expires_at_ms ${t.int},
  PRIMARY KEY (card_token, key)
)${t.keyed};

-- Electronic-card QR nonces, remembered until the QR expires so a QR is valid once.
CREATE TABLE IF NOT EXISTS qr_nonces (
  nonce TEXT PRIMARY KEY,
  expires_at_ms ${t.int} NOT NULL
)${t.keyed};
CREATE INDEX IF NOT EXISTS qr_nonces_by_expiry ON qr_nonces (expires_at_ms);
`
}

/** The admin audit trail (SQLite schema v3, PostgreSQL migration 2): one row per admin change,
 *  written in the change's own transaction. `target` is a terminal id or a card's token (never
 *  its number); `detail` is JSON naming what changed, without secrets or holder data. Pruned to
 *  the newest AUDIT_ROWS_MAX rows (constants.ts) as rows are added. */
export function auditTableDdl (dialect: SqlDialect): string {
  const t = TYPES[dialect]
  return `
CREATE TABLE IF NOT EXISTS admin_audit (
  id ${t.id},
  at_ms ${t.int} NOT NULL,
  actor TEXT NOT NULL CHECK (actor IN ('admin', 'ops')),
  action TEXT NOT NULL,
  target_kind TEXT NOT NULL CHECK (target_kind IN ('card', 'terminal')),
  target TEXT NOT NULL,
  request_id TEXT NOT NULL,
  client_ip TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS admin_audit_by_target ON admin_audit (target, id);
`
}

/** Transfers (v4 adds the kinds refund and settlement). A function because a SQLite ledger from
 *  before v4 rebuilds the table under another name to widen its CHECK (schema.ts). */
export function transfersTableDdl (dialect: SqlDialect, name: string): string {
  const t = TYPES[dialect]
  return `CREATE TABLE IF NOT EXISTS ${name} (
  id ${t.id},
  kind TEXT NOT NULL CHECK (kind IN (${TRANSFER_KINDS.map(k => `'${k}'`).join(', ')})),
  ref TEXT NOT NULL,
  created_at TEXT NOT NULL
);`
}

export const TRANSFER_KINDS = ['tap', 'credit', 'reversal', 'refund', 'settlement'] as const

/** v4 (offline taps, issue #10): refunds, the deny list with its versioned changes, and closed
 *  settlement days. Created on every open (IF NOT EXISTS); the columns v4 adds to older tables are
 *  each engine's migration step. */
export function offlineTablesDdl (dialect: SqlDialect): string {
  const t = TYPES[dialect]
  return `
-- A refund returns part or all of an approved tap's charge; idempotent on reference.
CREATE TABLE IF NOT EXISTS refunds (
  reference TEXT PRIMARY KEY,
  terminal_id TEXT NOT NULL,
  tap_id TEXT NOT NULL,
  amount ${t.int} NOT NULL CHECK (amount > 0),
  -- where it went: back to the card's accounts, or cancelling the card's debt; they sum to amount
  bank_fen ${t.int} NOT NULL DEFAULT 0 CHECK (bank_fen >= 0),
  medical_fen ${t.int} NOT NULL DEFAULT 0 CHECK (medical_fen >= 0),
  debt_fen ${t.int} NOT NULL DEFAULT 0 CHECK (debt_fen >= 0),
  transfer_id ${t.int} NOT NULL REFERENCES transfers(id),
  created_at TEXT NOT NULL,
  CHECK (amount = bank_fen + medical_fen + debt_fen)
)${t.keyed};
CREATE INDEX IF NOT EXISTS refunds_by_tap ON refunds (terminal_id, tap_id);

-- The deny list as it is now: one row per card token listed, with the version that listed it.
CREATE TABLE IF NOT EXISTS denylist (
  token TEXT PRIMARY KEY,
  card_token TEXT NOT NULL UNIQUE,
  reason TEXT NOT NULL CHECK (reason IN ('debt', 'lost', 'frozen')),
  version ${t.int} NOT NULL
)${t.keyed};

-- Every change to the deny list, by version: reason NULL removes the token. Pruned to its bound;
-- a terminal whose version is older than the oldest kept gets the full list.
CREATE TABLE IF NOT EXISTS denylist_changes (
  version ${t.int} PRIMARY KEY,
  token TEXT NOT NULL,
  reason TEXT CHECK (reason IN ('debt', 'lost', 'frozen'))
)${t.keyed};

-- Settlement days are days of recorded_at (PostgreSQL had this index since migration 1).
CREATE INDEX IF NOT EXISTS taps_by_recorded ON taps (recorded_at);
-- ...and of the created_at of reversal and refund transfers (settlement-days.ts): a day's read, and
-- a close inside the writer, cost one day of transfers, not all of them.
CREATE INDEX IF NOT EXISTS transfers_by_created ON transfers (created_at);
-- From a day's reversal and refund transfers to their taps (partial: most taps are never reversed).
CREATE INDEX IF NOT EXISTS taps_by_reversal ON taps (reversal_transfer_id) WHERE reversal_transfer_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS refunds_by_transfer ON refunds (transfer_id);

-- A closed settlement day: its report as it was when closed, never changed after.
CREATE TABLE IF NOT EXISTS settlement_days (
  day TEXT PRIMARY KEY,
  closed_at TEXT NOT NULL,
  report TEXT NOT NULL
)${t.keyed};
`
}
