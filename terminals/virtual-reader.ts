// Virtual card reader on a serial device: speaks docs/reader.md's protocol like hardware would,
// driven by commands on stdin (see virtual-reader/control.ts), reporting on stdout as JSON lines:
//   {"event":"display","text":"...","t":<ms>} / "beep" / "led" / "tap" / "qr" / "removed" / ...
// Usage: node --import tsx terminals/virtual-reader.ts --port /tmp/ttyV0 [--baud 9600]
//          [--cards fixtures/demo.json] [--pace] [--apdu-delay-ms 0] [--t0-above-bytes 16]
//          [--issuer-keys data/issuer-keys.json] [--atc-file <issuer-keys dir>/virtual-card-atc.json]
// With issuer keys (--issuer-keys, or ISSUER_KEYS_FILE), each card is personalised with its own key
// diversified from its issuer's card master key and answers GENERATE AC with a rising ATC, kept in
// the ATC file across runs (the service refuses a counter that does not rise).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { deriveCardKey, type CardAuthKeys } from '../src/cards/card-auth.js'
import { issuerKeysFromFile } from '../src/cards/issuer-keys.js'
import { loadFixtures } from '../src/fixtures.js'
import { cardImage, type CardFacts } from './virtual-reader/card-image.js'
import { loadCardSet } from './virtual-reader/card-set.js'
import { parseControl, type ControlCommand } from './virtual-reader/control.js'
import { VirtualReaderDevice } from './virtual-reader/reader-device.js'
import { ReaderEmulator } from './virtual-reader/reader-emulator.js'
import { VirtualCard } from './virtual-reader/virtual-card.js'
import { exitOnHelp, usageFromHeader } from '../src/ops/cli-help.js'

exitOnHelp(process.argv.slice(2), usageFromHeader(readFileSync(new URL(import.meta.url), 'utf8')))

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    baud: { type: 'string', default: '9600' },
    cards: { type: 'string', default: new URL('../fixtures/demo.json', import.meta.url).pathname },
    pace: { type: 'boolean', default: false },
    'apdu-delay-ms': { type: 'string', default: '0' },
    't0-above-bytes': { type: 'string', default: '16' },
    'issuer-keys': { type: 'string', default: process.env.ISSUER_KEYS_FILE },
    'atc-file': { type: 'string' }
  }
})

function out (event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ event, ...fields, t: performance.timeOrigin + performance.now() }) + '\n')
}

function fail (message: string): never {
  process.stderr.write(`virtual-reader: ${message}\n`)
  process.exit(2)
}

if (args.port === undefined) fail('--port <device path> is required')
const baudRate = Number(args.baud)
if (!Number.isInteger(baudRate) || baudRate < 300) fail('--baud must be an integer baud rate')
const cards = loadCardSet(args.cards)
const t0AboveBytes = Number(args['t0-above-bytes'])

let cardAuthKeys: CardAuthKeys = new Map()
const atcFile = args['atc-file'] ?? (args['issuer-keys'] === undefined ? undefined : join(dirname(args['issuer-keys']), 'virtual-card-atc.json'))
const atcs = new Map<string, number>()
if (args['issuer-keys'] !== undefined) {
  try {
    cardAuthKeys = issuerKeysFromFile(args['issuer-keys'], loadFixtures().cities.map(c => c.issuer)).cardAuth
  } catch (err) {
    fail(`issuer keys: ${(err as Error).message}`)
  }
  if (atcFile !== undefined && existsSync(atcFile)) {
    for (const [cardNo, atc] of Object.entries(JSON.parse(readFileSync(atcFile, 'utf8')) as Record<string, number>)) atcs.set(cardNo, atc)
  }
}

function saveAtc (cardNo: string, atc: number): void {
  atcs.set(cardNo, atc)
  if (atcFile === undefined) return
  const tmp = `${atcFile}.tmp`
  writeFileSync(tmp, JSON.stringify(Object.fromEntries(atcs)), { mode: 0o600 })
  renameSync(tmp, atcFile)
}

const emulator = new ReaderEmulator()
const device = new VirtualReaderDevice(emulator, {
  path: args.port, baudRate, pace: args.pace, apduDelayMs: Number(args['apdu-delay-ms'])
})
for (const name of ['display', 'beep', 'led', 'resend']) emulator.on(name, (e: object) => out(name, { ...e }))
for (const name of ['frame-error', 'unplugged', 'replugged', 'port-error', 'port-closed', 'overrun', 'answer-error']) {
  device.on(name, (e?: object) => out(name, { ...e }))
}

function tap (cmd: Extract<ControlCommand, { op: 'tap' }>): void {
  const facts: CardFacts | undefined = cmd.issuer !== undefined && cmd.expiresOn !== undefined
    ? { cardNo: cmd.cardNo, issuer: cmd.issuer, expiresOn: cmd.expiresOn }
    : cards.get(cmd.cardNo)
  if (facts === undefined) return out('error', { message: `no card ${cmd.cardNo} in ${args.cards}` })
  const masterKey = cardAuthKeys.get(facts.issuer)?.masterKey
  const auth = masterKey === undefined
    ? undefined
    : { cardKey: deriveCardKey(masterKey, facts.cardNo, facts.issuer), atc: atcs.get(facts.cardNo) ?? 0, onAtc: (atc: number) => saveAtc(facts.cardNo, atc) }
  emulator.present(new VirtualCard(cardImage(facts), { getResponseAboveBytes: t0AboveBytes, auth }))
  out('tap', { cardNo: facts.cardNo, cardAuth: auth !== undefined })
}

async function run (cmd: ControlCommand): Promise<void> {
  switch (cmd.op) {
    case 'tap': return tap(cmd)
    case 'qr': emulator.scanQr(Buffer.from(cmd.payload, 'utf8')); return out('qr', { bytes: Buffer.byteLength(cmd.payload) })
    case 'remove': emulator.remove(); return out('removed')
    case 'unplug': return device.unplug(cmd.ms)
    case 'silent': device.silence(cmd.ms); return out('silent', { ms: cmd.ms })
    case 'quit': return shutdown(0)
    case 'invalid': return out('error', { message: cmd.reason })
  }
}

async function shutdown (code: number): Promise<void> {
  await device.close().catch(() => {})
  process.exit(code)
}

process.on('SIGTERM', () => { void shutdown(0) })
process.on('SIGINT', () => { void shutdown(0) })

try {
  await device.open()
} catch (err) {
  fail(`cannot open ${args.port}: ${(err as Error).message}`)
}
out('ready', { port: args.port, baudRate, cards: cards.size, cardAuthIssuers: [...cardAuthKeys.keys()] })

// Commands run one at a time, in order (an unplug finishes before the next tap).
let queue: Promise<void> = Promise.resolve()
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
lines.on('line', line => {
  const cmd = parseControl(line)
  if (cmd === null) return
  queue = queue.then(() => run(cmd)).catch((err: Error) => out('error', { message: err.message }))
})
lines.on('close', () => { void queue.then(() => shutdown(0)) })
