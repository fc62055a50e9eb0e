import t, { type Test } from 'tap'
import { DEFAULT_TIMEOUTS_MS, ReaderDriver, type DriverOptions } from '../../src/reader/driver.js'
import { isReaderError } from '../../src/reader/errors.js'
import { encodeFrame, wireMs } from '../../src/reader/frame.js'
import { Cmd, encodeReply, Status } from '../../src/reader/protocol.js'
import { ReaderCommands } from '../../src/reader/reader-commands.js'
import { ReaderEmulator } from '../../terminals/virtual-reader/reader-emulator.js'
import { emulatorDevice, mockLine, type Device, type MockLine } from './helpers/mock-line.js'
import { ManualTimers, settle } from '../helpers/manual-timers.js'

const FAST: Partial<DriverOptions> = {
  baudRate: 115200,
  timeoutsMs: { POLL: 30, INFO: 30, APDU: 30, DISPLAY: 30, QR_READ: 30 },
  reconnectDelayMsMin: 10,
  reconnectDelayMsMax: 40,
  reconnectJitterRatio: 0
}

async function connected (t: Test, line: MockLine, opts: Partial<DriverOptions> = {}): Promise<ReaderDriver> {
  const driver = new ReaderDriver({ path: line.path, baudRate: 115200, openPort: line.openPort, ...FAST, ...opts })
  t.teardown(() => driver.close())
  driver.start()
  await driver.whenConnected(1000)
  return driver
}

function once<T> (emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise(resolve => emitter.once(event, resolve))
}

t.test('request and reply through a mock serial port', async t => {
  const emu = new ReaderEmulator()
  const line = mockLine(emulatorDevice(emu))
  const reader = new ReaderCommands(await connected(t, line))
  t.match(await reader.info(), /virtual reader/)
  t.same(await reader.poll(), { card: false, qr: false })
  emu.scanQr(Buffer.from('QR-PAYLOAD'))
  t.same(await reader.poll(), { card: false, qr: true })
  t.equal((await reader.readQr())?.toString(), 'QR-PAYLOAD')
  t.equal(await reader.readQr(), null, 'READER_NO_QR becomes null')
  const seqs = line.requests.map(r => r.seq)
  t.same(seqs, seqs.map((_, i) => (seqs[0]! + i) & 0xff), 'each new request takes the next SEQ')
})

t.test('replies arriving one byte at a time behind line noise are still matched', async t => {
  const emu = new ReaderEmulator()
  const line = mockLine(body => {
    const frame = encodeFrame(emu.handle(body)!)
    // Noise (with a false STX) ahead of the frame, then the frame one byte per chunk.
    const raw: Buffer[] = [Buffer.from([0xAA, 0x02, 0x00, 0x55])]
    for (const byte of frame) raw.push(Buffer.from([byte]))
    return { raw }
  })
  // The false STX claims a 0x55-byte body and swallows the reply until the decoder's stall timer
  // (50 ms by default) gives up on it; request timeouts must outlast that, as the defaults do.
  const reader = new ReaderCommands(await connected(t, line, { timeoutsMs: { POLL: 80, INFO: 80 } }))
  t.same(await reader.poll(), { card: false, qr: false })
  t.match(await reader.info(), /virtual reader/)
  t.equal(line.requests.length, 2, 'no resend was needed')
  t.ok(Math.min(...Object.values(DEFAULT_TIMEOUTS_MS)) > 50, 'every default timeout outlasts the default stall time')
})

t.test('a corrupted reply is resent under the same SEQ and answered from the reader cache', async t => {
  const emu = new ReaderEmulator()
  let resends = 0
  emu.on('resend', () => resends++)
  let n = 0
  const line = mockLine(body => {
    const reply = encodeFrame(emu.handle(body)!)
    if (n++ === 0) reply[reply.length - 1] = reply.at(-1)! ^ 0xff
    return { raw: [reply] }
  })
  const driver = await connected(t, line)
  const retries: unknown[] = []
  driver.on('retry', e => retries.push(e))
  emu.scanQr(Buffer.from('ONCE'))
  const qr = await new ReaderCommands(driver).readQr()
  t.equal(qr?.toString(), 'ONCE', 'the QR consumed by the lost reply is still delivered')
  t.equal(line.requests.length, 2)
  t.equal(line.requests[0]!.seq, line.requests[1]!.seq, 'same SEQ on the resend')
  t.equal(resends, 1, 'the reader answered the resend without running QR_READ again')
  t.equal(retries.length, 1)
})

