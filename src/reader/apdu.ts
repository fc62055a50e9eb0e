// ISO 7816-4 command APDUs for the social security card and the status words it answers with.
import { ReaderError, type ReaderErrorCode } from './errors.js'

/** DF name of the SSSE application: "sx1.sh." + 社会保障 in GBK. */
export const SSSE_DF_NAME = Buffer.from('7378312E73682EC9E7BBE1B1A3D5CF', 'hex')
export const EF05_ID = Buffer.from('EF05', 'hex')

export const SW_OK = 0x9000

const SW_ERRORS: Record<number, { code: ReaderErrorCode, text: string }> = {
  0x6A82: { code: 'CARD_FILE_NOT_FOUND', text: 'file or application not found' },
  0x6A83: { code: 'CARD_RECORD_NOT_FOUND', text: 'record not found' },
  0x6982: { code: 'CARD_SECURITY_NOT_SATISFIED', text: 'security status not satisfied' },
  0x6985: { code: 'CARD_CONDITIONS_NOT_SATISFIED', text: 'conditions of use not satisfied' },
  0x6700: { code: 'CARD_WRONG_LENGTH', text: 'wrong length' },
  0x6D00: { code: 'CARD_INS_NOT_SUPPORTED', text: 'instruction not supported' },
  0x6E00: { code: 'CARD_CLA_NOT_SUPPORTED', text: 'class not supported' }
}

export function swHex (sw: number): string {
  return sw.toString(16).toUpperCase().padStart(4, '0')
}

export function statusWordError (sw: number, what: string): ReaderError {
  const known = SW_ERRORS[sw]
  const code = known?.code ?? 'CARD_STATUS'
  const text = known?.text ?? 'unexpected status'
  return new ReaderError(code, `${what}: card answered ${swHex(sw)} (${text})`, { sw })
}

export function selectByName (dfName: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0x00, 0xA4, 0x04, 0x00, dfName.length]), dfName])
}

export function selectEf (fileId: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0x00, 0xA4, 0x02, 0x00, fileId.length]), fileId])
}

/** READ RECORD `record` of the current EF (P2 = 0x04), Le = 00 (up to 256 bytes). */
export function readRecord (record: number): Buffer {
  return Buffer.from([0x00, 0xB2, record & 0xff, 0x04, 0x00])
}

export function getResponse (le: number): Buffer {
  return Buffer.from([0x00, 0xC0, 0x00, 0x00, le & 0xff])
}

export interface ResponseApdu { data: Buffer, sw: number }

export function splitResponse (rapdu: Buffer): ResponseApdu {
  if (rapdu.length < 2) throw new ReaderError('CARD_BAD_RESPONSE', `response APDU of ${rapdu.length} bytes, need SW1 SW2`)
  return { data: rapdu.subarray(0, -2), sw: rapdu.readUInt16BE(rapdu.length - 2) }
}
