// The chip contents of a virtual social security card, built from a card's facts (fixtures/demo.json):
// ATR and the EF05 records a reader without PSAM reads.
import { createHash } from 'node:crypto'
import {
  AREA_CODE, CARD_NUMBER, Ef05Record, encodeBcdDate, encodeIdentificationCode, encodeRecord
} from '../../src/reader/ssse-records.js'

export interface CardFacts { cardNo: string, issuer: string, expiresOn: string, issuedOn?: string }

export interface CardImage { facts: CardFacts, atr: Buffer, records: Map<number, Buffer> }

/** TS 3B, T0 6C (TB1, TC1, 12 historical bytes), TB1 00, TC1 00, then the historical bytes. */
const ATR = Buffer.concat([Buffer.from([0x3B, 0x6C, 0x00, 0x00]), Buffer.from('YKT-SSC-3.00', 'latin1')])

export function cardImage (facts: CardFacts): CardImage {
  if (!CARD_NUMBER.test(facts.cardNo)) throw new RangeError(`card number ${facts.cardNo} is not 9 letters or digits`)
  if (!AREA_CODE.test(facts.issuer)) throw new RangeError(`issuer ${facts.issuer} is not a 6-digit area code`)
  const unique = createHash('sha256').update(`ykt-virtual-card:${facts.cardNo}`).digest().subarray(0, 8)
  const records = new Map<number, Buffer>([
    [Ef05Record.IDENTIFICATION_CODE, encodeIdentificationCode(facts.issuer, unique)],
    [Ef05Record.CARD_TYPE, Buffer.from('3', 'latin1')],
    [Ef05Record.SPEC_VERSION, Buffer.from('3.00', 'latin1')],
    [Ef05Record.ISSUE_DATE, encodeBcdDate(facts.issuedOn ?? tenYearsBefore(facts.expiresOn))],
    [Ef05Record.EXPIRY_DATE, encodeBcdDate(facts.expiresOn)],
    [Ef05Record.CARD_NUMBER, Buffer.from(facts.cardNo, 'latin1')]
  ].map(([tag, value]) => [tag as number, encodeRecord(tag as number, value as Buffer)]))
  return { facts, atr: ATR, records }
}

/** Social security cards are typically valid for ten years. */
function tenYearsBefore (isoDate: string): string {
  const year = Number(isoDate.slice(0, 4)) - 10
  const md = isoDate.slice(5) === '02-29' ? '02-28' : isoDate.slice(5)
  return `${year}-${md}`
}
