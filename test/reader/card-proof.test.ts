// The card's proof of presence through the reader stack: virtual card (key + ATC) → GENERATE AC
// over the serial protocol → agent → the tap's card carries atc + cryptogram that the service-side
// verifier accepts; a replay of the same proof, or a clone with its own counter, does not pass.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { deriveCardKey, verifyCardProof, type CardAuthKeys } from '../../src/cards/card-auth.js'
import { readCardProof, decodeProofRequest, encodeProofRequest, generateAcCommand } from '../../src/reader/card-proof.js'
import { ReaderDriver } from '../../src/reader/driver.js'
import { readPhysicalCard } from '../../src/reader/physical-card.js'
import { ReaderCommands } from '../../src/reader/reader-commands.js'
import { TerminalAgent } from '../../terminals/agent/agent-loop.js'
import { MemoryPendingTaps } from '../../terminals/agent/pending-taps.js'
import { tapIdSource } from '../../terminals/agent/tap-id.js'
import { tapPoster } from '../../terminals/agent/tap-client.js'
import { OnlineTapSink } from '../../terminals/agent/tap-sink.js'
import { cardImage } from '../../terminals/virtual-reader/card-image.js'
import { ReaderEmulator, type DisplayEvent } from '../../terminals/virtual-reader/reader-emulator.js'
import { VirtualCard } from '../../terminals/virtual-reader/virtual-card.js'
import { approved, fakeService } from './helpers/fake-service.js'
import { emulatorDevice, mockLine } from './helpers/mock-line.js'

const JN1 = { cardNo: 'JN0000001', issuer: '370100', expiresOn: '2031-12-31' }
const imk = randomBytes(16)
const issuerKeys: CardAuthKeys = new Map([['370100', { keyId: 'jn-ac-test', masterKey: imk }]])
const cardKey = deriveCardKey(imk, JN1.cardNo, JN1.issuer)
const fields = { terminalId: 'jn-gate-1', tapId: 'jn-gate-1-x-1', at: '2026-07-01T08:15:30.123+08:00', amount: null }

/** The card straight on an APDU transport, as the reader passes APDUs through. */
function transport (card: VirtualCard): { resetCard: () => Promise<Buffer>, apdu: (c: Uint8Array) => Promise<Buffer> } {
  return { resetCard: async () => card.reset(), apdu: async c => card.transmit(Buffer.from(c)) }
}

t.test('GENERATE AC: the card raises its counter and signs the tap; the service verifies it', async t => {
  const saved: number[] = []
  const card = new VirtualCard(cardImage(JN1), { auth: { cardKey, atc: 41, onAtc: atc => saved.push(atc) } })
  const port = transport(card)
  await readPhysicalCard(port)
  const first = await readCardProof(port, fields)
  const second = await readCardProof(port, { ...fields, tapId: 'jn-gate-1-x-2' })
  t.same([first?.atc, second?.atc, saved], [42, 43, [42, 43]], 'the counter rises and is handed out to be kept')
  t.same(verifyCardProof({ card: JN1, atc: first!.atc, cryptogram: first!.cryptogram, tapFields: fields, issuerKeys, lastAtc: 41 }), { ok: true, atc: 42 })
  t.same(verifyCardProof({ card: JN1, atc: first!.atc, cryptogram: first!.cryptogram, tapFields: fields, issuerKeys, lastAtc: 42 }),
    { ok: false, reason: 'CARD_AUTH_FAILED', why: 'ATC_NOT_RISING' }, 'the same proof again')
})

t.test('attack: a clone (same key, its own counter) is caught once the original has moved on', async t => {
  const original = transport(new VirtualCard(cardImage(JN1), { auth: { cardKey, atc: 0 } }))
  const clone = transport(new VirtualCard(cardImage(JN1), { auth: { cardKey, atc: 0 } }))
  await readPhysicalCard(original); await readPhysicalCard(clone)
  let lastAtc: number | null = null
  for (let i = 1; i <= 3; i++) {
    const p = (await readCardProof(original, { ...fields, tapId: `o-${i}` }))!
    const v = verifyCardProof({ card: JN1, ...p, tapFields: { ...fields, tapId: `o-${i}` }, issuerKeys, lastAtc })
    t.ok(v.ok, `original tap ${i}`)
    if (v.ok) lastAtc = v.atc
  }
  const c = (await readCardProof(clone, { ...fields, tapId: 'c-1' }))!
  t.same(verifyCardProof({ card: JN1, ...c, tapFields: { ...fields, tapId: 'c-1' }, issuerKeys, lastAtc }), { ok: false, reason: 'CARD_AUTH_FAILED', why: 'ATC_NOT_RISING' })
})

