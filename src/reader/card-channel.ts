// Exchanges APDUs with the card through the reader, following 61xx (GET RESPONSE) and 6Cxx
// (wrong Le, resend) so callers only ever see complete data or a typed error.
import { getResponse, splitResponse, statusWordError, SW_OK } from './apdu.js'
import { ReaderError } from './errors.js'

export interface ApduTransport { apdu (capdu: Uint8Array): Promise<Buffer> }

export interface ChannelOptions {
  /** GET RESPONSE rounds for one command (each 61xx asks for one more). */
  getResponsesMax?: number
  /** Total response data accepted for one command. */
  responseBytesMax?: number
}

export class CardChannel {
  private readonly getResponsesMax: number
  private readonly responseBytesMax: number

  constructor (private readonly transport: ApduTransport, opts: ChannelOptions = {}) {
    this.getResponsesMax = opts.getResponsesMax ?? 8
    this.responseBytesMax = opts.responseBytesMax ?? 1024
  }

  /** Sends `capdu`; resolves with the response data on 9000, throws a typed error otherwise. */
  async transmit (capdu: Buffer, what: string): Promise<Buffer> {
    let r = splitResponse(await this.transport.apdu(capdu))
    if (r.sw >> 8 === 0x6C) {
      // Wrong Le: the card tells us the right one; resend once with it.
      const fixed = Buffer.from(capdu)
      fixed[fixed.length - 1] = r.sw & 0xff
      r = splitResponse(await this.transport.apdu(fixed))
    }
    const parts = [r.data]
    let total = r.data.length
    for (let round = 0; r.sw >> 8 === 0x61; round++) {
      if (round >= this.getResponsesMax) {
        throw new ReaderError('CARD_RESPONSE_TOO_LONG', `${what}: more than ${this.getResponsesMax} GET RESPONSE rounds`)
      }
      r = splitResponse(await this.transport.apdu(getResponse(r.sw & 0xff)))
      total += r.data.length
      if (total > this.responseBytesMax) {
        throw new ReaderError('CARD_RESPONSE_TOO_LONG', `${what}: response over ${this.responseBytesMax} bytes`)
      }
      parts.push(r.data)
    }
    if (r.sw !== SW_OK) throw statusWordError(r.sw, what)
    return Buffer.concat(parts)
  }
}
