// A reader on the far end of a @serialport/binding-mock port: frames the host writes are decoded
// and handed to a device function, whose answer bytes are emitted back, optionally chunked,
// delayed or corrupted. The driver under test sees a real SerialPortStream.
import { SerialPortMock } from 'serialport'
import { encodeFrame } from '../../../src/reader/frame.js'
import { FrameDecoder } from '../../../src/reader/frame-decoder.js'
import type { PortFactory } from '../../../src/reader/port.js'
import { decodeRequest, type Request } from '../../../src/reader/protocol.js'
import { ReaderEmulator } from '../../../terminals/virtual-reader/reader-emulator.js'

/** What the device sends back for one request: reply bodies to frame, or raw byte chunks. */
export type DeviceAnswer = { bodies: Buffer[] } | { raw: Buffer[] } | null

export type Device = (body: Buffer, req: Request) => DeviceAnswer | Promise<DeviceAnswer>

export interface MockLine {
  path: string
  openPort: PortFactory
  ports: SerialPortMock[]
  requests: Request[]
  /** Simulates the device vanishing: the host sees a disconnect, and reopening fails. */
  unplug: () => void
  /** The device is back: reopening works again. */
  replug: () => void
}

// The MockBinding of @serialport/binding-mock, typed through serialport (its own package.json
// gives no types to ESM importers).
const MockBinding = SerialPortMock.binding
type MockPortBinding = NonNullable<SerialPortMock['port']>

let counter = 0

export function mockLine (device: Device): MockLine {
  const path = `/dev/mock-reader-${process.pid}-${++counter}`
  MockBinding.createPort(path, { echo: false, record: false })
  const line: MockLine = {
    path,
    ports: [],
    requests: [],
    openPort: ({ path: p, baudRate }) => {
      const port = new SerialPortMock({ path: p, baudRate, autoOpen: false })
      line.ports.push(port)
      port.on('open', () => attach(port, device, line))
      return port
    },
    unplug: () => {
      const port = line.ports.at(-1)
      // binding-mock can only forget all its ports; each test file runs in its own process.
      MockBinding.reset()
      port?._disconnected(Object.assign(new Error('device unplugged'), { disconnected: true }))
    },
    replug: () => MockBinding.createPort(path)
  }
  return line
}

/** Replies to each request body through a ReaderEmulator. */
export function emulatorDevice (emulator: ReaderEmulator): Device {
  return body => {
    const reply = emulator.handle(body)
    return reply === null ? null : { bodies: [reply] }
  }
}

function attach (port: SerialPortMock, device: Device, line: MockLine): void {
  const binding = port.port as MockPortBinding
  const decoder = new FrameDecoder()
  const write = binding.write.bind(binding)
  binding.write = async (buf: Buffer) => {
    await write(buf)
    decoder.write(buf)
  }
  decoder.on('data', (body: Buffer) => {
    const req = decodeRequest(body)
    line.requests.push({ ...req, data: Buffer.from(req.data) })
    void Promise.resolve(device(body, req)).then(answer => emit(binding, answer))
  })
}

async function emit (binding: MockPortBinding, answer: DeviceAnswer): Promise<void> {
  if (answer === null) return
  const chunks = 'bodies' in answer ? answer.bodies.map(b => encodeFrame(b)) : answer.raw
  for (const chunk of chunks) {
    await new Promise(resolve => setImmediate(resolve))
    if (binding.isOpen) binding.emitData(chunk)
  }
}
