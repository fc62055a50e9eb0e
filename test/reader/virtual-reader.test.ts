import t from 'tap'
import { encodeRequest, Cmd, decodeReply, Status, TextEncoding } from '../../src/reader/protocol.js'
import { cardImage } from '../../terminals/virtual-reader/card-image.js'
import { loadCardSet } from '../../terminals/virtual-reader/card-set.js'
import { parseControl } from '../../terminals/virtual-reader/control.js'
import { ReaderEmulator } from '../../terminals/virtual-reader/reader-emulator.js'
import { VirtualCard } from '../../terminals/virtual-reader/virtual-card.js'

let seq = 0
function ask (emu: ReaderEmulator, cmd: number, data: Buffer = Buffer.alloc(0), s = ++seq): { status: number, data: Buffer } {
  const reply = decodeReply(emu.handle(encodeRequest(s, cmd, data))!)
  return { status: reply.status, data: reply.data }
}

const card = (): VirtualCard => new VirtualCard(cardImage({ cardNo: 'QD0000001', issuer: '370200', expiresOn: '2031-12-31' }))

t.test('POLL reports the card in the field and a waiting QR code', async t => {
  const emu = new ReaderEmulator()
  t.same(ask(emu, Cmd.POLL).data, Buffer.from([0]))
  emu.present(card())
  emu.scanQr(Buffer.from('x'))
  t.same(ask(emu, Cmd.POLL).data, Buffer.from([3]))
  emu.remove()
  t.same(ask(emu, Cmd.POLL).data, Buffer.from([2]))
})

t.test('the card must be reset before APDUs, and be there', async t => {
  const emu = new ReaderEmulator()
  t.equal(ask(emu, Cmd.CARD_RESET).status, Status.NO_CARD)
  t.equal(ask(emu, Cmd.APDU, Buffer.from('00A4020002EF05', 'hex')).status, Status.NO_CARD)
  emu.present(card())
  t.equal(ask(emu, Cmd.APDU, Buffer.from('00A4020002EF05', 'hex')).status, Status.CARD_MUTE, 'not activated yet')
  const atr = ask(emu, Cmd.CARD_RESET)
  t.equal(atr.status, Status.OK)
  t.equal(atr.data[0], 0x3B)
  t.equal(ask(emu, Cmd.APDU, Buffer.from('00A4020002EF05', 'hex')).data.toString('hex'), '6a82', 'SSSE not selected yet')
  t.equal(ask(emu, Cmd.APDU, Buffer.from('00A4', 'hex')).status, Status.BAD_DATA)
  ask(emu, Cmd.CARD_OFF)
  t.equal(ask(emu, Cmd.APDU, Buffer.from('00A4020002EF05', 'hex')).status, Status.CARD_MUTE, 'CARD_OFF deactivates')
})

t.test('QR_READ hands out the last scan once; a resend of the same request gets the same answer', async t => {
  const emu = new ReaderEmulator()
  emu.scanQr(Buffer.from('first'))
  emu.scanQr(Buffer.from('second'))
  const s = ++seq
  t.equal(ask(emu, Cmd.QR_READ, undefined, s).data.toString(), 'second', 'latest scan wins')
  t.equal(ask(emu, Cmd.QR_READ, undefined, s).data.toString(), 'second', 'resend: cached reply')
  t.equal(ask(emu, Cmd.QR_READ).status, Status.NO_QR, 'a new request finds nothing')
  t.throws(() => emu.scanQr(Buffer.alloc(513)), RangeError)
})

t.test('the reply cache expires, so a restarted host reusing a SEQ is not answered from it', async t => {
  let now = 1000
  const emu = new ReaderEmulator({ replyCacheMs: 100, now: () => now })
  emu.scanQr(Buffer.from('a'))
  t.equal(ask(emu, Cmd.QR_READ, undefined, 200).status, Status.OK)
  now += 101
  t.equal(ask(emu, Cmd.QR_READ, undefined, 200).status, Status.NO_QR)
})

t.test('DISPLAY decodes UTF-8 and GBK and reports the text; BEEP and LED are reported', async t => {
  const emu = new ReaderEmulator()
  const events: Array<[string, unknown]> = []
  for (const e of ['display', 'beep', 'led']) emu.on(e, (x: unknown) => events.push([e, x]))
  t.equal(ask(emu, Cmd.DISPLAY, Buffer.concat([Buffer.from([TextEncoding.UTF8]), Buffer.from('请刷卡\nTap')])).status, Status.OK)
  t.equal(ask(emu, Cmd.DISPLAY, Buffer.from('01C9E7BBE1B1A3D5CF', 'hex')).status, Status.OK)
  t.equal(ask(emu, Cmd.DISPLAY, Buffer.from('00FF', 'hex')).status, Status.BAD_DATA, 'not UTF-8')
  t.equal(ask(emu, Cmd.DISPLAY, Buffer.from('0241', 'hex')).status, Status.BAD_DATA, 'unknown encoding')
  t.equal(ask(emu, Cmd.DISPLAY, Buffer.concat([Buffer.from([0]), Buffer.alloc(193, 0x41)])).status, Status.BAD_DATA, 'too long')
  ask(emu, Cmd.BEEP, Buffer.from([2, 10, 5]))
  ask(emu, Cmd.LED, Buffer.from([0x02, 10]))
  t.same(events, [
    ['display', { text: '请刷卡\nTap', encoding: 'utf-8' }],
    ['display', { text: '社会保障', encoding: 'gbk' }],
    ['beep', { count: 2, onMs: 100, offMs: 50 }],
    ['led', { red: false, green: true, yellow: false, durationMs: 1000 }]
  ])
  t.equal(ask(emu, Cmd.BEEP, Buffer.from([0, 1, 1])).status, Status.BAD_DATA)
  t.equal(ask(emu, 0x55).status, Status.UNKNOWN_COMMAND)
})

t.test('control lines', async t => {
  t.same(parseControl('tap JN0000001'), { op: 'tap', cardNo: 'JN0000001' })
  t.same(parseControl('tap AB1234567 410100 2030-01-01'), { op: 'tap', cardNo: 'AB1234567', issuer: '410100', expiresOn: '2030-01-01' })
  t.same(parseControl('qr ykt1.a b.c\n'), { op: 'qr', payload: 'ykt1.a b.c' }, 'payload verbatim, spaces kept')
  t.same(parseControl('unplug 250'), { op: 'unplug', ms: 250 })
  t.same(parseControl('silent'), { op: 'silent', ms: 1000 })
  t.same(parseControl('remove'), { op: 'remove' })
  t.equal(parseControl('   '), null)
  t.match(parseControl('unplug 999999'), { op: 'invalid' })
  t.match(parseControl('tap X 1'), { op: 'invalid' })
  t.match(parseControl('fly'), { op: 'invalid' })
  t.match(parseControl('qr'), { op: 'invalid' })
})

t.test('the demo card set builds a card image for every demo card', async t => {
  const cards = loadCardSet(new URL('../../fixtures/demo.json', import.meta.url).pathname)
  t.ok(cards.size >= 27)
  for (const facts of cards.values()) t.doesNotThrow(() => cardImage(facts), facts.cardNo)
})
