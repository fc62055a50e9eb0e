// The serial frame, shared by host and reader:
//   STX 0x02 | LEN (2 bytes, big-endian) | BODY (LEN bytes) | ETX 0x03 | BCC
// BCC is the XOR of every byte before it (STX through ETX). See docs/reader.md.

export const STX = 0x02
export const ETX = 0x03
/** STX + LEN(2) before the body, ETX + BCC after it. */
export const FRAME_OVERHEAD_BYTES = 5
/** Largest body either side may send: a short APDU (261 B), a QR payload (512 B) and headroom. */
export const FRAME_BODY_BYTES_MAX = 1024
/** Smallest valid body: SEQ + CMD (a request without data). */
export const FRAME_BODY_BYTES_MIN = 2

export function bcc (bytes: Uint8Array, end = bytes.length): number {
  let x = 0
  for (let i = 0; i < end; i++) x ^= bytes[i] as number
  return x
}

export function encodeFrame (body: Uint8Array, bodyBytesMax = FRAME_BODY_BYTES_MAX): Buffer {
  if (body.length < FRAME_BODY_BYTES_MIN || body.length > bodyBytesMax) {
    throw new RangeError(`frame body must be ${FRAME_BODY_BYTES_MIN}..${bodyBytesMax} bytes, got ${body.length}`)
  }
  const frame = Buffer.alloc(body.length + FRAME_OVERHEAD_BYTES)
  frame[0] = STX
  frame.writeUInt16BE(body.length, 1)
  frame.set(body, 3)
  frame[3 + body.length] = ETX
  frame[4 + body.length] = bcc(frame, 4 + body.length)
  return frame
}

/** Time the frame takes on the wire at `baudRate`, 8N1 (10 bit times per byte). */
export function wireMs (bytes: number, baudRate: number): number {
  return (bytes * 10 * 1000) / baudRate
}
