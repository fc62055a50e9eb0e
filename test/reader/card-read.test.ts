import t from 'tap'
import { EF05_ID, readRecord, selectByName, selectEf, SSSE_DF_NAME } from '../../src/reader/apdu.js'
import { CardChannel } from '../../src/reader/card-channel.js'
import { isReaderError } from '../../src/reader/errors.js'
import { readPhysicalCard } from '../../src/reader/physical-card.js'
import { qrCard } from '../../src/reader/presented-card.js'
import { decodeBcdDate, decodeIdentificationCode, encodeIdentificationCode } from '../../src/reader/ssse-records.js'
import { cardImage } from '../../terminals/virtual-reader/card-image.js'
import { VirtualCard } from '../../terminals/virtual-reader/virtual-card.js'

const JN1 = { cardNo: 'JN0000001', issuer: '370100', expiresOn: '2031-12-31' }

/** A card reader port straight onto a VirtualCard, recording the APDUs sent. */
function onCard (card: VirtualCard): { reader: { resetCard: () => Promise<Buffer>, apdu: (c: Uint8Array) => Promise<Buffer> }, sent: string[] } {
  const sent: string[] = []
  return {
    sent,
    reader: {
      resetCard: async () => card.reset(),
      apdu: async c => { sent.push(Buffer.from(c).toString('hex').toUpperCase()); return card.transmit(Buffer.from(c)) }
    }
  }
}

/** A transport answering from a script of response APDUs (hex), recording the commands. */
function scripted (...answers: string[]): { apdu: (c: Uint8Array) => Promise<Buffer>, sent: string[] } {
  const sent: string[] = []
  return {
    sent,
    apdu: async c => {
      sent.push(Buffer.from(c).toString('hex').toUpperCase())
      const next = answers.shift()
      if (next === undefined) throw new Error('script exhausted')
      return Buffer.from(next, 'hex')
    }
  }
}

t.test('the APDUs are the ones the card specification names', async t => {
  t.equal(selectByName(SSSE_DF_NAME).toString('hex').toUpperCase(), '00A404000F7378312E73682EC9E7BBE1B1A3D5CF')
  t.equal(selectEf(EF05_ID).toString('hex').toUpperCase(), '00A4020002EF05')
  t.equal(readRecord(7).toString('hex').toUpperCase(), '00B2070400')
})

t.test('reads a demo card from its EF05 records, following 61xx with GET RESPONSE', async t => {
  const { reader, sent } = onCard(new VirtualCard(cardImage(JN1), { getResponseAboveBytes: 16 }))
  const data = await readPhysicalCard(reader, { full: true })
  t.match(data, { cardNo: 'JN0000001', issuer: '370100', expiresOn: '2031-12-31', issuedOn: '2021-12-31', specVersion: '3.00' })
  t.match(data.identificationCode, /^370100D156000005[0-9A-F]{16}$/)
  t.match(data.atr, /^3B/)
  t.same(sent.slice(0, 4), ['00A404000F7378312E73682EC9E7BBE1B1A3D5CF', '00A4020002EF05', '00B2010400', '00C0000012'],
    'record 01 (18 bytes) comes back as 6112 and is fetched with GET RESPONSE')
})

t.test('the fast read skips issue date and spec version', async t => {
  const { reader, sent } = onCard(new VirtualCard(cardImage({ cardNo: 'ZZ0000003', issuer: '410100', expiresOn: '2030-02-28' }), { getResponseAboveBytes: Infinity }))
  const data = await readPhysicalCard(reader)
  t.same({ cardNo: data.cardNo, issuer: data.issuer, expiresOn: data.expiresOn }, { cardNo: 'ZZ0000003', issuer: '410100', expiresOn: '2030-02-28' })
  t.equal(data.issuedOn, undefined)
  t.equal(sent.length, 5, 'select SSSE, select EF05, three READ RECORDs')
})

t.test('status words map to typed errors', async t => {
  const cases: Array<[string, string]> = [
    ['6A82', 'CARD_FILE_NOT_FOUND'], ['6A83', 'CARD_RECORD_NOT_FOUND'], ['6982', 'CARD_SECURITY_NOT_SATISFIED'],
    ['6985', 'CARD_CONDITIONS_NOT_SATISFIED'], ['6700', 'CARD_WRONG_LENGTH'], ['6D00', 'CARD_INS_NOT_SUPPORTED'],
    ['6E00', 'CARD_CLA_NOT_SUPPORTED'], ['6F00', 'CARD_STATUS']
  ]
  for (const [sw, code] of cases) {
    const err = await new CardChannel(scripted(sw)).transmit(readRecord(1), 'read').catch(e => e)
    t.ok(isReaderError(err, code as never), `${sw} → ${code}`)
    t.equal(err.sw, parseInt(sw, 16))
  }
  const short = await new CardChannel(scripted('90')).transmit(readRecord(1), 'read').catch(e => e)
  t.ok(isReaderError(short, 'CARD_BAD_RESPONSE'), 'a response shorter than SW1 SW2')
})

