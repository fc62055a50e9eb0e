// Crash safety: the service runs as a child process under a stream of taps and is SIGKILLed
// mid-stream, twice. After each restart on the same file, every `approved` a client received is
// in the ledger (a replay of the same tap answers the same bytes), and the ledger check passes.
import t from 'tap'
import Database from 'better-sqlite3'
import { rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { checkLedger } from '../../src/ledger/check.js'
import { startService, type RunningService } from '../helpers/service.js'
import { adminCall, postSigned, type HttpAnswer } from '../helpers/http-client.js'
import { localAt } from '../helpers/app.js'

const CARDS = 401 // coprime with TERMINALS: a (card, terminal) pair repeats only every 3,208 taps
const TERMINALS = 8
const IN_FLIGHT = 16
const STREAM_MS = 1_200
const ROUNDS = 2

interface SentTap { terminal: { id: string, secret: string }, body: unknown, answer: HttpAnswer }

async function setUp (svc: RunningService): Promise<Array<{ id: string, secret: string }>> {
  for (let i = 0; i < CARDS; i++) {
    const r = await adminCall(svc.url, svc.adminToken, 'POST', '/v1/admin/cards', { cardNo: `K${String(i).padStart(8, '0')}`, issuer: '370200', accounts: { bank: 1_000_000 } })
    if (r.status !== 201) throw new Error(`card setup: ${r.status} ${r.body}`)
  }
  const terminals = []
  for (let i = 0; i < TERMINALS; i++) {
    const r = await adminCall(svc.url, svc.adminToken, 'POST', '/v1/admin/terminals', { terminalId: `crash-bus-${i}`, city: 'qingdao', scenario: 'bus', operator: 'qingdao-bus' })
    terminals.push({ id: r.json.terminalId as string, secret: r.json.secret as string })
  }
  return terminals
}

/** Streams taps with IN_FLIGHT concurrency until killed; returns every answer received. */
async function streamUntilKilled (svc: RunningService, terminals: Array<{ id: string, secret: string }>, round: number): Promise<SentTap[]> {
  const received: SentTap[] = []
  let next = 0
  let stop = false
  const worker = async (): Promise<void> => {
    while (!stop) {
      const i = next++
      // Each round starts further along the (card, terminal) cycle: a pair tapped in the previous
      // round would be declined DUPLICATE_TAP, and approvals would then depend on how many taps the
      // previous round managed before its kill.
      const k = i + round * 1_000
      const terminal = terminals[k % TERMINALS]!
      const body = { tapId: `r${round}-${i}`, at: localAt(), card: { type: 'physical', cardNo: `K${String(k % CARDS).padStart(8, '0')}`, issuer: '370200' } }
      try {
        const answer = await postSigned(svc.url, terminal.id, terminal.secret, '/v1/taps', body, 5_000)
        received.push({ terminal, body, answer })
      } catch { /* the process is gone: this tap got no answer, so it promises nothing */ }
    }
  }
  const workers = Array.from({ length: IN_FLIGHT }, worker)
  await new Promise(resolve => setTimeout(resolve, STREAM_MS))
  await svc.kill()
  stop = true
  await Promise.all(workers)
  return received
}

t.test('SIGKILL during a stream of taps loses no approved tap', async t => {
  let svc = await startService({ seed: 'none' })
  const dbPath = svc.dbPath
  t.teardown(() => rmSync(dirname(dbPath), { recursive: true, force: true }))
  const terminals = await setUp(svc)
  for (let round = 0; round < ROUNDS; round++) {
    const received = await streamUntilKilled(svc, terminals, round)
    const approved = received.filter(r => r.answer.status === 200 && r.answer.json?.decision === 'approved')
    t.ok(approved.length > 50, `round ${round}: ${approved.length} approvals received before the kill`)

    const db = new Database(dbPath, { readonly: true })
    const report = checkLedger(db)
    db.close()
    t.same(report.problems, [], `round ${round}: ledger check after the crash`)

    svc = await startService({ seed: 'none', dbPath })
    let replayedSame = 0
    for (const tap of approved) {
      const replay = await postSigned(svc.url, tap.terminal.id, tap.terminal.secret, '/v1/taps', tap.body)
      if (replay.status === 200 && replay.body === tap.answer.body) replayedSame++
    }
    t.equal(replayedSame, approved.length, `round ${round}: every approved tap is durable and replays the same bytes`)
    const check = await adminCall(svc.url, svc.adminToken, 'GET', '/v1/admin/ledger/check')
    t.equal(check.json.ok, true, `round ${round}: ledger check passes after restart`)
  }
  t.equal(await svc.stop(), 0, 'clean stop at the end')
})
