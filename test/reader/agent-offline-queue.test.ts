// The offline queue's durability and bounds (terminals/agent/offline-queue.ts, agent-db.ts).
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openAgentDb } from '../../terminals/agent/agent-db.js'
import { OfflineQueue, type QueueInput } from '../../terminals/agent/offline-queue.js'
import { CardRisk } from '../../terminals/agent/offline-risk.js'

function tempPath (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ykt-agent-q-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'agent.db')
}

function input (n: number, atMs = 1_780_000_000_000 + n): QueueInput {
  return { tapId: `t-${n}`, atMs, body: Buffer.from(`{"tapId":"t-${n}","offline":true}`), cardToken: 'c:x', riskToken: null, riskAmountFen: 0 }
}

t.test('a queued tap survives kill -9 of the process that queued it', async t => {
  const path = tempPath(t)
  const body = '{"tapId":"crash-1","at":"2026-07-01T08:15:30.123+08:00","card":{"type":"physical","cardNo":"JN0000001","issuer":"370100"},"context":{},"offline":true}'
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./helpers/queue-child.ts', import.meta.url)), path, 'crash-1', body], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<NodeJS.Signals | null>(resolve => child.on('exit', (_code, signal) => resolve(signal)))
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); if (out.includes('queued')) resolve() })
    child.on('exit', () => reject(new Error('child exited before queueing')))
  })
  child.kill('SIGKILL')
  t.equal(await exited, 'SIGKILL')
  const queue = new OfflineQueue(openAgentDb(path), 100)
  t.teardown(() => queue.db.close())
  t.equal(queue.depth, 1)
  t.equal(queue.get('crash-1')?.body.toString('utf8'), body, 'the exact bytes came back')
})

t.test('the file is 0600, WAL, synchronous=FULL', async t => {
  const path = tempPath(t)
  const db = openAgentDb(path)
  t.teardown(() => db.close())
  t.equal(statSync(path).mode & 0o777, 0o600)
  t.equal(db.pragma('journal_mode', { simple: true }), 'wal')
  t.equal(db.pragma('synchronous', { simple: true }), 2, 'FULL')
  new OfflineQueue(db, 10).enqueue(input(1))
  t.equal(statSync(`${path}-wal`).mode & 0o777, 0o600, 'the WAL file takes the database\'s mode')
})

t.test('bounded: a full queue refuses, keeps what it has; the same tapId is kept once', async t => {
  const db = openAgentDb(tempPath(t))
  t.teardown(() => db.close())
  const queue = new OfflineQueue(db, 3)
  t.ok(queue.enqueue(input(1)))
  t.ok(queue.enqueue(input(1)), 'a retried enqueue of the same tap is harmless')
  t.ok(queue.enqueue(input(2)))
  t.ok(queue.enqueue(input(3)))
  t.equal(queue.depth, 3)
  t.ok(queue.full)
  t.notOk(queue.enqueue(input(4)), 'full: refused, not dropped from the other end')
  t.same(queue.due(Number.MAX_SAFE_INTEGER, 10).map(r => r.tapId), ['t-1', 't-2', 't-3'])
})

t.test('due: oldest at first, whatever the arrival order; failed rows wait; dead letters keep the bytes', async t => {
  let now = 1000
  const db = openAgentDb(tempPath(t))
  t.teardown(() => db.close())
  const queue = new OfflineQueue(db, 100, () => now)
  queue.enqueue(input(3, 300))
  queue.enqueue(input(1, 100))
  queue.enqueue(input(2, 200))
  t.same(queue.due(now, 2).map(r => r.tapId), ['t-1', 't-2'])
  t.equal(queue.oldestAtMs, 100)
  queue.failed('t-1', 5000, '503 BUSY')
  t.same(queue.due(now, 10).map(r => r.tapId), ['t-2', 't-3'])
  t.equal(queue.get('t-1')?.attempts, 1)
  now = 5000
  t.same(queue.due(now, 10).map(r => r.tapId), ['t-1', 't-2', 't-3'])
  queue.toDeadLetter('t-2', 'REFUSED', 400, 'TAP_INVALID')
  t.equal(queue.depth, 2)
  t.same(queue.deadLetters().map(d => [d.tapId, d.reason, d.status, d.code, d.body.toString()]), [['t-2', 'REFUSED', 400, 'TAP_INVALID', input(2).body.toString()]])
})

t.test('card usage: counted by token, reset on an online answer to what is still queued', async t => {
  const db = openAgentDb(tempPath(t))
  t.teardown(() => db.close())
  const risk = new CardRisk(db)
  const limit = { countMax: 2, amountFenMax: 500, estimateFen: 200 }
  t.ok(risk.allows('tok', 200, limit))
  risk.record('tok', 200, 1)
  risk.record('tok', 200, 2)
  t.same(risk.use('tok'), { count: 2, amountFen: 400 })
  t.notOk(risk.allows('tok', 0, limit), 'count limit')
  t.notOk(new CardRisk(db).allows('tok', 200, { ...limit, countMax: 5 }), 'amount limit')
  risk.resetOnline('tok', { count: 1, amountFen: 200 })
  t.same(risk.use('tok'), { count: 1, amountFen: 200 })
  risk.resetOnline('tok', { count: 0, amountFen: 0 })
  t.same(risk.use('tok'), { count: 0, amountFen: 0 })
  const cols = db.prepare('SELECT token FROM card_risk').all()
  t.same(cols, [])
})