t.test('61xx: data is gathered over several GET RESPONSE rounds, bounded', async t => {
  const s = scripted('6104', 'AABB6102', 'CCDD9000')
  t.equal((await new CardChannel(s).transmit(readRecord(1), 'read')).toString('hex'), 'aabbccdd')
  t.same(s.sent.slice(1), ['00C0000004', '00C0000002'])
  const endless = scripted(...Array.from({ length: 20 }, () => '01026102'))
  const err = await new CardChannel(endless, { getResponsesMax: 4 }).transmit(readRecord(1), 'read').catch(e => e)
  t.ok(isReaderError(err, 'CARD_RESPONSE_TOO_LONG'))
  t.equal(endless.sent.length, 5, 'stops after getResponsesMax rounds')
  const big = scripted('6100', 'AA'.repeat(256) + '6100', 'BB'.repeat(256) + '9000')
  const tooBig = await new CardChannel(big, { responseBytesMax: 300 }).transmit(readRecord(1), 'read').catch(e => e)
  t.ok(isReaderError(tooBig, 'CARD_RESPONSE_TOO_LONG'), 'and bounded in bytes')
})

t.test('6Cxx: resent once with the Le the card asks for', async t => {
  const s = scripted('6C12', '0710' + '41'.repeat(16) + '9000')
  await new CardChannel(s).transmit(Buffer.from('00B2070408', 'hex'), 'read')
  t.same(s.sent, ['00B2070408', '00B2070412'])
})

t.test('the virtual card answers like a card', async t => {
  const card = new VirtualCard(cardImage(JN1))
  const tx = (hex: string): string => card.transmit(Buffer.from(hex, 'hex')).toString('hex').toUpperCase()
  card.reset()
  t.equal(tx('00B2070400'), '6985', 'READ RECORD before selecting EF05')
  t.equal(tx('80A404000F7378312E73682EC9E7BBE1B1A3D5CF'), '6E00', 'wrong class')
  t.equal(tx('00A40400057378312E73'), '6A82', 'unknown application')
  t.equal(tx('00A404000F7378312E73682EC9E7BBE1B1A3D5CF'), '9000')
  t.equal(tx('00A4020002EF06'), '6982', 'holder data needs PSAM authentication')
  t.equal(tx('00A4020002EF07'), '6A82')
  t.equal(tx('00A4020002EF05'), '9000')
  t.equal(tx('00B2040400'), '6A83', 'record 04 is not on the virtual card')
  t.equal(tx('00B20704'), '6700', 'READ RECORD without Le')
  t.equal(tx('00B2070405'), '6C0B', 'wrong Le: the card says 11')
  t.equal(tx('00B2070400'), '0709' + Buffer.from('JN0000001').toString('hex').toUpperCase() + '9000')
  t.equal(tx('00CA000000'), '6D00', 'unknown instruction')
  t.equal(tx('00A40400FF00'), '6700', 'Lc larger than the data')
})

t.test('records that do not decode are CARD_DATA_INVALID', async t => {
  const bad = (fn: () => unknown, what: string): void => { t.throws(fn, { code: 'CARD_DATA_INVALID' }, what) }
  const id = encodeIdentificationCode('370200', Buffer.alloc(8, 1))
  t.equal(decodeIdentificationCode(id).areaCode, '370200')
  const noRid = Buffer.from(id)
  noRid[3] = 0
  bad(() => decodeIdentificationCode(noRid), 'identification code without D156000005')
  bad(() => decodeIdentificationCode(id.subarray(0, 15)), 'identification code of 15 bytes')
  bad(() => decodeBcdDate(Buffer.from('20311332', 'hex'), 'expiry'), 'month 13')
  bad(() => decodeBcdDate(Buffer.from('2031023A', 'hex'), 'expiry'), 'not BCD')
  t.equal(decodeBcdDate(Buffer.from('20240229', 'hex'), 'expiry'), '2024-02-29')
  bad(() => decodeBcdDate(Buffer.from('20250229', 'hex'), 'expiry'), 'no 29 February in 2025')
})

t.test('a bad card number or ATR stops the read', async t => {
  const image = cardImage(JN1)
  image.records.set(7, Buffer.concat([Buffer.from([7, 9]), Buffer.from('jn-000001')]))
  const err = await readPhysicalCard(onCard(new VirtualCard(image)).reader).catch(e => e)
  t.ok(isReaderError(err, 'CARD_DATA_INVALID'))
  const noAtr = { resetCard: async () => Buffer.from('0000', 'hex'), apdu: async () => Buffer.from('9000', 'hex') }
  t.ok(isReaderError(await readPhysicalCard(noAtr).catch(e => e), 'CARD_BAD_ATR'))
})

t.test('QR payloads are opaque strings, bounded and UTF-8', async t => {
  t.same(qrCard(Buffer.from('ykt1.abc.def')), { type: 'qr', qr: 'ykt1.abc.def' })
  t.same(qrCard(Buffer.from('电子社保卡')), { type: 'qr', qr: '电子社保卡' })
  t.throws(() => qrCard(Buffer.alloc(0)), { code: 'QR_INVALID_PAYLOAD' })
  t.throws(() => qrCard(Buffer.alloc(513, 0x41)), { code: 'QR_INVALID_PAYLOAD' })
  t.throws(() => qrCard(Buffer.from([0xff, 0xfe])), { code: 'QR_INVALID_PAYLOAD' })
})
