// Reader protocol messages inside a frame body (docs/reader.md has the reference tables).
//   request body: SEQ | CMD | DATA
//   reply body:   SEQ | CMD | STATUS | DATA
// SEQ is chosen by the host (one request in flight); the reader echoes SEQ and CMD, so a late
// reply to an abandoned request is recognised and dropped.
import { ReaderError } from './errors.js'

export const Cmd = {
  INFO: 0x01,
  POLL: 0x10,
  CARD_RESET: 0x11,
  APDU: 0x12,
  CARD_OFF: 0x13,
  QR_READ: 0x20,
  DISPLAY: 0x30,
  BEEP: 0x31,
  LED: 0x32
} as const
export type CmdName = keyof typeof Cmd
export type CmdCode = typeof Cmd[CmdName]

export const Status = {
  OK: 0x00,
  NO_CARD: 0x01,
  CARD_MUTE: 0x02,
  NO_QR: 0x03,
  UNKNOWN_COMMAND: 0x10,
  BAD_DATA: 0x11,
  BUSY: 0x12
} as const
export type StatusName = keyof typeof Status

/** POLL reply flags. */
export const PollFlag = { CARD: 0x01, QR: 0x02 } as const

/** DISPLAY text encodings (first data byte). */
export const TextEncoding = { UTF8: 0x00, GBK: 0x01 } as const

/** LED mask bits. */
export const LedBit = { RED: 0x01, GREEN: 0x02, YELLOW: 0x04 } as const

export const DISPLAY_TEXT_BYTES_MAX = 192
export const QR_PAYLOAD_BYTES_MAX = 512

const CMD_NAMES = new Map<number, CmdName>(Object.entries(Cmd).map(([k, v]) => [v, k as CmdName]))
const STATUS_NAMES = new Map<number, StatusName>(Object.entries(Status).map(([k, v]) => [v, k as StatusName]))

export function cmdName (code: number): string {
  return CMD_NAMES.get(code) ?? `0x${code.toString(16).padStart(2, '0')}`
}

export function statusName (code: number): string {
  return STATUS_NAMES.get(code) ?? `0x${code.toString(16).padStart(2, '0')}`
}

export interface Request { seq: number, cmd: number, data: Buffer }
export interface Reply { seq: number, cmd: number, status: number, data: Buffer }

export function encodeRequest (seq: number, cmd: number, data: Uint8Array = Buffer.alloc(0)): Buffer {
  return Buffer.concat([Buffer.from([seq & 0xff, cmd & 0xff]), data])
}

export function decodeRequest (body: Buffer): Request {
  return { seq: body[0] as number, cmd: body[1] as number, data: body.subarray(2) }
}

export function encodeReply (seq: number, cmd: number, status: number, data: Uint8Array = Buffer.alloc(0)): Buffer {
  return Buffer.concat([Buffer.from([seq & 0xff, cmd & 0xff, status & 0xff]), data])
}

export function decodeReply (body: Buffer): Reply {
  if (body.length < 3) throw new ReaderError('READER_BAD_REPLY', `reply body of ${body.length} bytes, need at least 3`)
  return { seq: body[0] as number, cmd: body[1] as number, status: body[2] as number, data: body.subarray(3) }
}

const STATUS_ERRORS: Record<number, ReaderError['code']> = {
  [Status.NO_CARD]: 'READER_NO_CARD',
  [Status.CARD_MUTE]: 'READER_CARD_MUTE',
  [Status.NO_QR]: 'READER_NO_QR',
  [Status.UNKNOWN_COMMAND]: 'READER_UNKNOWN_COMMAND',
  [Status.BAD_DATA]: 'READER_BAD_DATA',
  [Status.BUSY]: 'READER_BUSY'
}

export function statusError (cmd: number, status: number): ReaderError {
  const code = STATUS_ERRORS[status] ?? 'READER_STATUS'
  return new ReaderError(code, `reader answered ${cmdName(cmd)} with status ${statusName(status)}`, { status })
}
