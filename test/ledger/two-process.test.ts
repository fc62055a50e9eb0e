// Two service processes on one PostgreSQL ledger (issue #9): 200 taps on one card split over both
// at once never overdraw it and its balance drops by exactly what was approved; one tapId sent to
// both at once is recorded once and both answers are the same bytes; a terminal disabled through
// one process is refused by the other at once; one registered through one is known to the other.
import t from 'tap'
import { startService, type RunningService } from '../helpers/service.js'
import { adminCall, postSigned, type HttpAnswer } from '../helpers/http-client.js'
import { localAt } from '../helpers/app.js'
import { checkStoredLedger, createTestDatabase, postgresOnly, queryStoredLedger } from '../helpers/engine.js'
import { PG_POOL_CONNECTIONS_MAX, PG_TAP_CONNECTIONS } from '../../src/constants.js'

const TAPS = 200
const IN_FLIGHT = 32
const OPENING_FEN = 10_000 // a bus fare is 100–200 fen: the card cannot pay for all 200 rides
const CARD = 'P20000001'
const ISSUER = '370200'

interface Terminal { id: string, secret: string }

async function registerBuses (svc: RunningService, prefix: string, count: number): Promise<Terminal[]> {
  const terminals: Terminal[] = []
  for (let i = 0; i < count; i++) {
    const r = await adminCall(svc.url, svc.adminToken, 'POST', '/v1/admin/terminals', { terminalId: `${prefix}-${i}`, city: 'qingdao', scenario: 'bus', operator: 'qingdao-bus' })
    if (r.status !== 201) throw new Error(`terminal setup: ${r.status} ${r.body}`)
    terminals.push({ id: r.json.terminalId, secret: r.json.secret })
  }
  return terminals
}

/** Retries until the process knows the terminal (it learns by NOTIFY): bounded. */
async function untilKnown (svc: RunningService, terminal: Terminal, body: unknown): Promise<HttpAnswer> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const answer = await postSigned(svc.url, terminal.id, terminal.secret, '/v1/taps', body)
    if (answer.status !== 401 || Date.now() > deadline) return answer
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

