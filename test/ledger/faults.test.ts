// Storage faults injected into the writer (src/ledger/fault-injection.ts): a failed COMMIT, a
// failing statement, a full disk, a writer thread that dies before or after its COMMIT. Each must
// answer 503 for what it hit, leave nothing behind (in the file or in the writer's caches), and
// leave the next taps exactly right. Also the account-aliasing bug, reproduced both ways.
import t, { type Test } from 'tap'
import type { SqliteEngine } from '../../src/ledger/sqlite-engine.js'
import { checkLedger } from '../../src/ledger/check.js'
import { buildTestApp, localAt, physical, tapId, type TestApp } from '../helpers/app.js'

const JINAN = '370100'

async function faultyApp (t: Test): Promise<TestApp & { engine: SqliteEngine }> {
  const h = await buildTestApp(t, { faultInjection: true, rateLimit: { ratePerSecond: 10_000, burst: 10_000 } })
  return h as TestApp & { engine: SqliteEngine }
}

async function bank (h: TestApp, cardNo: string): Promise<number> {
  return (await h.admin('GET', `/v1/admin/cards/${cardNo}`)).json.balances.bank
}

function cardAccounts (h: TestApp): Map<string, { bank: number, medical: number }> {
  const rows = h.readLedger().prepare('SELECT card_token, bank_account_id AS bank, medical_account_id AS medical FROM cards').all() as Array<{ card_token: string, bank: number, medical: number }>
  return new Map(rows.map(r => [r.card_token, { bank: r.bank, medical: r.medical }]))
}

/** A bank payment of `amountFen`: priced at the terminal, so every tap of a card charges it. */
function payment (cardNo: string, amountFen = 100): { tapId: string, at: string, card: { type: 'physical', cardNo: string, issuer: string }, amount: number } {
  const issuer = { J: JINAN, Q: '370200', Z: '410100' }[cardNo[0]!]!
  return { tapId: tapId('pay'), at: localAt(), card: physical(cardNo, issuer), amount: amountFen }
}
const PAY = 'jinan-bank-payment-01'

function tapCount (h: TestApp): number {
  return h.readLedger().prepare('SELECT COUNT(*) FROM taps').pluck().get() as number
}

t.test('aliasing (a): a card refused for its opening credit reference leaves no account for the next card to share', async t => {
  const h = await faultyApp(t)
  // The lever: a credit holding the reference the next card's opening credit will use (by token
  // since item 7: an admin without the card data key can no longer guess it; the refusal path is
  // what is tested).
  const taken = await h.admin('POST', '/v1/admin/cards/JN0000001/credits', { account: 'bank', amount: 100, reference: `opening:${h.cardToken('JN0000099')}:bank` })
  t.equal(taken.statusCode, 200)
  const refused = await h.admin('POST', '/v1/admin/cards', { cardNo: 'JN0000099', issuer: JINAN, accounts: { bank: 5_000 } })
  t.equal(refused.statusCode, 409, 'a clear 409, not a 500')
  t.equal(refused.json.error.code, 'CONFLICT')
  t.equal((await h.admin('GET', '/v1/admin/cards/JN0000099')).statusCode, 404, 'the refused card does not exist')
  for (const cardNo of ['JN0000098', 'JN0000097']) {
    t.equal((await h.admin('POST', '/v1/admin/cards', { cardNo, issuer: JINAN, accounts: { bank: 1_000 } })).statusCode, 201)
  }
  // The refused card number, created again without the taken reference: its accounts are new.
  t.equal((await h.admin('POST', '/v1/admin/cards', { cardNo: 'JN0000099', issuer: JINAN })).statusCode, 201)
  const accounts = cardAccounts(h)
  const ids = [...accounts.values()].flatMap(a => [a.bank, a.medical])
  t.equal(new Set(ids).size, ids.length, 'no two cards share an account')
  await h.admin('POST', '/v1/admin/cards/JN0000098/credits', { account: 'bank', amount: 250, reference: 'top-up-98' })
  t.equal(await bank(h, 'JN0000098'), 1_250)
  t.equal(await bank(h, 'JN0000097'), 1_000, 'a credit to one new card does not show on the other')
  t.equal(await bank(h, 'JN0000099'), 0, 'nor on the card created again')
  t.same((await h.service.check()).problems, [])
})

t.test('aliasing (b): a tap whose commit fails leaves no operator account id behind for a new card', async t => {
  const h = await faultyApp(t)
  const terminal = await h.admin('POST', '/v1/admin/terminals', { terminalId: 'jinan-bus-new', city: 'jinan', scenario: 'bus', operator: 'brand-new-operator' })
  const body = { tapId: tapId('alias'), at: localAt(), card: physical('JN0000001', JINAN) }
  await h.engine.injectFault({ failCommits: 1 })
  const failed = await h.tap('jinan-bus-new', body, { secret: terminal.json.secret })
  t.equal(failed.statusCode, 503, 'the failed commit is a 503')
  t.equal((await h.admin('POST', '/v1/admin/cards', { cardNo: 'JN0000096', issuer: JINAN, accounts: { bank: 700 } })).statusCode, 201)
  const retried = await h.tap('jinan-bus-new', body, { secret: terminal.json.secret })
  t.equal(retried.json.decision, 'approved', 'the retry is decided')
  t.equal(await bank(h, 'JN0000096'), 700, 'the new card holds its own money, not the operator\'s takings')
  const report = await h.service.check()
  t.same(report.problems, [], 'ledger check: one owner per account, credit legs on operator accounts')
})

