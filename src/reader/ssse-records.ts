// EF05 (card data) records of the social security card: tag | len | value, one per record.
// Encoders live here next to the decoders so the virtual card writes exactly what the reader reads.
import { ReaderError } from './errors.js'

export const Ef05Record = {
  IDENTIFICATION_CODE: 0x01,
  CARD_TYPE: 0x02,
  SPEC_VERSION: 0x03,
  ISSUING_INSTITUTION: 0x04,
  ISSUE_DATE: 0x05,
  EXPIRY_DATE: 0x06,
  CARD_NUMBER: 0x07
} as const

/** Registered application provider id in the identification code: D156000005. */
export const SSSE_RID = Buffer.from('D156000005', 'hex')
export const IDENTIFICATION_CODE_BYTES = 16
export const CARD_NUMBER = /^[A-Z0-9]{9}$/
export const AREA_CODE = /^[0-9]{6}$/

export function encodeRecord (tag: number, value: Uint8Array): Buffer {
  if (value.length > 0xff) throw new RangeError(`record ${tag} value over 255 bytes`)
  return Buffer.concat([Buffer.from([tag, value.length]), value])
}

/** The value of a record read back, checking its tag and declared length. */
export function decodeRecord (tag: number, bytes: Buffer): Buffer {
  if (bytes.length < 2 || bytes[0] !== tag) throw invalid(`record ${tag}: expected tag ${tag}`)
  const len = bytes[1] as number
  if (bytes.length < 2 + len) throw invalid(`record ${tag}: declares ${len} bytes, has ${bytes.length - 2}`)
  return bytes.subarray(2, 2 + len)
}

/** YYYY-MM-DD ↔ 4 BCD bytes (YYYYMMDD). */
export function encodeBcdDate (isoDate: string): Buffer {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(isoDate)) throw new RangeError(`not a date: ${isoDate}`)
  return Buffer.from(isoDate.replaceAll('-', ''), 'hex')
}

export function decodeBcdDate (bytes: Buffer, what: string): string {
  const digits = bytes.toString('hex')
  if (bytes.length !== 4 || !/^\d{8}$/.test(digits)) throw invalid(`${what}: not a BCD date (${digits})`)
  const iso = `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}`
  const d = new Date(`${iso}T00:00:00Z`)
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== iso) throw invalid(`${what}: no such date ${iso}`)
  return iso
}

/** Identification code: area code (3 BCD bytes) + D156000005 + 8 card-unique bytes. */
export function encodeIdentificationCode (areaCode: string, unique: Uint8Array): Buffer {
  if (!AREA_CODE.test(areaCode) || unique.length !== 8) throw new RangeError('bad identification code parts')
  return Buffer.concat([Buffer.from(areaCode, 'hex'), SSSE_RID, unique])
}

export interface IdentificationCode { hex: string, areaCode: string }

export function decodeIdentificationCode (bytes: Buffer): IdentificationCode {
  if (bytes.length !== IDENTIFICATION_CODE_BYTES) throw invalid(`identification code of ${bytes.length} bytes, need 16`)
  const areaCode = bytes.subarray(0, 3).toString('hex')
  if (!AREA_CODE.test(areaCode)) throw invalid(`identification code: area code ${areaCode} is not 6 digits`)
  if (!bytes.subarray(3, 8).equals(SSSE_RID)) throw invalid('identification code: no D156000005 application id')
  return { hex: bytes.toString('hex').toUpperCase(), areaCode }
}

export function decodeCardNumber (bytes: Buffer): string {
  const s = bytes.toString('latin1')
  if (!CARD_NUMBER.test(s)) throw invalid('card number is not 9 letters or digits')
  return s
}

export function decodeAscii (bytes: Buffer, what: string): string {
  if (!bytes.every(b => b >= 0x20 && b < 0x7f)) throw invalid(`${what}: not printable ASCII`)
  return bytes.toString('latin1')
}

function invalid (message: string): ReaderError {
  return new ReaderError('CARD_DATA_INVALID', message)
}
