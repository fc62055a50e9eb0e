// Which PostgreSQL driver for the ledger engine (issue #9): the same batch transaction a tap batch
// runs (lock N card rows in order, read their balances, insert N journal rows, update N balances,
// commit), through pg 8 (sequential queries), pg 8 with pipeline: true, and postgres 3 (which
// pipelines the queries of a transaction sent without awaiting). Loopback, synchronous_commit on.
//   node bench/pg-driver.mjs postgres://postgres@127.0.0.1:54329/drv [batches] [batchSize] [connections]
import pg from 'pg'
// postgres 3 is not a project dependency: npm i --no-save postgres@3.4.9 to run this bench.
const { default: postgres } = await import("postgres")

const url = process.argv[2] ?? process.env.DATABASE_URL
const batches = Number(process.argv[3] ?? 400)
const batchSize = Number(process.argv[4] ?? 64)
const connections = Number(process.argv[5] ?? 2)
const cards = 4096

async function setup () {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  await c.query('DROP TABLE IF EXISTS drv_cards, drv_taps')
  await c.query('CREATE TABLE drv_cards (card_no text PRIMARY KEY, balance bigint NOT NULL)')
  await c.query('CREATE TABLE drv_taps (id bigserial PRIMARY KEY, card_no text NOT NULL, amount bigint NOT NULL, response text NOT NULL)')
  await c.query('INSERT INTO drv_cards SELECT \'C\' || g, 1000000000 FROM generate_series(1, $1) g', [cards])
  await c.end()
}

function batchCards (i) {
  const set = new Set()
  let x = i * 7919 + 1
  // xorshift32: exact in 32-bit integer arithmetic (a float LCG loses bits and cycles short)
  while (set.size < batchSize) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; set.add('C' + (1 + (x >>> 0) % cards)) }
  return [...set].sort()
}

const LOCK = 'SELECT card_no, balance FROM drv_cards WHERE card_no = ANY($1) ORDER BY card_no FOR UPDATE'
const INSERT = 'INSERT INTO drv_taps (card_no, amount, response) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])'
const UPDATE = 'UPDATE drv_cards c SET balance = c.balance - d.amount FROM unnest($1::text[], $2::bigint[]) AS d(card_no, amount) WHERE c.card_no = d.card_no'
const response = JSON.stringify({ tapId: 'x'.repeat(24), decision: 'approved', amount: 200, account: 'bank', balance: 12345, authCode: 'ABCDEF12' })

async function runPg (pipeline) {
  const clients = await Promise.all(Array.from({ length: connections }, async () => { const c = new pg.Client({ connectionString: url, ...(pipeline ? { pipeline: true } : {}) }); await c.connect(); return c }))
  let next = 0
  const started = performance.now()
  await Promise.all(clients.map(async c => {
    while (next < batches) {
      const ids = batchCards(next++)
      const amounts = ids.map(() => 200)
      if (pipeline) {
        const b = c.query('BEGIN'); const l = c.query(LOCK, [ids])
        await Promise.all([b, l])
        await Promise.all([c.query(INSERT, [ids, amounts, ids.map(() => response)]), c.query(UPDATE, [ids, amounts]), c.query('COMMIT')])
      } else {
        await c.query('BEGIN'); await c.query(LOCK, [ids])
        await c.query(INSERT, [ids, amounts, ids.map(() => response)]); await c.query(UPDATE, [ids, amounts]); await c.query('COMMIT')
      }
    }
  }))
  const ms = performance.now() - started
  await Promise.all(clients.map(c => c.end()))
  return ms
}

async function runPostgresJs () {
  const sql = postgres(url, { max: connections })
  let next = 0
  const started = performance.now()
  await Promise.all(Array.from({ length: connections }, async () => {
    while (next < batches) {
      const ids = batchCards(next++)
      const amounts = ids.map(() => 200)
      await sql.begin(async tx => {
        await tx.unsafe(LOCK, [ids])
        await Promise.all([tx.unsafe(INSERT, [ids, amounts, ids.map(() => response)]), tx.unsafe(UPDATE, [ids, amounts])])
      })
    }
  }))
  const ms = performance.now() - started
  await sql.end()
  return ms
}

await setup()
for (const [name, run] of [['pg 8 sequential', () => runPg(false)], ['pg 8 pipeline', () => runPg(true)], ['postgres 3', runPostgresJs], ['pg 8 pipeline (again)', () => runPg(true)], ['postgres 3 (again)', runPostgresJs]]) {
  const ms = await run()
  console.log(`${name.padEnd(24)} ${batches} batches × ${batchSize} rows, ${connections} connections: ${(batches / ms * 1000).toFixed(0)} tx/s, ${(batches * batchSize / ms * 1000).toFixed(0)} rows/s, ${(ms / batches).toFixed(2)} ms/tx`)
}
