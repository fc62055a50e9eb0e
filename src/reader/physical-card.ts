// Reads what a reader without a PSAM can read from a social security card (EF05: no mutual
// authentication needed): issuer, card number, expiry, and optionally issue date and spec version.
import { EF05_ID, readRecord, selectByName, selectEf, SSSE_DF_NAME } from './apdu.js'
import { CardChannel, type ApduTransport, type ChannelOptions } from './card-channel.js'
import { ReaderError } from './errors.js'
import {
  decodeAscii, decodeBcdDate, decodeCardNumber, decodeIdentificationCode, decodeRecord, Ef05Record
} from './ssse-records.js'

export interface PhysicalCardData {
  cardNo: string
  /** Issuing area code, from the identification code (e.g. 370100 Jinan). */
  issuer: string
  identificationCode: string
  expiresOn: string
  issuedOn?: string
  specVersion?: string
  atr: string
}

export interface CardReaderPort extends ApduTransport { resetCard (): Promise<Buffer> }

export interface ReadOptions extends ChannelOptions {
  /**
   * Also read records 05 (issue date) and 03 (spec version). Off by default: every APDU is a
   * serial round trip plus a radio exchange, and a gate has ~300 ms for the whole tap.
   */
  full?: boolean
}

export async function readPhysicalCard (reader: CardReaderPort, opts: ReadOptions = {}): Promise<PhysicalCardData> {
  const atr = checkAtr(await reader.resetCard())
  const ch = new CardChannel(reader, opts)
  await ch.transmit(selectByName(SSSE_DF_NAME), 'select SSSE')
  await ch.transmit(selectEf(EF05_ID), 'select EF05')
  const record = async (tag: number, what: string): Promise<Buffer> =>
    decodeRecord(tag, await ch.transmit(readRecord(tag), `read ${what}`))
  const id = decodeIdentificationCode(await record(Ef05Record.IDENTIFICATION_CODE, 'identification code'))
  const cardNo = decodeCardNumber(await record(Ef05Record.CARD_NUMBER, 'card number'))
  const expiresOn = decodeBcdDate(await record(Ef05Record.EXPIRY_DATE, 'expiry date'), 'expiry date')
  const data: PhysicalCardData = { cardNo, issuer: id.areaCode, identificationCode: id.hex, expiresOn, atr }
  if (opts.full === true) {
    data.issuedOn = decodeBcdDate(await record(Ef05Record.ISSUE_DATE, 'issue date'), 'issue date')
    data.specVersion = decodeAscii(await record(Ef05Record.SPEC_VERSION, 'spec version'), 'spec version')
  }
  return data
}

/** An ATR starts with TS = 3B (direct) or 3F (inverse convention) and has at least T0. */
function checkAtr (atr: Buffer): string {
  if (atr.length < 2 || (atr[0] !== 0x3B && atr[0] !== 0x3F)) {
    throw new ReaderError('CARD_BAD_ATR', `ATR ${atr.toString('hex')} does not start with 3B or 3F`)
  }
  return atr.toString('hex').toUpperCase()
}
