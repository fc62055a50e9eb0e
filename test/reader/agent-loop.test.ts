// The agent loop against a virtual reader on a mock serial port and a fake service.
import t, { type Test } from 'tap'
import { ReaderDriver } from '../../src/reader/driver.js'
import { ReaderCommands } from '../../src/reader/reader-commands.js'
import { TerminalAgent, type AgentTuning } from '../../terminals/agent/agent-loop.js'
import { MemoryPendingTaps } from '../../terminals/agent/pending-taps.js'
import { tapIdSource } from '../../terminals/agent/tap-id.js'
import { tapPoster } from '../../terminals/agent/tap-client.js'
import { OnlineTapSink, type SinkLog, type TapSink } from '../../terminals/agent/tap-sink.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { denylistToken } from '../../src/cards/denylist-token.js'
import { DEFAULTS } from '../../terminals/agent/config.js'
import { OfflineMode } from '../../terminals/agent/offline-mode.js'
import { signedCall } from '../../terminals/agent/signed-call.js'
import { cardImage } from '../../terminals/virtual-reader/card-image.js'
import { ReaderEmulator, type DisplayEvent, type LedEvent } from '../../terminals/virtual-reader/reader-emulator.js'
import { VirtualCard } from '../../terminals/virtual-reader/virtual-card.js'
import { approved, declined, fakeService, type Answer, type FakeService } from './helpers/fake-service.js'
import { emulatorDevice, mockLine, type MockLine } from './helpers/mock-line.js'

const SECRET = 'loop-secret'
const JN1 = { cardNo: 'JN0000001', issuer: '370100', expiresOn: '2031-12-31' }

const TUNING: AgentTuning = {
  pollIntervalMs: 5,
  repeatIgnoreMs: 2000,
  pendingReuseMs: 60_000,
  decisionHoldMs: 0,
  removalReminderMs: 10_000,
  connectWaitMs: 1000,
  pendingRetryIntervalMs: 30,
  utcOffsetMinutes: 480,
  readFull: false
}

interface Rig {
  emu: ReaderEmulator
  svc: FakeService
  displays: string[]
  leds: LedEvent[]
  logs: Array<{ msg: string, obj: object }>
  store: MemoryPendingTaps
  line: MockLine
  driver: ReaderDriver
}

type LoopSink = TapSink & { retryPendingOnce: () => Promise<boolean> }

async function rig (t: Test, answer: Answer, opts: { budgetMs?: number, tuning?: Partial<AgentTuning>, sink?: (online: OnlineTapSink, log: SinkLog) => LoopSink } = {}): Promise<Rig> {
  const emu = new ReaderEmulator()
  const displays: string[] = []
  const leds: LedEvent[] = []
  emu.on('display', (e: DisplayEvent) => displays.push(e.text))
  emu.on('led', (e: LedEvent) => leds.push(e))
  const line = mockLine(emulatorDevice(emu))
  const svc = await fakeService(SECRET, answer)
  const driver = new ReaderDriver({ path: line.path, baudRate: 115200, openPort: line.openPort })
  const logs: Array<{ msg: string, obj: object }> = []
  const push = (obj: object, msg: string): void => { logs.push({ obj, msg }) }
  const log = { debug: push, info: push, warn: push, error: push }
  const store = new MemoryPendingTaps()
  const post = tapPoster({ serviceUrl: svc.url, terminalId: 'jn-gate-1', secret: SECRET, budgetMs: opts.budgetMs ?? 500 })
  const online = new OnlineTapSink(post, store, { attemptsWhileWaitingMax: opts.sink === undefined ? 2 : 1, attemptsMax: 6, retryDelayMs: 10, backgroundDelayMsMax: 50, keepUnanswered: opts.sink === undefined }, log)
  const sink = opts.sink?.(online, log) ?? online
  const agent = new TerminalAgent({
    driver, reader: new ReaderCommands(driver), sink, store, log, nextTapId: tapIdSource('jn-gate-1'),
    tokenKey: SECRET, context: { direction: 'in' }, tuning: { ...TUNING, ...opts.tuning }
  })
  const running = agent.run()
  t.teardown(async () => { await agent.stop(); await running.catch(() => {}); await svc.close() })
  await until(() => displays.length > 0, 'idle text shown at start')
  return { emu, svc, displays, leds, logs, store, line, driver }
}

