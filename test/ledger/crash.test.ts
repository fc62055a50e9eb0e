// Crash safety: the service runs as a child process under a stream of taps and is SIGKILLed
// mid-stream, twice. After each restart on the same file, every `approved` a client received is
// in the ledger (a replay of the same tap answers the same bytes), the ledger check passes, and once
// every tap sent has an answer (the unanswered ones are retried with the same tapId), each card's
// balance is exactly its opening balance less what its clients were told they paid.
import t from 'tap'
import { rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { checkStoredLedger } from '../helpers/engine.js'
import { startService, type RunningService } from '../helpers/service.js'
import { adminCall, postSigned, type HttpAnswer } from '../helpers/http-client.js'
import { localAt } from '../helpers/app.js'

const CARDS = 401 // coprime with TERMINALS: a (card, terminal) pair repeats only every 3,208 taps
const TERMINALS = 8
const IN_FLIGHT = 16
const STREAM_MS = 1_200
const ROUNDS = 2

const OPENING_FEN = 1_000_000

interface Terminal { id: string, secret: string }
interface SentTap { terminal: Terminal, body: { card: { cardNo: string } }, answer?: HttpAnswer }

/** Cards, and bus terminals per round: a card rides each bus once per round (no DUPLICATE_TAP). */
async function setUp (svc: RunningService): Promise<Terminal[][]> {
  for (let i = 0; i < CARDS; i++) {
    const r = await adminCall(svc.url, svc.adminToken, 'POST', '/v1/admin/cards', { cardNo: `K${String(i).padStart(8, '0')}`, issuer: '370200', accounts: { bank: OPENING_FEN } })
    if (r.status !== 201) throw new Error(`card setup: ${r.status} ${r.body}`)
  }
  const rounds: Terminal[][] = []
  for (let round = 0; round < ROUNDS; round++) {
    const terminals = []
    for (let i = 0; i < TERMINALS; i++) {
      const r = await adminCall(svc.url, svc.adminToken, 'POST', '/v1/admin/terminals', { terminalId: `crash-bus-${round}-${i}`, city: 'qingdao', scenario: 'bus', operator: 'qingdao-bus' })
      terminals.push({ id: r.json.terminalId as string, secret: r.json.secret as string })
    }
    rounds.push(terminals)
  }
  return rounds
}

/** Streams taps with IN_FLIGHT concurrency until killed; returns every tap sent, with its answer if one came. */
async function streamUntilKilled (svc: RunningService, terminals: Terminal[], round: number): Promise<SentTap[]> {
  const sent: SentTap[] = []
  let next = 0
  let stop = false
  const worker = async (): Promise<void> => {
    while (!stop) {
      const i = next++
      const terminal = terminals[i % TERMINALS]!
      if (i >= CARDS * TERMINALS) break
      const body = { tapId: `r${round}-${i}`, at: localAt(), card: { type: 'physical', cardNo: `K${String(i % CARDS).padStart(8, '0')}`, issuer: '370200' } }
      const tap: SentTap = { terminal, body }
      sent.push(tap)
      try {
        tap.answer = await postSigned(svc.url, terminal.id, terminal.secret, '/v1/taps', body, 5_000)
      } catch { /* the process is gone: this tap got no answer, so it promises nothing */ }
    }
  }
  const workers = Array.from({ length: IN_FLIGHT }, worker)
  await new Promise(resolve => setTimeout(resolve, STREAM_MS))
  await svc.kill()
  stop = true
  await Promise.all(workers)
  return sent
}

t.test('SIGKILL during a stream of taps loses no approved tap', async t => {
  let svc = await startService({ seed: 'none', t })
  const dbPath = svc.dbPath
  const databaseUrl = svc.databaseUrl
  t.teardown(() => rmSync(dirname(dbPath), { recursive: true, force: true }))
  const terminalsByRound = await setUp(svc)
  const everyTap: SentTap[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const sent = await streamUntilKilled(svc, terminalsByRound[round]!, round)
    everyTap.push(...sent)
    const approved = sent.filter(r => r.answer?.status === 200 && r.answer.json?.decision === 'approved')
    t.ok(approved.length > 50, `round ${round}: ${approved.length} approvals received before the kill`)

    // Straight off the storage, with no service running: the SQLite file, or the PostgreSQL
    // database when the suite runs there (YKT_TEST_ENGINE=postgres).
    const report = await checkStoredLedger({ dbPath, databaseUrl })
    t.same(report.problems, [], `round ${round}: ledger check after the crash`)

    svc = await startService({ seed: 'none', dbPath, databaseUrl, t })
    let replayedSame = 0
    for (const tap of approved) {
      const replay = await postSigned(svc.url, tap.terminal.id, tap.terminal.secret, '/v1/taps', tap.body)
      if (replay.status === 200 && replay.body === tap.answer!.body) replayedSame++
    }
    t.equal(replayedSame, approved.length, `round ${round}: every approved tap is durable and replays the same bytes`)
    // The taps the kill left unanswered: the same tapId now answers what was recorded, or decides it.
    for (const tap of sent.filter(s => s.answer?.status !== 200)) {
      tap.answer = await postSigned(svc.url, tap.terminal.id, tap.terminal.secret, '/v1/taps', tap.body)
    }
    t.ok(sent.every(s => s.answer?.status === 200), `round ${round}: every tap sent has its answer after the restart`)
    const check = await adminCall(svc.url, svc.adminToken, 'GET', '/v1/admin/ledger/check')
    t.equal(check.json.ok, true, `round ${round}: ledger check passes after restart`)
  }
  const toldFen = new Map<string, number>()
  for (const tap of everyTap) {
    if (tap.answer?.json?.decision !== 'approved') continue
    toldFen.set(tap.body.card.cardNo, (toldFen.get(tap.body.card.cardNo) ?? 0) + (tap.answer.json.amount as number))
  }
  let cardsRight = 0
  for (const [cardNo, paidFen] of toldFen) {
    const card = await adminCall(svc.url, svc.adminToken, 'GET', `/v1/admin/cards/${cardNo}`)
    if (card.json.balances.bank === OPENING_FEN - paidFen) cardsRight++
  }
  t.equal(cardsRight, toldFen.size, `each of ${toldFen.size} cards holds its opening balance less what its clients were told`)
  t.equal(await svc.stop(), 0, 'clean stop at the end')
})
