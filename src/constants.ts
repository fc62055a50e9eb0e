// Every limit of the service in one place (TigerBeetle's constants.zig is the model): a number
// that bounds memory, time or work lives here, with its unit last in the name, and the relations
// between limits are asserted when the module loads, so a bad edit fails at start, not at 3 a.m.

/** Taps decided and committed in one write transaction (one fsync). */
export const TAP_BATCH_SIZE_MAX = 256
/** Taps accepted but not yet answered, per process; beyond it a tap gets 503 OVERLOADED at once. */
export const TAP_QUEUE_DEPTH_MAX = 4_096
/** Items in one `POST /v1/taps/batch` upload (api-v1). */
export const TAP_UPLOAD_ITEMS_MAX = 100

/** Tap bodies and batch upload bodies. */
export const TAP_BODY_BYTES_MAX = 16 * 1024
export const BATCH_BODY_BYTES_MAX = 512 * 1024

/** How far `at` may lie before or after the server's clock. */
export const AT_FUTURE_MS_MAX = 5 * 60_000
export const AT_PAST_MS_MAX_ONLINE = 7 * 24 * 3_600_000
export const AT_PAST_MS_MAX_UPLOAD = 30 * 24 * 3_600_000

/** Writer-side caches, filled only from committed state. */
export const CARD_CACHE_ENTRIES_MAX = 100_000
export const ACCOUNT_ID_CACHE_ENTRIES_MAX = 100_000
export const TERMINAL_CACHE_ENTRIES_MAX = 100_000
/** Card tokens remembered by number (src/cards/card-vault.ts): a batch's cards at least. */
export const CARD_TOKEN_MEMO_ENTRIES_MAX = 100_000
/** Opened card data remembered by the PostgreSQL engine (no card cache of its own): a batch's cards
 *  at least; ~0.4 KB an entry, so ~40 MB at the bound. */
export const CARD_OPENED_MEMO_ENTRIES_MAX = 100_000

/** Expired QR nonces deleted per committed tap batch: at least the batch's own inserts, so purging
 *  keeps pace with any insert rate (every batch inserts at most TAP_BATCH_SIZE_MAX nonces). */
export const NONCE_PURGE_PER_BATCH_MAX = 2 * TAP_BATCH_SIZE_MAX
/** Expired dated rule state rows deleted per committed batch (same argument as nonces). */
export const STATE_PURGE_PER_BATCH_MAX = 2 * TAP_BATCH_SIZE_MAX
/** A state write that asks to expire may ask for at most this long. */
export const STATE_TTL_MS_MAX = 400 * 24 * 3_600_000

/** Writer thread: requests sent but not answered (taps count as one request per batch message). */
export const WRITER_REQUESTS_IN_FLIGHT_MAX = TAP_QUEUE_DEPTH_MAX + 64
/** A writer that died is started again after this pause, doubling up to the maximum. */
export const WRITER_RESTART_DELAY_MS_MIN = 50
export const WRITER_RESTART_DELAY_MS_MAX = 2_000
/** How long close() waits for the writer to finish what it has. */
export const WRITER_CLOSE_MS_MAX = 5_000

/** Reader thread (ledger check, settlement, tap listings): queued requests beyond it get 503. */
export const READER_QUEUE_DEPTH_MAX = 32

/** Tap listing of one card, settlement range. */
export const TAPS_LISTED_MAX = 10_000
export const SETTLEMENT_DAYS_MAX = 31
/** A settlement day may be closed this long after its Shanghai midnight, not before: a tap decided
 *  just before midnight may still be in a batch that commits after it (the tap queue, another
 *  process's lane), and the close must read the day with that batch in. Batches commit in well
 *  under a second; 5 minutes also covers a service clock a little ahead of another's. */
export const SETTLEMENT_DAY_CLOSE_GRACE_MS = 5 * 60_000

/** The admin audit trail (admin_audit) keeps its newest rows only, by row count, not by age: a
 *  count bounds the file whatever the rate, an age would not (a leaked admin token scripting
 *  credits adds rows as fast as it can). 2,000,000 rows of ~250 bytes is ~500 MB at most, and
 *  over a year of a busy programme's admin work (thousands of card issues and status changes a
 *  day across three cities). A flood meant to push old rows out is itself the evidence, and every
 *  audit row is also a log line, shipped off the machine. */
