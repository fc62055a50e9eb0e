// SIGTERM: stop accepting, commit and answer what is in flight, close the ledger, exit 0.
// Every request is classified by what the client saw: an HTTP answer, a refused connection (the
// listener is closed: the request was never sent), or a connection dropped without an answer.
// The property: no tap is recorded in the ledger without its client having seen the answer, and
// no request that reached the service is dropped unanswered.
import t from 'tap'
import { request } from 'node:http'
import { rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { signedHeaders } from '../src/auth/signature.js'
import { demoSecret } from '../src/service/demo-seed.js'
import { checkStoredLedger, queryStoredLedger } from './helpers/engine.js'
import { startService } from './helpers/service.js'
import { localAt } from './helpers/app.js'

type Outcome = { kind: 'answered', status: number, body: string } | { kind: 'refused' } | { kind: 'dropped', code: string }

/** One request on its own connection (no keep-alive: an idle-close race is not what is tested). */
function postOnce (baseUrl: string, terminal: string, body: unknown): Promise<Outcome> {
  const url = new URL('/v1/taps', baseUrl)
  const payload = JSON.stringify(body)
  const headers = { ...signedHeaders({ terminalId: terminal, secret: demoSecret(terminal), method: 'POST', path: '/v1/taps', body: payload }), 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }
  return new Promise(resolve => {
    let connected = false
    const req = request({ host: url.hostname, port: url.port, path: '/v1/taps', method: 'POST', headers, agent: false, timeout: 10_000 }, res => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', d => { text += d })
      res.on('end', () => resolve({ kind: 'answered', status: res.statusCode ?? 0, body: text }))
      res.on('error', e => resolve({ kind: 'dropped', code: (e as NodeJS.ErrnoException).code ?? e.message }))
    })
    req.on('socket', s => s.on('connect', () => { connected = true }))
    req.on('timeout', () => req.destroy(new Error('TIMEOUT')))
    req.on('error', e => {
      const code = (e as NodeJS.ErrnoException).code ?? e.message
      resolve(!connected && code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'dropped', code })
    })
    req.end(payload)
  })
}

t.test('SIGTERM with taps in flight: every tap that reached the service got its real answer, exit 0', async t => {
  const svc = await startService({ seed: 'demo', t })
  const dbPath = svc.dbPath
  const stored = { dbPath, databaseUrl: svc.databaseUrl }
  const cards = ['JN0000001', 'JN0000007', 'JN0000008', 'JN0000003', 'QD0000001', 'ZZ0000001']
  const terminals = ['jinan-bus-01', 'qingdao-bus-01', 'zhengzhou-bus-01']
  const issuer: Record<string, string> = { J: '370100', Q: '370200', Z: '410100' }
  const results: Array<{ terminal: string, tapId: string, outcome: Outcome }> = []
  let next = 0
  let closed = false
  // Eight clients stream taps; SIGTERM lands while some are in flight. A client stops once the
  // service refuses it (connection refused, or 503 while closing).
  const worker = async (): Promise<void> => {
    while (!closed && next < 5_000) {
      const i = next++
      const terminal = terminals[i % terminals.length]!
      const cardNo = cards[i % cards.length]!
      const body = { tapId: `sd-${i}`, at: localAt(), card: { type: 'physical', cardNo, issuer: issuer[cardNo[0]!] } }
      const outcome = await postOnce(svc.url, terminal, body)
      results.push({ terminal, tapId: body.tapId, outcome })
      if (outcome.kind !== 'answered' || outcome.status === 503) closed = true
    }
  }
  const workers = Array.from({ length: 8 }, worker)
  while (results.length < 50) await new Promise(resolve => setTimeout(resolve, 2))
  svc.child.kill('SIGTERM')
  await Promise.all(workers)
  const exitCode = await new Promise<number | null>(resolve => {
    if (svc.child.exitCode !== null) resolve(svc.child.exitCode)
    else svc.child.once('exit', code => resolve(code))
  })
  t.equal(exitCode, 0, 'exits 0'); if (exitCode !== 0) t.comment(svc.output().slice(-3000))

  const answered = results.filter(r => r.outcome.kind === 'answered' && r.outcome.status === 200)
  const closing = results.filter(r => r.outcome.kind === 'answered' && r.outcome.status !== 200)
  const refused = results.filter(r => r.outcome.kind === 'refused')
  const dropped = results.filter(r => r.outcome.kind === 'dropped')
  t.comment(`${answered.length} answered 200, ${closing.length} other answers, ${refused.length} refused at connect, ${dropped.length} dropped`)
  t.ok(answered.length >= 50, `${answered.length} taps answered before and during shutdown`)
  t.ok(answered.every(r => r.outcome.kind === 'answered' && JSON.parse(r.outcome.body).tapId === r.tapId), 'every 200 is a real tap answer')
  for (const r of [...closing.filter(c => c.outcome.kind === 'answered' && c.outcome.status !== 503), ...dropped].slice(0, 5)) t.comment(`unexpected: ${JSON.stringify(r.outcome).slice(0, 300)}`)
  t.ok(closing.every(r => r.outcome.kind === 'answered' && r.outcome.status === 503 && JSON.parse(r.outcome.body).error.code !== undefined), 'other answers are 503 with the error body')

  const recorded = new Set((await queryStoredLedger(stored, "SELECT terminal_id || '/' || tap_id AS k FROM taps WHERE tap_id LIKE 'sd-%'")).map(row => row.k as string))
  t.ok(answered.every(r => recorded.has(`${r.terminal}/${r.tapId}`)), `all ${answered.length} answered taps are in the ledger`)
  const recordedUnanswered = [...recorded].filter(k => !answered.some(r => `${r.terminal}/${r.tapId}` === k))
  t.same(recordedUnanswered, [], 'no tap is in the ledger whose client did not get the answer')
  t.same(dropped.map(r => `${r.tapId}: ${r.outcome.kind === 'dropped' ? r.outcome.code : ''}`), [], 'no request was dropped without an answer')
  t.ok((await checkStoredLedger(stored)).ok, 'ledger check passes')
  rmSync(dirname(dbPath), { recursive: true, force: true })
})
