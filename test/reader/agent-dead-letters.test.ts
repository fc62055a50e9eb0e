// Dead letters back into the queue (terminals/dead-letters.ts): the incident is a terminal whose
// uploads were refused while it was registered wrongly; once fixed, its taps must reach the service.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { AT_PAST_MS_MAX_UPLOAD } from '../../src/constants.js'
import { openAgentDb } from '../../terminals/agent/agent-db.js'
import { OfflineQueue } from '../../terminals/agent/offline-queue.js'

const run = promisify(execFile)
const CLI = join(import.meta.dirname, '..', '..', 'terminals', 'dead-letters.ts')

function queueAt (t: Test, nowMs: number): { queue: OfflineQueue, path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ykt-dead-'))
  const path = join(dir, 'agent.db')
  const queue = new OfflineQueue(openAgentDb(path), 10, () => nowMs)
  t.teardown(() => { queue.db.close(); rmSync(dir, { recursive: true, force: true }) })
  return { queue, path }
}

function body (tapId: string): Buffer {
  return Buffer.from(JSON.stringify({ tapId, at: '2026-12-06T08:00:00.000+08:00', card: { type: 'physical', cardNo: 'JN0000001', issuer: '370100' }, offline: true }))
}

t.test('a refused tap is requeued with its bytes; an expired or unknown one is not', async t => {
  const nowMs = Date.now()
  const { queue } = queueAt(t, nowMs)
  queue.enqueue({ tapId: 'bus-1', atMs: nowMs - 3_600_000, body: body('bus-1'), cardToken: 'c:1', riskToken: null, riskAmountFen: 0 })
  queue.enqueue({ tapId: 'bus-old', atMs: nowMs - AT_PAST_MS_MAX_UPLOAD - 1, body: body('bus-old'), cardToken: 'c:2', riskToken: null, riskAmountFen: 0 })
  queue.toDeadLetter('bus-1', 'REFUSED', 403, 'FORBIDDEN')
  queue.toDeadLetter('bus-old', 'EXPIRED')
  t.equal(queue.depth, 0)
  t.equal(queue.requeueDeadLetter('bus-1', AT_PAST_MS_MAX_UPLOAD), 'requeued')
  t.equal(queue.get('bus-1')?.body.toString(), body('bus-1').toString(), 'the same bytes: the service replays or decides it once')
  t.equal(queue.get('bus-1')?.attempts, 0, 'from its first attempt')
  t.equal(queue.requeueDeadLetter('bus-old', AT_PAST_MS_MAX_UPLOAD), 'expired', 'past the upload window the service would refuse it again')
  t.equal(queue.requeueDeadLetter('no-such', AT_PAST_MS_MAX_UPLOAD), 'unknown')
  t.equal(queue.deadLetterCount, 1)
})

t.test('the CLI lists dead letters without card numbers and requeues the chosen ones', async t => {
  const nowMs = Date.now()
  const { queue, path } = queueAt(t, nowMs)
  queue.enqueue({ tapId: 'bus-2', atMs: nowMs - 60_000, body: body('bus-2'), cardToken: 'c:2', riskToken: null, riskAmountFen: 0 })
  queue.toDeadLetter('bus-2', 'REFUSED', 403, 'FORBIDDEN')
  const listed = await run(process.execPath, ['--import', 'tsx', CLI, '--queue-file', path])
  t.match(JSON.parse(listed.stdout.trim()), { tapId: 'bus-2', reason: 'REFUSED', status: 403, code: 'FORBIDDEN' })
  t.notMatch(listed.stdout, /JN0000001/, 'no card number')
  const requeued = await run(process.execPath, ['--import', 'tsx', CLI, '--queue-file', path, '--requeue', 'bus-2'])
  t.same(JSON.parse(requeued.stdout.trim()), { tapId: 'bus-2', result: 'requeued' })
  t.equal(queue.depth, 1)
  const missing = await run(process.execPath, ['--import', 'tsx', CLI, '--queue-file', path, '--requeue', 'bus-2']).catch((e: { code: number, stdout: string }) => e)
  t.equal((missing as { code: number }).code, 1, 'not a dead letter any more: exit 1')
})