t.test('the card protocol: bounds and refusals', async t => {
  const card = new VirtualCard(cardImage(JN1), { auth: { cardKey, atc: 65535 } })
  t.same(decodeProofRequest(encodeProofRequest({ ...fields, amount: 1234 })), { ...fields, amount: 1234 }, 'round trip')
  t.equal(decodeProofRequest(Buffer.from([3, 0x41])), null, 'a field longer than the data')
  t.throws(() => encodeProofRequest({ ...fields, tapId: 'x'.repeat(65) }), { code: 'READER_BAD_DATA' })
  t.equal(card.transmit(generateAcCommand(fields)).toString('hex'), '6985', 'before SSSE is selected')
  const port = transport(card)
  await readPhysicalCard(port)
  await t.rejects(readCardProof(port, fields), { code: 'CARD_CONDITIONS_NOT_SATISFIED' }, 'a card whose counter ran out is blocked')
  const legacy = transport(new VirtualCard(cardImage(JN1)))
  await readPhysicalCard(legacy)
  t.equal(await readCardProof(legacy, fields), null, 'a card without the function: no proof, no error')
})

t.test('the agent sends atc + cryptogram over the serial stack, a fresh one per tap', async t => {
  const emu = new ReaderEmulator()
  const displays: string[] = []
  emu.on('display', (e: DisplayEvent) => displays.push(e.text))
  const line = mockLine(emulatorDevice(emu))
  const svc = await fakeService('s', s => ({ status: 200, body: approved(s.tapId) }))
  const driver = new ReaderDriver({ path: line.path, baudRate: 115200, openPort: line.openPort })
  const noop = (): void => {}
  const log = { debug: noop, info: noop, warn: noop, error: noop }
  const store = new MemoryPendingTaps()
  const sink = new OnlineTapSink(tapPoster({ serviceUrl: svc.url, terminalId: 'jn-gate-1', secret: 's', budgetMs: 500 }), store,
    { attemptsWhileWaitingMax: 2, attemptsMax: 6, retryDelayMs: 10, backgroundDelayMsMax: 50 }, log)
  const agent = new TerminalAgent({
    driver, reader: new ReaderCommands(driver), sink, store, log, nextTapId: tapIdSource('jn-gate-1'), terminalId: 'jn-gate-1',
    tokenKey: 's', context: {},
    tuning: { pollIntervalMs: 5, repeatIgnoreMs: 0, pendingReuseMs: 60_000, decisionHoldMs: 0, removalReminderMs: 10_000, connectWaitMs: 1000, pendingRetryIntervalMs: 30, utcOffsetMinutes: 480, readFull: false }
  })
  const running = agent.run()
  t.teardown(async () => { await agent.stop(); await running.catch(() => {}); await svc.close() })
  const until = async (cond: () => boolean): Promise<void> => { while (!cond()) await new Promise(resolve => setTimeout(resolve, 5)) }
  let lastAtc: number | null = null
  for (let i = 1; i <= 2; i++) {
    emu.present(new VirtualCard(cardImage(JN1), { auth: { cardKey, atc: 6 + i - 1 } }))
    await until(() => svc.taps.length >= i)
    const body = svc.taps[i - 1]!.body as { tapId: string, at: string, card: { cardNo: string, issuer: string, atc: number, cryptogram: string } }
    t.match(body.card, { type: 'physical', cardNo: 'JN0000001', issuer: '370100', atc: 6 + i, cryptogram: /^[0-9a-f]{16}$/ }, `tap ${i} carries the proof`)
    const v = verifyCardProof({ card: body.card, atc: body.card.atc, cryptogram: body.card.cryptogram, tapFields: { terminalId: 'jn-gate-1', tapId: body.tapId, at: body.at }, issuerKeys, lastAtc })
    t.same(v, { ok: true, atc: 6 + i }, `tap ${i} verifies`)
    if (v.ok) lastAtc = v.atc
    emu.remove()
    await until(() => displays.filter(d => /请刷卡/.test(d)).length > i)
  }
})