async function until (cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

t.test('a card tap is read, sent signed, and its decision shown; one presentation is one tap', async t => {
  const r = await rig(t, s => ({ status: 200, body: approved(s.tapId, 100, 49_900) }))
  t.match(r.displays[0], /请刷卡/)
  r.emu.present(new VirtualCard(cardImage(JN1)))
  await until(() => r.displays.length >= 2, 'decision shown')
  t.equal(r.displays[1], '刷卡成功\n¥1.00 余额¥499.00')
  await until(() => r.leds.some(l => l.green), 'green LED')
  const sent = r.svc.taps[0]!
  t.ok(sent.signatureOk)
  t.match(sent.body, { card: { type: 'physical', cardNo: 'JN0000001', issuer: '370100' }, context: { direction: 'in' } })
  t.match(sent.body.tapId, /^jn-gate-1-[0-9a-z]+-1$/)
  t.match(sent.body.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$/)
  t.notOk('amount' in sent.body, 'no amount: the bus tariff prices it')
  await sleep(150)
  t.equal(r.svc.taps.length, 1, 'a card left on the reader is not a second tap')
  r.emu.remove()
  await until(() => r.displays.length >= 3, 'back to idle')
  t.match(r.displays[2], /请刷卡/)
  const decided = r.logs.find(l => l.msg === 'tap decided')!.obj as Record<string, unknown>
  t.match(decided, { decision: 'approved', card: /^c:[0-9a-f]{12}$/ })
  for (const k of ['readMs', 'decideMs', 'displayMs', 'totalMs']) t.type(decided[k], 'number', `logs ${k}`)
  t.notMatch(JSON.stringify(r.logs), /JN0000001/, 'no card number in clear in the logs')
})

t.test('a QR code is sent as a qr card; a declined tap shows red', async t => {
  const r = await rig(t, s => ({ status: 200, body: declined(s.tapId, 'QR_EXPIRED') }))
  r.emu.scanQr(Buffer.from('ykt1.demo.payload'))
  await until(() => r.displays.length >= 2, 'decision shown')
  t.same(r.svc.taps[0]?.body.card, { type: 'qr', qr: 'ykt1.demo.payload' })
  t.equal(r.displays[1], '余额不足\nInsufficient funds')
  await until(() => r.leds.some(l => l.red), 'red LED')
})

t.test('the same card bouncing in the field right after a decision is not charged twice', async t => {
  const r = await rig(t, s => ({ status: 200, body: approved(s.tapId) }))
  r.emu.present(new VirtualCard(cardImage(JN1)))
  await until(() => r.displays.length >= 2, 'decision shown')
  r.emu.remove()
  await until(() => r.displays.length >= 3, 'idle')
  r.emu.present(new VirtualCard(cardImage(JN1)))
  await sleep(100)
  t.equal(r.svc.taps.length, 1)
  r.emu.remove()
  await sleep(30)
  r.emu.present(new VirtualCard(cardImage({ ...JN1, cardNo: 'JN0000002' })))
  await until(() => r.svc.taps.length === 2, 'another card is a new tap')
})

t.test('service too slow: "please wait", then "network error"; the tap is kept and reused on re-tap', async t => {
  let up = false
  const r = await rig(t, s => up ? { status: 200, body: approved(s.tapId) } : 'hang', { budgetMs: 80, tuning: { pendingRetryIntervalMs: 60_000 } })
  r.emu.present(new VirtualCard(cardImage(JN1)))
  await until(() => r.displays.some(d => d.includes('网络异常')), 'network error shown')
  t.ok(r.displays.some(d => d.includes('请稍候')), 'a wait message came first')
  t.equal(r.svc.taps.length, 2, 'two attempts while the holder waited')
  t.equal(r.store.size, 1, 'the tap is kept')
  r.emu.remove()
  await until(() => r.displays.at(-1)?.includes('请刷卡') === true, 'idle')
  up = true
  r.emu.present(new VirtualCard(cardImage(JN1)))
  await until(() => r.displays.at(-1)?.startsWith('刷卡成功') === true, 'approved on the re-tap')
  t.equal(r.svc.taps.length, 3)
  t.equal(r.svc.taps[2]?.tapId, r.svc.taps[0]?.tapId, 'same tapId')
  t.same(r.svc.taps[2]?.raw, r.svc.taps[0]?.raw, 'same bytes: the service answers the recorded decision if it had one')
  t.equal(r.store.size, 0)
})

t.test('a kept tap is settled in the background when the holder does not come back', async t => {
  let up = false
  const r = await rig(t, s => up ? { status: 200, body: approved(s.tapId) } : { status: 503, body: { error: { code: 'OVERLOADED', message: '' } } })
  r.emu.present(new VirtualCard(cardImage(JN1)))
  await until(() => r.displays.some(d => d.includes('网络异常')), 'network error shown')
  r.emu.remove()
  up = true
  await until(() => r.logs.some(l => l.msg === 'pending tap decided'), 'settled in the background')
  t.equal(r.store.size, 0)
  t.equal(new Set(r.svc.taps.map(s => s.tapId)).size, 1, 'always the same tap')
})

t.test('a card that cannot be read shows "tap again" and sends nothing', async t => {
  const r = await rig(t, s => ({ status: 200, body: approved(s.tapId) }))
  const image = cardImage(JN1)
  image.records.delete(7)
  r.emu.present(new VirtualCard(image))
  await until(() => r.displays.some(d => d.includes('读卡失败')), 'read failure shown')
  await sleep(50)
  t.equal(r.svc.taps.length, 0)
  t.ok(r.logs.some(l => l.msg === 'card read failed' && (l.obj as { code: string }).code === 'CARD_RECORD_NOT_FOUND'))
})

t.test('a reader that drops out while the card is still in the field does not make a second tap', async t => {
  const r = await rig(t, s => ({ status: 200, body: approved(s.tapId) }), { tuning: { repeatIgnoreMs: 0 } })
  r.emu.present(new VirtualCard(cardImage(JN1)))
  await until(() => r.svc.taps.length === 1 && r.displays.length >= 2, 'first tap decided')
  const back = new Promise(resolve => r.driver.once('connected', resolve))
  r.line.unplug()
  await sleep(30)
  r.line.replug()
  await back
  await until(() => r.displays.at(-1)?.includes('请刷卡') === true, 'idle after the reconnect')
  await sleep(150)
  t.equal(r.svc.taps.length, 1, 'the card still lying there is not read as a new tap')
  r.emu.remove()
  await sleep(30)
  r.emu.present(new VirtualCard(cardImage(JN1)))
  await until(() => r.svc.taps.length === 2, 'taken away and presented again: a new tap')
})

t.test('offline mode: the service does not answer in time, the loop shows the local decision and the tap is queued', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'ykt-loop-off-'))
  let mode: OfflineMode | undefined
  const r = await rig(t, () => 'hang', {
    budgetMs: 100,
    sink: (online, log) => {
      mode = new OfflineMode({ cfg: { ...DEFAULTS.offline, scenario: 'metro', queuePath: join(dir, 'agent.db') }, call: signedCall({ serviceUrl: 'http://127.0.0.1:9', terminalId: 'jn-gate-1', secret: SECRET }), online, log })
      const key = Buffer.alloc(32, 1)
      mode.denylist.apply({ version: 1, full: true, add: [{ token: denylistToken(key, '370100', 'JN0000009'), reason: 'lost' }], remove: [], tokenKey: key.toString('base64url') })
      return mode.sink
    }
  })
  t.teardown(async () => { await mode?.stop(); rmSync(dir, { recursive: true, force: true }) })
  r.emu.present(new VirtualCard(cardImage(JN1)))
  await until(() => r.displays.length >= 2, 'decision shown')
  t.equal(r.displays[1], '离线通过\nApproved offline')
  await until(() => r.leds.some(l => l.green), 'green LED')
  t.equal(mode?.queue.depth, 1)
  const queued = JSON.parse(mode?.queue.due(Number.MAX_SAFE_INTEGER, 1)[0]?.body.toString() ?? '{}') as Record<string, unknown>
  t.match(queued, { tapId: r.svc.taps[0]?.tapId, offline: true, context: { direction: 'in' } })
  await until(() => r.logs.some(l => l.msg === 'tap decided offline'), 'tap logged (after the display, LED and beep)')
  const logged = r.logs.find(l => l.msg === 'tap decided offline')?.obj
  t.match(logged, { decision: 'approved', offline: true, whyOffline: /no answer within 100 ms/ })
  t.notMatch(JSON.stringify(r.logs), /JN0000001/, 'no card number in clear in the logs')
})
