// Typed errors for everything on the reader side: the serial link, the reader's status byte,
// the card's status words and the data read from it. Callers branch on `code`, never on text.

export type ReaderErrorCode =
  // link and driver
  | 'READER_TIMEOUT' | 'READER_DISCONNECTED' | 'READER_CLOSED' | 'READER_QUEUE_FULL'
  | 'READER_GAVE_UP' | 'READER_BAD_REPLY' | 'READER_WRITE_FAILED'
  // reader status byte
  | 'READER_NO_CARD' | 'READER_CARD_MUTE' | 'READER_NO_QR' | 'READER_UNKNOWN_COMMAND'
  | 'READER_BAD_DATA' | 'READER_BUSY' | 'READER_STATUS'
  // card status words and card data
  | 'CARD_FILE_NOT_FOUND' | 'CARD_RECORD_NOT_FOUND' | 'CARD_SECURITY_NOT_SATISFIED'
  | 'CARD_CONDITIONS_NOT_SATISFIED' | 'CARD_WRONG_LENGTH' | 'CARD_INS_NOT_SUPPORTED'
  | 'CARD_CLA_NOT_SUPPORTED' | 'CARD_STATUS' | 'CARD_BAD_RESPONSE' | 'CARD_RESPONSE_TOO_LONG'
  | 'CARD_BAD_ATR' | 'CARD_DATA_INVALID' | 'QR_INVALID_PAYLOAD'

export class ReaderError extends Error {
  readonly code: ReaderErrorCode
  /** Card status word (e.g. 0x6A82) when the card answered with one. */
  readonly sw?: number
  /** Reader status byte when the reader answered with one. */
  readonly status?: number

  constructor (code: ReaderErrorCode, message: string, extra: { sw?: number, status?: number, cause?: unknown } = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause })
    this.name = 'ReaderError'
    this.code = code
    if (extra.sw !== undefined) this.sw = extra.sw
    if (extra.status !== undefined) this.status = extra.status
  }
}

export function isReaderError (err: unknown, code?: ReaderErrorCode): err is ReaderError {
  return err instanceof ReaderError && (code === undefined || err.code === code)
}