t.test('no reply at all: bounded resends, each after its timeout, then READER_TIMEOUT', async t => {
  const line = mockLine(() => null)
  const timers = new ManualTimers()
  const driver = await connected(t, line, { retriesMax: 2, silentFailuresMax: 99, timers })
  let settled: unknown
  void new ReaderCommands(driver).poll().then(v => { settled = v }, e => { settled = e })
  // POLL: 30 ms + the wire time of its 7-byte frame and a 9-byte reply at 115200 baud, rounded up.
  const timeoutMs = Math.ceil(30 + wireMs(7 + 9, 115200))
  for (let attempt = 1; attempt <= 3; attempt++) {
    await settle()
    t.equal(line.requests.length, attempt, `attempt ${attempt} sent`)
    await timers.advance(timeoutMs - 1)
    t.equal(line.requests.length, attempt, `no resend 1 ms before the ${timeoutMs} ms timeout`)
    t.equal(settled, undefined, 'still waiting')
    await timers.advance(1)
  }
  await settle()
  t.ok(isReaderError(settled, 'READER_TIMEOUT'), `got ${(settled as { code?: string }).code}`)
  t.equal(line.requests.length, 3, 'one send and two resends, no more')
})

t.test('stale replies (wrong SEQ) are dropped, the right one completes the request', async t => {
  const emu = new ReaderEmulator()
  const line = mockLine(body => {
    const good = emu.handle(body)!
    const stale = encodeReply((good[0]! - 1) & 0xff, good[1]!, Status.OK, Buffer.from([0x01]))
    return { bodies: [stale, good] }
  })
  const driver = await connected(t, line)
  const stale: unknown[] = []
  driver.on('stale-reply', e => stale.push(e))
  t.same(await new ReaderCommands(driver).poll(), { card: false, qr: false }, 'the stale "card present" is ignored')
  t.equal(stale.length, 1)
})

t.test('status bytes become typed errors', async t => {
  const emu = new ReaderEmulator()
  const line = mockLine(emulatorDevice(emu))
  const driver = await connected(t, line)
  const reader = new ReaderCommands(driver)
  const noCard = await reader.resetCard().catch(e => e)
  t.ok(isReaderError(noCard, 'READER_NO_CARD'))
  t.equal(noCard.status, Status.NO_CARD)
  const unknown = await driver.request(0x7F).catch(e => e)
  t.ok(isReaderError(unknown, 'READER_UNKNOWN_COMMAND'))
  const bad = await driver.request(Cmd.BEEP, Buffer.from([0])).catch(e => e)
  t.ok(isReaderError(bad, 'READER_BAD_DATA'))
})

t.test('one request in flight: the next is written only after the previous reply', async t => {
  const emu = new ReaderEmulator()
  const log: string[] = []
  const line = mockLine(async body => {
    log.push(`req ${body[0]}`)
    await new Promise(resolve => setTimeout(resolve, 10))
    log.push(`reply ${body[0]}`)
    return { bodies: [emu.handle(body)!] }
  })
  const reader = new ReaderCommands(await connected(t, line))
  await Promise.all([reader.poll(), reader.info(), reader.poll()])
  const s = line.requests.map(r => r.seq)
  t.same(log, [`req ${s[0]}`, `reply ${s[0]}`, `req ${s[1]}`, `reply ${s[1]}`, `req ${s[2]}`, `reply ${s[2]}`])
})

t.test('the queue behind the request in flight is bounded', async t => {
  const line = mockLine(() => null)
  const driver = await connected(t, line, { queueLengthMax: 2, silentFailuresMax: 99 })
  const settled = [1, 2, 3, 4].map(() => driver.request(Cmd.POLL).catch(e => e))
  const last = await settled[3]
  t.ok(isReaderError(last, 'READER_QUEUE_FULL'), '1 in flight + 2 queued, the 4th is refused')
  await Promise.all(settled)
})

