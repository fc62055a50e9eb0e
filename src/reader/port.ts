// The slice of a serial port the driver uses, so tests can hand in `SerialPortMock`
// (@serialport/binding-mock) or any duplex-like object, and production uses `serialport`.
import { SerialPort } from 'serialport'

export interface ReaderPort {
  readonly isOpen: boolean
  open (cb: (err: Error | null) => void): void
  close (cb?: (err: Error | null) => void): void
  write (data: Buffer, cb?: (err: Error | null | undefined) => void): boolean
  on (event: 'data', listener: (chunk: Buffer) => void): this
  on (event: 'close', listener: (err?: Error | null) => void): this
  on (event: 'error', listener: (err: Error) => void): this
  removeAllListeners (): this
}

export interface PortSettings { path: string, baudRate: number }

/** Creates a port without opening it: the driver opens, and reopens after a loss. */
export type PortFactory = (settings: PortSettings) => ReaderPort

export const serialPortFactory: PortFactory = ({ path, baudRate }) =>
  new SerialPort({ path, baudRate, dataBits: 8, parity: 'none', stopBits: 1, autoOpen: false })
