// SIGTERM: stop accepting, commit and answer what is in flight, close the ledger, exit 0.
import t from 'tap'
import Database from 'better-sqlite3'
import { rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { demoSecret } from '../src/service/demo-seed.js'
import { checkLedger } from '../src/ledger/check.js'
import { startService } from './helpers/service.js'
import { postSigned } from './helpers/http-client.js'
import { localAt } from './helpers/app.js'

t.test('SIGTERM with taps in flight: answered ones are committed, exit 0', async t => {
  const svc = await startService({ seed: 'demo' })
  const dbPath = svc.dbPath
  const cards = ['JN0000001', 'JN0000007', 'JN0000008', 'JN0000003', 'QD0000001', 'ZZ0000001']
  const terminals = ['jinan-bus-01', 'qingdao-bus-01', 'zhengzhou-bus-01']
  const answered: Array<{ terminal: string, tapId: string }> = []
  let next = 0
  let refused = 0
  // Eight clients stream taps; SIGTERM lands while some are in flight.
  const worker = async (): Promise<void> => {
    while (refused === 0 && next < 5_000) {
      const i = next++
      const terminal = terminals[i % terminals.length]!
      const body = { tapId: `sd-${i}`, at: localAt(), card: { type: 'physical', cardNo: cards[i % cards.length], issuer: { J: '370100', Q: '370200', Z: '410100' }[cards[i % cards.length]![0]!] } }
      try {
        const answer = await postSigned(svc.url, terminal, demoSecret(terminal), '/v1/taps', body, 5_000)
        if (answer.status === 200) answered.push({ terminal, tapId: body.tapId })
        else if (answer.status === 503) refused++
      } catch { refused++ }
    }
  }
  const workers = Array.from({ length: 8 }, worker)
  while (answered.length < 50) await new Promise(resolve => setTimeout(resolve, 2))
  svc.child.kill('SIGTERM')
  await Promise.all(workers)
  const results = answered
  t.ok(results.length >= 50, `${results.length} taps answered before and during shutdown`)
  const exitCode = await new Promise<number | null>(resolve => {
    if (svc.child.exitCode !== null) resolve(svc.child.exitCode)
    else svc.child.once('exit', code => resolve(code))
  })
  t.equal(exitCode, 0, 'exits 0'); if (exitCode !== 0) t.comment(svc.output().slice(-3000))
  t.match(svc.output(), /listening on/)
  const db = new Database(dbPath, { readonly: true })
  const recorded = db.prepare('SELECT COUNT(*) FROM taps WHERE terminal_id = ? AND tap_id = ?').pluck()
  t.ok(results.every(r => recorded.get(r.terminal, r.tapId) === 1), `all ${results.length} answered taps are in the ledger`)
  t.ok(checkLedger(db).ok, 'ledger check passes')
  db.close()
  rmSync(dirname(dbPath), { recursive: true, force: true })
})