export const AUDIT_ROWS_MAX = 2_000_000
/** Rows beyond the bound deleted per audit insert: more than the one added, so the table comes
 *  back under its bound after the bound is lowered, without one long delete. */
export const AUDIT_PURGE_PER_WRITE_MAX = 64
/** GET /v1/admin/audit page size: default and bound. */
export const AUDIT_PAGE_ROWS_DEFAULT = 50
export const AUDIT_PAGE_ROWS_MAX = 500

/** The deny list (api-v1.1): change rows kept for deltas (older terminals get the full list), the
 *  most changes one delta answer carries (more: the full list instead), and the most entries a
 *  full list may have (~60 bytes each as JSON: 200,000 is ~12 MB, a minute over a 2 Mbit/s bus
 *  modem; beyond it the answer is 503 and ops must look at why so many cards are listed). */
export const DENYLIST_CHANGES_KEPT_MAX = 500_000
export const DENYLIST_DELTA_CHANGES_MAX = 20_000
export const DENYLIST_ENTRIES_MAX = 200_000

/** Offline taps (api-v1.1). Metro exits uploaded before their entry, kept per card while they wait
 *  (the oldest beyond it is settled at the provisional fare it was charged). */
export const LATE_ENTRY_WAITING_PER_CARD_MAX = 8
/** Refunds of one tap (each a transfer): bounds the refunds table per tap. */
export const REFUNDS_PER_TAP_MAX = 100

/** An electronic card QR minted by the admin API lives at most this long (api-v1: 1..300 s). */
export const QR_TTL_SECONDS_MAX = 300

/** /healthz commits a probe write; its answer is reused this long (no fsync per request). */
export const HEALTH_PROBE_REUSE_MS = 1_000

/** /readyz says not ready once the tap queue is this full (a load balancer sends elsewhere). */
export const READY_QUEUE_FRACTION_MAX = 0.9

/** Ledger check: problems reported at most. */
export const CHECK_PROBLEMS_MAX = 50

/** SQLite page cache per connection, KiB: keeps the hot index pages of a 10 M-tap ledger. */
export const SQLITE_CACHE_KIB = 65_536
/** WAL checkpoints off the writer (see checkpoint-worker.ts). */
export const CHECKPOINT_INTERVAL_MS = 5

/** PostgreSQL engine (pg-engine.ts). */
/** Tap batches one process has in flight at once, each on its own connection: while one waits
 *  for its commit (an fsync, and with a synchronous standby a network round trip), the next one
 *  reads and decides. */
export const PG_TAP_CONNECTIONS = 2
/** Longest a terminal's old secret is still accepted after a rotation: a week is time enough to
 *  reach a bus that only syncs at its depot, short enough that a leaked old secret dies soon. */
export const TERMINAL_SECRET_OVERLAP_S_MAX = 7 * 24 * 3600
/** The overlap of a rotation that names none. */
export const TERMINAL_SECRET_OVERLAP_S_DEFAULT = 24 * 3600
/** Waiting tap calls a lane looks through for ones whose cards no other lane has in flight
 *  (pg-engine.ts pump): bounds the work of forming a batch when many calls wait on a few cards. */
export const PG_PENDING_SCAN_CALLS_MAX = 4 * TAP_BATCH_SIZE_MAX
/** Connections for admin operations and reports, per process. */
export const PG_POOL_CONNECTIONS_MAX = 4
/** Times a batch is run again after a serialization failure, deadlock or unique-key race. */
export const PG_RETRIES_MAX = 4
/** Connecting (TCP + auth) and any one statement: a database that does not answer becomes a 503. */
export const PG_CONNECT_MS_MAX = 3_000
export const PG_STATEMENT_MS_MAX = 10_000
/** A check or a report may take longer than a tap statement. */
export const PG_REPORT_STATEMENT_MS_MAX = 120_000
/** Waiting for a row lock (another process's batch holds the card): bounded like any wait. */
export const PG_LOCK_WAIT_MS_MAX = 5_000
/** Reconnecting after the database went away (failover): the pause doubles up to the max. */
export const PG_RECONNECT_DELAY_MS_MIN = 100
export const PG_RECONNECT_DELAY_MS_MAX = 2_000
/** Balance shards of a hot account (pg-schema.ts): each process writes its own. */
export const PG_BALANCE_SHARDS = 64

