// The terminal SDK against the real service: signed calls, idempotent retries with the same tapId
// and bytes (a 503 then success charges once), timeouts, the offline seam (kept, then uploaded by
// batch as the same tap), the example run against a listening app, and generated types current.
import t from 'tap'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { contractTypes } from '../../terminals/sdk/generate-types.js'
import { MemoryOfflineStore, TerminalClient } from '../../terminals/sdk/terminal-client.js'
import { buildTestApp, localAt, physical, tapId } from '../helpers/app.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const noSleep = async (): Promise<void> => {}

t.test('contract-types.ts is generated from schemas/ and current', async t => {
  t.equal(await contractTypes(), readFileSync(join(ROOT, 'terminals', 'sdk', 'contract-types.ts'), 'utf8'), 'npm run sdk:types rewrites it')
})

t.test('signed calls, and a retry after 503 sends the same bytes and charges once', async t => {
  const h = await buildTestApp(t)
  const base = await h.app.listen({ port: 0, host: '127.0.0.1' })
  const sent: Array<{ url: string, body: string | undefined, timestamp: string }> = []
  let failNext = 0
  const flaky: typeof fetch = async (input, init) => {
    sent.push({ url: String(input), body: init?.body as string | undefined, timestamp: (init?.headers as Record<string, string>)['x-timestamp']! })
    const answer = await fetch(input, init)
    // The service did record the first attempt; the terminal just never saw the answer.
    if (failNext-- > 0) return new Response('{"error":{"code":"OVERLOADED","message":"busy"}}', { status: 503 })
    return answer
  }
  let clock = 0
  const client = new TerminalClient({ baseUrl: base, terminalId: 'jinan-bus-01', secret: 'demo-secret-jinan-bus-01', fetch: flaky, sleep: noSleep, nowMs: () => Date.now() + (clock += 1) })
  const me = await client.me()
  t.match(me, { kind: 'ok', body: { terminalId: 'jinan-bus-01', scenario: 'bus' } })
  t.notOk('secret' in (me.kind === 'ok' ? me.body : {}), 'no secret in /me')
  const before = (await h.admin('GET', '/v1/admin/cards/JN0000001')).json.balances.bank
  sent.length = 0
  failNext = 1
  const result = await client.tap({ tapId: tapId('sdk'), at: localAt(), card: physical('JN0000001', '370100') })
  t.match(result, { kind: 'decision', attempts: 2, answer: { decision: 'approved' } })
  t.equal(sent.length, 2)
  t.equal(sent[0]!.body, sent[1]!.body, 'the retry sent the same bytes')
  t.not(sent[0]!.timestamp, sent[1]!.timestamp, 'each attempt signed afresh')
  const after = (await h.admin('GET', '/v1/admin/cards/JN0000001')).json.balances.bank
  t.equal(before - after, result.kind === 'decision' ? result.answer.amount : -1, 'charged once')
  const wrong = new TerminalClient({ baseUrl: base, terminalId: 'jinan-bus-01', secret: 'nope', sleep: noSleep })
  t.match(await wrong.tap({ tapId: tapId('sdk'), at: localAt(), card: physical('JN0000001', '370100') }), { kind: 'rejected', status: 401, code: 'UNAUTHENTICATED', attempts: 1 }, '4xx is not retried')
})

t.test('timeouts and the offline seam: kept, then uploaded as the same tap', async t => {
  const h = await buildTestApp(t)
  const base = await h.app.listen({ port: 0, host: '127.0.0.1' })
  const hang: typeof fetch = async (_input, init) => await new Promise((_resolve, reject) => {
    init?.signal?.addEventListener('abort', () => reject(Object.assign(new Error('timed out'), { name: 'TimeoutError' })))
  })
  const offline = new MemoryOfflineStore(2)
  const down = new TerminalClient({ baseUrl: base, terminalId: 'qingdao-bus-01', secret: 'demo-secret-qingdao-bus-01', fetch: hang, timeoutMs: 50, attemptsMax: 2, sleep: noSleep, offline })
  const tap = { tapId: tapId('offline'), at: localAt(), card: physical('QD0000001', '370200') }
  const kept = await down.tap(tap)
  t.match(kept, { kind: 'kept-offline', attempts: 2, reason: /no answer within 50 ms/ })
  t.equal(offline.size, 1)
  const unreachable = new TerminalClient({ baseUrl: 'http://127.0.0.1:1', terminalId: 'x', secret: 'y', attemptsMax: 1, sleep: noSleep })
  t.match(await unreachable.me(), { kind: 'unavailable', reason: /cannot reach http:\/\/127\.0\.0\.1:1\/v1\/terminal\/me/ }, 'the error names the URL')

  const up = new TerminalClient({ baseUrl: base, terminalId: 'qingdao-bus-01', secret: 'demo-secret-qingdao-bus-01', sleep: noSleep, offline })
  const drained = await up.drainOffline()
  t.same(drained, { sent: 1, decided: 1, left: 0 })
  const online = await up.tap(tap)
  t.match(online, { kind: 'decision' })
  const taps = (await h.admin('GET', '/v1/admin/cards/QD0000001/taps')).json.taps.filter((x: { tapId: string }) => x.tapId === tap.tapId)
  t.equal(taps.length, 1, 'the offline upload and the online tap are one tap')
  t.ok(offline.keep({ tapId: 'a', body: '{}' }) && offline.keep({ tapId: 'b', body: '{}' }))
  t.notOk(offline.keep({ tapId: 'c', body: '{}' }), 'the store is bounded')
})

t.test('the example runs against a listening service', async t => {
  const h = await buildTestApp(t)
  const base = await h.app.listen({ port: 0, host: '127.0.0.1' })
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(ROOT, 'terminals', 'sdk', 'example.ts'), '--url', base], { cwd: ROOT, timeout: 60_000 })
  t.match(stdout, /terminal qingdao-bus-01: bus in qingdao/)
  t.match(stdout, /"kind":"decision"/)
  t.match(stdout, /same tap again: approved/)
})