t.test('a COMMIT that really fails rejects its whole batch with 503 and leaves nothing behind', async t => {
  const h = await faultyApp(t)
  const cards = ['JN0000001', 'JN0000002', 'JN0000001', 'QD0000001']
  const before = await Promise.all(cards.map(async c => await bank(h, c)))
  const recordedBefore = tapCount(h)
  await h.engine.injectFault({ failCommits: 1 })
  const bodies = cards.map(cardNo => payment(cardNo))
  // Sent in one turn of the event loop: one batch, one COMMIT.
  const answers = await Promise.all(bodies.map(async body => await h.tap(PAY, body)))
  t.same(answers.map(a => a.statusCode), [503, 503, 503, 503], 'every tap of the batch is refused')
  t.ok(answers.every(a => a.json.error.code === 'OVERLOADED'))
  t.equal(tapCount(h), recordedBefore, 'no tap row')
  t.same(await Promise.all(cards.map(async c => await bank(h, c))), before, 'no balance moved, in the file or the writer\'s cache')
  const retried = await Promise.all(bodies.map(async body => await h.tap(PAY, body)))
  t.same(retried.map(a => a.json.decision), ['approved', 'approved', 'approved', 'approved'], 'the retries are decided')
  t.same(retried.map(a => a.json.balance), [before[0]! - 100, before[1]! - 100, before[0]! - 200, before[3]! - 100], 'each charged exactly once, from the committed balance')
  t.same(checkLedger(h.readLedger()).problems, [])
})

t.test('a statement failing mid-batch (I/O error) fails the batch; admin calls on a full disk are 503, never 500', async t => {
  const h = await faultyApp(t)
  const before = await bank(h, 'JN0000001')
  await h.engine.injectFault({ failStatement: { afterStatements: 5, code: 'SQLITE_IOERR' } })
  const bodies = [1, 2, 3].map(() => payment('JN0000001'))
  const answers = await Promise.all(bodies.map(async body => await h.tap(PAY, body)))
  t.same(answers.map(a => a.statusCode), [503, 503, 503])
  t.equal(await bank(h, 'JN0000001'), before)
  await h.engine.injectFault({ failStatement: { afterStatements: 0, code: 'SQLITE_FULL' } })
  const credit = await h.admin('POST', '/v1/admin/cards/JN0000001/credits', { account: 'bank', amount: 100, reference: 'full-disk-credit' })
  t.equal(credit.statusCode, 503, 'a credit on a full disk is 503')
  await h.engine.injectFault({ failStatement: { afterStatements: 0, code: 'SQLITE_FULL' } })
  t.equal((await h.app.inject('/healthz')).statusCode, 503, '/healthz says the ledger cannot be written')
  await h.engine.injectFault({})
  const again = await Promise.all(bodies.map(async body => await h.tap(PAY, body)))
  t.same(again.map(a => a.json.balance), [before - 100, before - 200, before - 300])
  t.same(checkLedger(h.readLedger()).problems, [])
})

t.test('a writer thread that dies: 503 until it is back, then right answers', async t => {
  const h = await faultyApp(t)
  const before = await bank(h, 'JN0000002')
  await h.engine.killWriter()
  const during = await h.tap(PAY, payment('JN0000002'))
  t.equal(during.statusCode, 503, 'no writer, no answer but 503')
  await h.engine.writerUp()
  t.ok(h.engine.writerRestarts >= 1, 'the writer was started again')
  const after = await h.tap(PAY, payment('JN0000002'))
  t.equal(after.json.decision, 'approved')
  t.equal(after.json.balance, before - 100, 'decided on the committed balance')
})

t.test('a writer that dies after COMMIT, before answering: 503, and the retry replays the committed answer', async t => {
  const h = await faultyApp(t)
  const before = await bank(h, 'JN0000003')
  const body = payment('JN0000003')
  await h.engine.injectFault({ crash: 'after-commit' })
  const lost = await h.tap(PAY, body)
  t.equal(lost.statusCode, 503, 'the answer was lost with the thread')
  await h.engine.writerUp()
  const replay = await h.tap(PAY, body)
  t.equal(replay.json.decision, 'approved')
  t.equal(replay.json.balance, before - 100, 'the tap was durable: replayed, charged once')
  t.equal(await bank(h, 'JN0000003'), before - 100)

  const beforeCommit = payment('JN0000003')
  await h.engine.injectFault({ crash: 'before-commit' })
  t.equal((await h.tap(PAY, beforeCommit)).statusCode, 503)
  await h.engine.writerUp()
  t.equal(await bank(h, 'JN0000003'), before - 100, 'the uncommitted tap charged nothing')
  t.equal((await h.tap(PAY, beforeCommit)).json.balance, before - 200, 'and is decided on retry')
})

t.test('the checkpoint worker is started again when it dies', async t => {
  const h = await faultyApp(t)
  await h.tap('jinan-bus-01', { tapId: tapId('ck'), at: localAt(), card: physical('JN0000001', JINAN) })
  const checkpointer = h.engine.checkpointWorker!
  t.ok(checkpointer.running, 'running after the first commit')
  await checkpointer.kill()
  while (checkpointer.restarts === 0) await new Promise(resolve => setTimeout(resolve, 10))
  t.equal(checkpointer.restarts, 1, 'its death was seen')
  // Restart comes after a pause; a commit does not wait for it, taps go on meanwhile.
  const tap = await h.tap(PAY, payment('JN0000001'))
  t.equal(tap.json.decision, 'approved')
  while (!checkpointer.running) await new Promise(resolve => setTimeout(resolve, 50))
  t.ok(checkpointer.running, 'running again')
})
