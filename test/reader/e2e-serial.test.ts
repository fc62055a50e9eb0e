// End to end over a real serial line: socat pty pair ⇄ virtual reader (device end) and terminal
// agent (host end) ⇄ the real service. Not skippable: without socat it fails and says why.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { spawnJson, type JsonChild, type JsonLine } from '../../terminals/lab/json-child.js'
import { startPtyPair } from '../../terminals/lab/pty-pair.js'
import { adminCall } from '../helpers/http-client.js'
import { startService } from '../helpers/service.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const node = (script: string, args: string[]): JsonChild =>
  spawnJson(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT })

const isDisplay = (re: RegExp) => (l: JsonLine): boolean => l.event === 'display' && re.test(String(l.text))
const IDLE = /请刷卡/

t.test('card and QR taps through socat, virtual reader, agent and service', { timeout: 60_000 }, async t => {
  // Stopped last-started first, even when an assertion or a wait fails half-way.
  const cleanups: Array<() => unknown> = []
  t.teardown(async () => {
    for (const stop of cleanups.reverse()) await Promise.resolve().then(stop).catch(() => {})
  })
  const dir = mkdtempSync(join(tmpdir(), 'ykt-e2e-serial-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))

  const pty = await startPtyPair(dir)
  cleanups.push(pty.stop)
  const svc = await startService({ seed: 'demo' })
  cleanups.push(svc.stop)
  const admin = (method: string, path: string, body?: unknown): ReturnType<typeof adminCall> => adminCall(svc.url, svc.adminToken, method, path, body)

  const terminalId = `e2e-bus-${process.pid}`
  const created = await admin('POST', '/v1/admin/terminals', { terminalId, city: 'jinan', scenario: 'bus', operator: 'jinan-bus' })
  t.equal(created.status, 201, `terminal registered${created.status === 201 ? '' : `: ${created.body}`}`)

  const reader = node('terminals/virtual-reader.ts', ['--port', pty.device, '--baud', '115200'])
  cleanups.push(reader.stop)
  await reader.waitFor(l => l.event === 'ready', { what: 'virtual reader ready' })

  const configPath = join(dir, 'terminal.json')
  writeFileSync(configPath, JSON.stringify({
    terminalId, secret: created.json.secret, serviceUrl: svc.url, port: { path: pty.host, baudRate: 115200 }, serviceBudgetMs: 800
  }))
  chmodSync(configPath, 0o600)
  const agent = node('terminals/agent.ts', ['--config', configPath, '--decision-hold-ms', '0'])
  cleanups.push(agent.stop)
  const idle = await reader.waitFor(isDisplay(IDLE), { ms: 10_000, what: 'the agent showing the idle text over the pty' })

  const bank = async (cardNo: string): Promise<number> => (await admin('GET', `/v1/admin/cards/${cardNo}`)).json.balances.bank as number
  const before = { jn: await bank('JN0000001'), qd: await bank('QD0000001') }

  // 1. A physical card: read over APDUs, approved, shown with amount, green LED, one beep.
  reader.send('tap JN0000001')
  const paid = await reader.waitFor(isDisplay(/¥1\.00/), { from: idle.index, what: 'the card decision on the display' })
  t.match(paid.line.text, /¥1\.00 余额¥\d+\.\d\d/)
  await reader.waitFor(l => l.event === 'led' && l.green === true, { from: paid.index, what: 'green LED' })
  await reader.waitFor(l => l.event === 'beep' && l.count === 1, { from: paid.index, what: 'one beep' })
  const cardTap = await agent.waitFor(l => l.msg === 'tap decided', { what: 'agent log of the card tap' })
  t.match(cardTap.line, { decision: 'approved', amount: 100, card: /^c:[0-9a-f]{12}$/ })
  t.ok(Number(cardTap.line.totalMs) < 1000, `card tap took ${String(cardTap.line.totalMs)} ms from detection to display`)
  reader.send('remove')
  const back = await reader.waitFor(isDisplay(IDLE), { from: paid.index + 1, what: 'idle after removal' })

  // 2. A Qingdao holder's electronic card: a QR minted by the issuer, read by the scanner. (Another
  //    holder: the bus declines the same card twice on one bus.)
  const qr = await admin('POST', '/v1/admin/cards/QD0000001/qr', {})
  t.equal(qr.status, 200, `QR minted${qr.status === 200 ? '' : `: ${qr.body}`}`)
  reader.send(`qr ${qr.json.qr as string}`)
  const qrPaid = await reader.waitFor(isDisplay(/¥1\.00/), { from: back.index, what: 'the QR decision on the display' })
  const qrTap = await agent.waitFor(l => l.msg === 'tap decided', { from: cardTap.index + 1, what: 'agent log of the QR tap' })
  t.match(qrTap.line, { decision: 'approved', card: /^q:[0-9a-f]{12}$/ })

  // 3. The reader drops off the line for longer than the driver's retries cover; the agent notices,
  //    reopens its port with backoff and carries on.
  reader.send('unplug 1500')
  await reader.waitFor(l => l.event === 'replugged', { from: qrPaid.index, what: 'reader back on the line' })
  const lost = await agent.waitFor(l => l.msg === 'reader disconnected', { ms: 5000, what: 'agent noticing the silent reader' })
  t.match(lost.line.reason, /silent/)
  await agent.waitFor(l => l.msg === 'reader connected', { from: lost.index, ms: 5000, what: 'agent reconnecting' })
  const idleAgain = await reader.waitFor(isDisplay(IDLE), { from: qrPaid.index + 1, ms: 5000, what: 'idle after the reconnect' })
  reader.send('tap ZZ0000001')
  await reader.waitFor(isDisplay(/¥1\.00/), { from: idleAgain.index, ms: 5000, what: 'a Zhengzhou card paying on a Jinan bus after the reconnect' })

  // The ledger agrees with what the reader showed.
  const tapsOf = async (cardNo: string): Promise<Array<Record<string, unknown>>> =>
    ((await admin('GET', `/v1/admin/cards/${cardNo}/taps`)).json.taps as Array<Record<string, unknown>>).filter(x => x.terminalId === terminalId)
  t.match(await tapsOf('JN0000001'), [{ tapId: cardTap.line.tapId, decision: 'approved', amount: 100 }])
  t.match(await tapsOf('QD0000001'), [{ tapId: qrTap.line.tapId, decision: 'approved', amount: 100 }])
  t.equal((await tapsOf('JN0000001')).length + (await tapsOf('QD0000001')).length, 2, 'one ledger tap per presentation')
  t.equal(await bank('JN0000001'), before.jn - 100, 'the card paid one fare')
  t.equal(await bank('QD0000001'), before.qd - 100, 'the QR holder paid one fare')
  t.notMatch(agent.output(), /JN0000001|QD0000001|ZZ0000001/, 'the agent never logs a card number in clear')
  t.notMatch(agent.output(), new RegExp(qr.json.qr as string), 'nor a QR payload')
})
