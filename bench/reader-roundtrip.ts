// Serial reader benchmark over a socat pty pair with the virtual reader on the far end:
//   1. reader round trips (POLL, one APDU) at 9600 and 115200 baud, N each, p50/p99/max:
//      raw pty (bytes move at memory speed: software overhead only) and paced (the virtual reader
//      acts on a request after its wire time at the baud rate, and replies after the reply's);
//   2. tap-to-display through the terminal agent against the real service (paced line), against
//      the 300 ms gate budget.
// Writes bench/results/reader.json and bench/results/reader.md.
// Run: node --import tsx bench/reader-roundtrip.ts   (READER_BENCH_N=200 READER_BENCH_TAPS=100)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { EF05_ID, readRecord, selectByName, selectEf, SSSE_DF_NAME } from '../src/reader/apdu.js'
import { CardChannel } from '../src/reader/card-channel.js'
import { ReaderDriver } from '../src/reader/driver.js'
import { ReaderCommands } from '../src/reader/reader-commands.js'
import { spawnJson, type JsonChild, type JsonLine } from '../terminals/lab/json-child.js'
import { startPtyPair } from '../terminals/lab/pty-pair.js'
import { adminCall } from '../test/helpers/http-client.js'
import { startService, type RunningService } from '../test/helpers/service.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const N = boundedInt(process.env.READER_BENCH_N, 200, 10, 5000)
const TAPS = boundedInt(process.env.READER_BENCH_TAPS, 100, 5, 1000)
const WARM_UP = 20
const BAUDS = [9600, 115200]
const GATE_BUDGET_MS = 300
const IDLE = /请刷卡/

interface Stats { n: number, p50: number, p99: number, max: number, mean: number }

function boundedInt (v: string | undefined, dflt: number, min: number, max: number): number {
  const n = v === undefined ? dflt : Number(v)
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`expected an integer ${min}..${max}, got ${v}`)
  return n
}

function stats (samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b)
  const rank = (p: number): number => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] as number
  const round = (x: number): number => Math.round(x * 100) / 100
  return { n: s.length, p50: round(rank(0.5)), p99: round(rank(0.99)), max: round(s.at(-1) as number), mean: round(s.reduce((a, b) => a + b, 0) / s.length) }
}

async function time (fn: () => Promise<unknown>, n: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await fn()
    out.push(performance.now() - t0)
  }
  return out
}

function virtualReader (port: string, baud: number, pace: boolean): JsonChild {
  const args = ['--import', 'tsx', 'terminals/virtual-reader.ts', '--port', port, '--baud', String(baud)]
  return spawnJson(process.execPath, pace ? [...args, '--pace'] : args, { cwd: ROOT })
}