t.test('unplug: the request in flight fails, reconnect backs off, then works again', async t => {
  const emu = new ReaderEmulator()
  const line = mockLine(async body => {
    if (body[1] === Cmd.INFO) await new Promise(resolve => setTimeout(resolve, 50))
    return { bodies: [emu.handle(body)!] }
  })
  const driver = await connected(t, line)
  const reader = new ReaderCommands(driver)
  const delays: number[] = []
  driver.on('reconnect-scheduled', (e: { delayMs: number }) => delays.push(e.delayMs))
  const inFlight = reader.info().catch(e => e)
  await new Promise(resolve => setTimeout(resolve, 5))
  line.unplug()
  t.ok(isReaderError(await inFlight, 'READER_DISCONNECTED'), 'the pending request is failed, not left hanging')
  t.ok(isReaderError(await reader.poll().catch(e => e), 'READER_DISCONNECTED'), 'new requests fail fast while away')
  await new Promise(resolve => setTimeout(resolve, 120))
  t.equal(driver.state, 'backoff')
  line.replug()
  await once(driver, 'connected')
  t.same(await reader.poll(), { card: false, qr: false }, 'works after the reconnect')
  t.same(delays.slice(0, 3), [10, 20, 40], 'exponential backoff from 10 ms')
  t.ok(delays.every(d => d <= 40), 'capped at reconnectDelayMsMax')
})

t.test('a reader that goes silent is closed and reopened', async t => {
  const emu = new ReaderEmulator()
  let silent = false
  const line = mockLine(body => silent ? null : { bodies: [emu.handle(body)!] })
  const driver = await connected(t, line, { retriesMax: 0, silentFailuresMax: 2 })
  const reader = new ReaderCommands(driver)
  silent = true
  t.ok(isReaderError(await reader.poll().catch(e => e), 'READER_TIMEOUT'))
  const lost = once<{ reason: string }>(driver, 'disconnected')
  t.ok(isReaderError(await reader.poll().catch(e => e), 'READER_TIMEOUT'))
  t.match((await lost).reason, /silent/)
  silent = false
  await once(driver, 'connected')
  t.same(await reader.poll(), { card: false, qr: false })
  t.equal(line.ports.length, 2, 'a fresh port was opened')
})

t.test('reconnecting is bounded: the driver gives up and says so', async t => {
  const line = mockLine(() => null)
  const driver = await connected(t, line, { reconnectAttemptsMax: 3 })
  const gaveUp = once(driver, 'gave-up')
  line.unplug()
  await gaveUp
  t.equal(driver.state, 'gave-up')
  t.ok(isReaderError(await driver.request(Cmd.POLL).catch(e => e), 'READER_GAVE_UP'))
  t.ok(isReaderError(await driver.whenConnected(10).catch(e => e), 'READER_GAVE_UP'))
})

t.test('close() fails what is pending with READER_CLOSED', async t => {
  const line = mockLine(() => null)
  const driver = await connected(t, line)
  const pending = driver.request(Cmd.POLL).catch(e => e)
  await driver.close()
  t.ok(isReaderError(await pending, 'READER_CLOSED'))
  t.ok(isReaderError(await driver.request(Cmd.POLL).catch(e => e), 'READER_CLOSED'))
})

t.test('timeouts include the wire time at the baud rate', async t => {
  const line = mockLine(() => null)
  const timers = new ManualTimers()
  const driver = await connected(t, line, { baudRate: 9600, timeoutsMs: { APDU: 10 }, retriesMax: 0, silentFailuresMax: 99, timers })
  let settled: unknown
  void driver.request(Cmd.APDU, Buffer.alloc(200)).then(v => { settled = v }, e => { settled = e })
  await settle()
  // 10 ms + (207-byte frame + 266-byte reply allowance) × 10 bits / 9600 baud = 502.7 → 503 ms.
  t.same(timers.armedMs, [503], 'one timer, armed for 503 ms')
  await timers.advance(502)
  t.equal(settled, undefined, 'not yet at 502 ms')
  await timers.advance(1)
  t.ok(isReaderError(settled, 'READER_TIMEOUT'), 'timed out at 503 ms')
})