t.test('two processes on one PostgreSQL ledger', postgresOnly('several processes share one ledger'), async t => {
  const databaseUrl = await createTestDatabase(t)
  const a = await startService({ seed: 'none', databaseUrl, t })
  const b = await startService({ seed: 'none', databaseUrl, t })
  t.teardown(async () => { await a.stop(); await b.stop() })

  const created = await adminCall(a.url, a.adminToken, 'POST', '/v1/admin/cards', { cardNo: CARD, issuer: ISSUER, accounts: { bank: OPENING_FEN } })
  t.equal(created.status, 201, 'card created through A')
  const viaB = await adminCall(b.url, b.adminToken, 'GET', `/v1/admin/cards/${CARD}`)
  t.equal(viaB.json?.balances?.bank, OPENING_FEN, 'B reads the card A created')

  const buses = await registerBuses(a, 'tp-bus', TAPS)
  // B learns of A's terminals by NOTIFY: the first tap through B waits for that, bounded.
  const warm = await untilKnown(b, buses[0]!, { tapId: 'warm-0', at: localAt(), card: { type: 'physical', cardNo: 'NOPE00000', issuer: ISSUER } })
  t.equal(warm.status, 200, `B knows a terminal registered through A (${warm.status})`)

  await t.test('200 taps on one card over both processes at once: no overdraft', async t => {
    const answers: HttpAnswer[] = []
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < TAPS) {
        const i = next++
        const terminal = buses[i]!
        const svc = i % 2 === 0 ? a : b
        answers[i] = await postSigned(svc.url, terminal.id, terminal.secret, '/v1/taps', { tapId: `split-${i}`, at: localAt(), card: { type: 'physical', cardNo: CARD, issuer: ISSUER } })
      }
    }
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
    t.ok(answers.every(r => r.status === 200), `every tap answered 200 (${answers.filter(r => r.status !== 200).length} not: ${answers.find(r => r.status !== 200)?.body ?? ''})`)
    const approved = answers.filter(r => r.json?.decision === 'approved')
    const approvedFen = approved.reduce((sum, r) => sum + (r.json.amount as number), 0)
    t.ok(approved.length > 0 && approved.length < TAPS, `some approved (${approved.length}), some declined: the card ran out`)
    t.ok(answers.filter(r => r.json?.decision === 'declined').every(r => r.json.reason === 'INSUFFICIENT_FUNDS' || r.json.reason === 'DUPLICATE_TAP'), 'declines are for money (or a repeat ride)')
    const card = await adminCall(b.url, b.adminToken, 'GET', `/v1/admin/cards/${CARD}`)
    t.ok(card.json.balances.bank >= 0, `never overdrawn (${card.json.balances.bank})`)
    t.equal(OPENING_FEN - card.json.balances.bank, approvedFen, 'the balance dropped by exactly the approved amounts')
    const byProcess = [0, 1].map(p => answers.filter((r, i) => i % 2 === p && r.json?.decision === 'approved').length)
    t.ok(byProcess.every(n => n > 0), `both processes approved taps (${byProcess.join(' + ')})`)
  })

  await t.test('one tapId sent to both at once: one record, the same bytes', async t => {
    const terminal = buses[1]!
    await adminCall(a.url, a.adminToken, 'POST', `/v1/admin/cards/${CARD}/credits`, { account: 'bank', amount: 10_000, reference: 'top-up-1' })
    for (let round = 0; round < 10; round++) {
      const body = { tapId: `both-${round}`, at: localAt(), card: { type: 'physical', cardNo: CARD, issuer: ISSUER } }
      const [fromA, fromB] = await Promise.all([
        postSigned(a.url, terminal.id, terminal.secret, '/v1/taps', body),
        postSigned(b.url, terminal.id, terminal.secret, '/v1/taps', body)
      ])
      t.equal(fromA.status, 200)
      t.equal(fromA.body, fromB.body, `round ${round}: identical answers`)
    }
    const rows = await queryStoredLedger({ dbPath: '', databaseUrl }, `SELECT tap_id, COUNT(*) AS n FROM taps WHERE tap_id LIKE 'both-%' GROUP BY tap_id`)
    t.equal(rows.length, 10, 'each tapId recorded')
    t.ok(rows.every(r => Number(r.n) === 1), 'each exactly once')
  })

  await t.test('a terminal disabled through A is refused by B at once', async t => {
    const terminal = buses[2]!
    const disabled = await adminCall(a.url, a.adminToken, 'PATCH', `/v1/admin/terminals/${terminal.id}`, { status: 'disabled' })
    t.equal(disabled.status, 200, 'disabled through A')
    const tap = await postSigned(b.url, terminal.id, terminal.secret, '/v1/taps', { tapId: 'after-disable', at: localAt(), card: { type: 'physical', cardNo: CARD, issuer: ISSUER } })
    t.equal(tap.status, 403, `B refuses it on the very next tap (${tap.status} ${tap.json?.error?.code})`)
  })

  await t.test('listener connections killed three times: one listener each, and registrations still reach the other process', async t => {
    const where = { dbPath: '', databaseUrl }
    const listeners = async (): Promise<number> => Number((await queryStoredLedger(where,
      "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'yikatong-listen'"))[0].n)
    for (let round = 0; round < 3; round++) {
      await queryStoredLedger(where, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'yikatong-listen'")
      const deadline = Date.now() + 10_000
      while (await listeners() !== 2 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
    }
    const [late] = await registerBuses(a, 'tp-late', 1)
    const tap = await untilKnown(b, late!, { tapId: 'late-0', at: localAt(), card: { type: 'physical', cardNo: CARD, issuer: ISSUER } })
    t.equal(tap.status, 200, `B knows a terminal registered through A after the kills (${tap.status})`)
    await new Promise(resolve => setTimeout(resolve, 300)) // a reconnect loop that multiplied would show by now
    t.equal(await listeners(), 2, 'one listener connection per process')
    const connections = Number((await queryStoredLedger(where, "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'yikatong-%'"))[0].n)
    t.ok(connections <= 2 * (PG_TAP_CONNECTIONS + PG_POOL_CONNECTIONS_MAX + 1), `the processes hold ${connections} connections, within their bound`)
  })

  await t.test('the ledger is in PostgreSQL and its check passes', async t => {
    const rows = await queryStoredLedger({ dbPath: '', databaseUrl }, 'SELECT COUNT(*) AS n FROM taps')
    t.ok(Number(rows[0].n) >= TAPS, `the taps are rows in PostgreSQL (${rows[0].n})`)
    t.same((await checkStoredLedger({ dbPath: '', databaseUrl })).problems, [])
  })
})