/** Runs `fn` with a pty pair and a virtual reader on its device end; always cleans up. */
async function withLine<T> (baud: number, pace: boolean, fn: (host: string, reader: JsonChild, dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'ykt-bench-reader-'))
  const pty = await startPtyPair(dir)
  const reader = virtualReader(pty.device, baud, pace)
  try {
    await reader.waitFor(l => l.event === 'ready', { what: 'virtual reader ready' })
    return await fn(pty.host, reader, dir)
  } finally {
    await reader.stop()
    await pty.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function roundTrips (baud: number, pace: boolean): Promise<{ poll: Stats, apdu: Stats }> {
  return await withLine(baud, pace, async (host, reader) => {
    const driver = new ReaderDriver({ path: host, baudRate: baud })
    driver.start()
    try {
      await driver.whenConnected(5000)
      const cmds = new ReaderCommands(driver)
      reader.send('tap JN0000001')
      while (!(await cmds.poll()).card) await new Promise(resolve => setTimeout(resolve, 5))
      await cmds.resetCard()
      const ch = new CardChannel(cmds)
      await ch.transmit(selectByName(SSSE_DF_NAME), 'select SSSE')
      await ch.transmit(selectEf(EF05_ID), 'select EF05')
      await time(() => cmds.poll(), WARM_UP)
      const poll = stats(await time(() => cmds.poll(), N))
      // READ RECORD 07 (card number, 11 bytes): one APDU, one serial round trip.
      const apdu = stats(await time(() => cmds.apdu(readRecord(7)), N))
      return { poll, apdu }
    } finally {
      await driver.close()
    }
  })
}

interface TapRun { tapToDisplay: Stats, agent: Record<'readMs' | 'decideMs' | 'displayMs' | 'totalMs', Stats>, decisions: Record<string, number> }

async function tapsThroughAgent (svc: RunningService, baud: number): Promise<TapRun> {
  const admin = (method: string, path: string, body?: unknown): ReturnType<typeof adminCall> => adminCall(svc.url, svc.adminToken, method, path, body)
  const terminalId = `bench-bus-${baud}`
  const term = await admin('POST', '/v1/admin/terminals', { terminalId, city: 'jinan', scenario: 'bus', operator: 'jinan-bus' })
  if (term.status !== 201) throw new Error(`terminal: ${term.status} ${term.body}`)
  // Fresh cards, one tap each: every tap is a first tap (the bus refuses a card twice on one bus).
  const cards = Array.from({ length: TAPS }, (_, i) => `B${String(baud).slice(0, 1)}${String(i).padStart(7, '0')}`)
  for (const cardNo of cards) {
    const card = { cardNo, issuer: '370100', holder: { birthDate: '1985-04-12' }, expiresOn: '2031-12-31', accounts: { bank: 10_000 } }
    const r = await admin('POST', '/v1/admin/cards', card)
    if (r.status !== 201) throw new Error(`card ${cardNo}: ${r.status} ${r.body}`)
  }
  return await withLine(baud, true, async (host, reader, dir) => {
    const configPath = join(dir, 'terminal.json')
    const config = { terminalId, secret: term.json.secret, serviceUrl: svc.url, port: { path: host, baudRate: baud } }
    writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 })
    const agent = spawnJson(process.execPath, ['--import', 'tsx', 'terminals/agent.ts', '--config', configPath, '--decision-hold-ms', '0'], { cwd: ROOT })
    try {
      await reader.waitFor(l => l.event === 'display' && IDLE.test(String(l.text)), { ms: 10_000, what: 'agent idle text' })
      const samples: number[] = []
      for (const cardNo of cards) samples.push(await oneTap(reader, cardNo))
      await agent.waitFor(() => agent.lines.filter(l => l.msg === 'tap decided').length >= TAPS, { what: 'all tap logs' })
      return summarise(samples, agent.lines.filter(l => l.msg === 'tap decided'))
    } finally {
      await agent.stop()
    }
  })
}

/** One presentation: tap, wait for the decision on the display, remove, wait for idle. */
async function oneTap (reader: JsonChild, cardNo: string): Promise<number> {
  // Arrive at a random moment of the agent's 50 ms polling cycle, as a real holder would.
  await new Promise(resolve => setTimeout(resolve, Math.random() * 100))
  const from = reader.lines.length
  reader.send(`tap ${cardNo} 370100 2031-12-31`)
  const tapped = await reader.waitFor(l => l.event === 'tap', { from, what: `tap ${cardNo}` })
  const shown = await reader.waitFor(l => l.event === 'display' && !IDLE.test(String(l.text)), { from, what: `decision for ${cardNo}` })
  reader.send('remove')
  await reader.waitFor(l => l.event === 'display' && IDLE.test(String(l.text)), { from: shown.index, what: 'idle' })
  return Number(shown.line.t) - Number(tapped.line.t)
}

function summarise (samples: number[], logs: JsonLine[]): TapRun {
  const pick = (k: string): Stats => stats(logs.map(l => Number(l[k])))
  const decisions: Record<string, number> = {}
  for (const l of logs) decisions[String(l.decision)] = (decisions[String(l.decision)] ?? 0) + 1
  return {
    tapToDisplay: stats(samples),
    agent: { readMs: pick('readMs'), decideMs: pick('decideMs'), displayMs: pick('displayMs'), totalMs: pick('totalMs') },
    decisions
  }
}

interface RoundTripRun { baud: number, pace: boolean, poll: Stats, apdu: Stats }
type TapRunAt = TapRun & { baud: number }