function assertRelation (ok: boolean, what: string): void {
  if (!ok) throw new Error(`constants: ${what}`)
}

assertRelation(TAP_BATCH_SIZE_MAX >= 1 && TAP_QUEUE_DEPTH_MAX >= TAP_BATCH_SIZE_MAX, 'the queue holds at least one batch')
assertRelation(TAP_QUEUE_DEPTH_MAX >= TAP_UPLOAD_ITEMS_MAX, 'one whole upload fits in the queue')
assertRelation(NONCE_PURGE_PER_BATCH_MAX >= TAP_BATCH_SIZE_MAX, 'nonce purging keeps pace with inserts')
assertRelation(STATE_PURGE_PER_BATCH_MAX >= TAP_BATCH_SIZE_MAX, 'state purging keeps pace with writes')
assertRelation(WRITER_REQUESTS_IN_FLIGHT_MAX > TAP_QUEUE_DEPTH_MAX, 'admin calls still reach a writer full of taps')
assertRelation(WRITER_RESTART_DELAY_MS_MIN > 0 && WRITER_RESTART_DELAY_MS_MAX >= WRITER_RESTART_DELAY_MS_MIN, 'restart back-off')
assertRelation(AT_PAST_MS_MAX_UPLOAD >= AT_PAST_MS_MAX_ONLINE, 'uploads may be older than online taps')
assertRelation(TAP_BODY_BYTES_MAX * TAP_UPLOAD_ITEMS_MAX / 4 <= BATCH_BODY_BYTES_MAX, 'an upload of typical taps fits its body limit')
assertRelation(CARD_CACHE_ENTRIES_MAX >= TAP_BATCH_SIZE_MAX, 'a batch\'s cards fit in the cache')
assertRelation(CARD_TOKEN_MEMO_ENTRIES_MAX >= TAP_BATCH_SIZE_MAX, 'a batch\'s card tokens fit in the memo')
assertRelation(CARD_OPENED_MEMO_ENTRIES_MAX >= TAP_BATCH_SIZE_MAX, 'a batch\'s opened cards fit in the memo')
assertRelation(PG_TAP_CONNECTIONS >= 1 && PG_POOL_CONNECTIONS_MAX >= 1, 'the PostgreSQL engine has connections for taps and for admin')
assertRelation(TERMINAL_SECRET_OVERLAP_S_DEFAULT <= TERMINAL_SECRET_OVERLAP_S_MAX, 'the default overlap is allowed')
assertRelation(PG_PENDING_SCAN_CALLS_MAX >= TAP_BATCH_SIZE_MAX, 'a lane can fill a whole batch from the calls it scans')
assertRelation(PG_RETRIES_MAX >= 1 && PG_RETRIES_MAX <= 10, 'bounded retries')
assertRelation(PG_LOCK_WAIT_MS_MAX < PG_STATEMENT_MS_MAX, 'a lock wait fails before the statement times out')
assertRelation(PG_RECONNECT_DELAY_MS_MIN > 0 && PG_RECONNECT_DELAY_MS_MAX >= PG_RECONNECT_DELAY_MS_MIN, 'reconnect back-off')
assertRelation(AUDIT_PURGE_PER_WRITE_MAX > 1, 'audit pruning keeps pace with inserts')
assertRelation(AUDIT_PAGE_ROWS_DEFAULT >= 1 && AUDIT_PAGE_ROWS_MAX >= AUDIT_PAGE_ROWS_DEFAULT && AUDIT_ROWS_MAX >= AUDIT_PAGE_ROWS_MAX, 'an audit page fits in the trail')
assertRelation(DENYLIST_DELTA_CHANGES_MAX <= DENYLIST_CHANGES_KEPT_MAX, 'a delta is served from kept changes')
assertRelation(DENYLIST_ENTRIES_MAX >= 1, 'a deny list holds entries')
assertRelation(PG_BALANCE_SHARDS >= 1 && PG_BALANCE_SHARDS <= 32_767, 'a shard number fits a smallint')