function markdown (r: { roundTrips: RoundTripRun[], taps: TapRunAt[] }): string {
  const row = (label: string, s: Stats): string => `| ${label} | ${s.n} | ${s.p50} | ${s.p99} | ${s.max} |`
  const lines = [
    '# Reader round trip and tap-to-display',
    '',
    `Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${new Date().toISOString()}. Generated by \`bench/reader-roundtrip.ts\`.`,
    '',
    'socat pty pair; virtual reader on one end (separate process), host on the other. "raw pty" moves bytes at',
    'memory speed whatever the baud rate (software overhead only); "paced" has the virtual reader act on a',
    'request only after its wire time at the baud rate (8N1) and send the reply after the reply\'s wire time,',
    'as a real line would. The virtual card answers instantly: a real card\'s radio exchange (domain.md:',
    '250–450 ms per tap) comes on top.',
    '',
    '## Reader round trips (ms)',
    '',
    '| line | op | n | p50 | p99 | max |',
    '|---|---|---|---|---|---|'
  ]
  for (const rt of r.roundTrips) {
    lines.push(row(`${rt.baud} baud, ${rt.pace ? 'paced' : 'raw pty'} | POLL`, rt.poll))
    lines.push(row(`${rt.baud} baud, ${rt.pace ? 'paced' : 'raw pty'} | APDU (READ RECORD 07)`, rt.apdu))
  }
  lines.push('', `## Tap to display through the agent and the service (ms, paced line, gate budget ${GATE_BUDGET_MS} ms)`, '',
    '"tap → display": from the card entering the field to the reader acknowledging the decision text',
    '(includes up to one 50 ms poll interval; taps arrive at a random moment of it). Agent columns are',
    'from its log: read = detection to card data, decide = signed POST /v1/taps, display = DISPLAY',
    'command, total = detection to display.', '',
    '| line | measure | n | p50 | p99 | max |', '|---|---|---|---|---|---|')
  for (const tr of r.taps) {
    lines.push(row(`${tr.baud} baud | tap → display`, tr.tapToDisplay))
    for (const k of ['readMs', 'decideMs', 'displayMs', 'totalMs'] as const) lines.push(row(`${tr.baud} baud | agent ${k.replace('Ms', '')}`, tr.agent[k]))
  }
  lines.push('', '| line | p99 tap → display | within the 300 ms gate budget | decisions |', '|---|---|---|---|')
  for (const tr of r.taps) {
    lines.push(`| ${tr.baud} baud | ${tr.tapToDisplay.p99} ms | ${tr.tapToDisplay.p99 <= GATE_BUDGET_MS ? 'yes' : 'no'} | ${JSON.stringify(tr.decisions)} |`)
  }
  return lines.join('\n') + '\n'
}

async function main (): Promise<void> {
  const results: RoundTripRun[] = []
  for (const baud of BAUDS) {
    for (const pace of [false, true]) {
      process.stdout.write(`round trips at ${baud} baud, ${pace ? 'paced' : 'raw pty'}…\n`)
      results.push({ baud, pace, ...await roundTrips(baud, pace) })
    }
  }
  const taps: TapRunAt[] = []
  const svc = await startService({ seed: 'demo' })
  try {
    for (const baud of BAUDS) {
      process.stdout.write(`${TAPS} taps through the agent at ${baud} baud…\n`)
      taps.push({ baud, ...await tapsThroughAgent(svc, baud) })
    }
  } finally {
    await svc.stop()
  }
  const result = {
    node: process.version, cpu: cpus()[0]?.model, at: new Date().toISOString(), n: N, taps: TAPS, gateBudgetMs: GATE_BUDGET_MS, roundTrips: results, tapRuns: taps
  }
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true })
  writeFileSync(join(ROOT, 'bench', 'results', 'reader.json'), JSON.stringify(result, null, 2) + '\n')
  const md = markdown({ roundTrips: results, taps })
  writeFileSync(join(ROOT, 'bench', 'results', 'reader.md'), md)
  process.stdout.write(md)
}

await main()
