// `npm run bench:soak [-- --minutes 30 --rate 3000 --connections 64 --fleet full|quick --keep]`:
// the service under a constant offered load for a long time, reporting per minute its RSS, ledger
// size, throughput and latency percentiles, to show whether they stay flat (issue #13 item 10).
//
// How: the bench fleet is provisioned into a temp ledger (bench/lib/provision.ts), the service is
// started on it as `npm start` would (SEED=none), and the load comes from bench/loadgen.ts in open-
// loop rate mode, one generator process per minute (each builds its own signed pool: a 30-minute pool
// would not fit in memory, and X-Timestamp must stay within ±300 s). The next minute's generator is
// started while the current one runs and told when to start (LoadConfig.startAtMs), so the load has
// no gap between minutes. Latency is from each request's intended send time (no coordinated
// omission). RSS is read from /proc/<pid>/status every second. Results: bench/results/soak-<rate>.json|md (one file
// per offered rate: a run below saturation and one at it answer different questions).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import { checkLedger } from '../src/ledger/check.js'
import { buildFleet, FLEET_FULL, FLEET_QUICK } from './lib/fleet.js'
import { machineInfo } from './lib/machine.js'
import { fileBytes, installExitHooks, ROOT, runLoadgen, sleep, startServer } from './lib/processes.js'
import { provisionFleet } from './lib/provision.js'
import type { LoadResult } from './loadgen.js'

const SEGMENT_S = 60
/** How long before its start a minute's generator is launched: pool building (~10 µs a request) and connecting. */
const PREPARE_S = 10
const RSS_SAMPLE_MS = 1_000
const MINUTES_MAX = 24 * 60

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    rate: { type: 'string', default: '3000' },
    connections: { type: 'string', default: '64' },
    fleet: { type: 'string', default: 'full' },
    keep: { type: 'boolean', default: false },
    /** Re-renders a results file's markdown beside it (soak-<rate>.json → .md), measuring nothing. */
    report: { type: 'string' }
  }
})
const minutes = Number(values.minutes)
const ratePerSecond = Number(values.rate)
const connections = Number(values.connections)
const fleetName = values.fleet === 'quick' ? 'quick' : 'full'
if (!Number.isInteger(minutes) || minutes < 1 || minutes > MINUTES_MAX) fail(`--minutes must be an integer 1..${MINUTES_MAX}`)
if (!Number.isInteger(ratePerSecond) || ratePerSecond < 1 || ratePerSecond > 100_000) fail('--rate must be an integer 1..100000 taps/s')
if (!Number.isInteger(connections) || connections < 1 || connections > 1024) fail('--connections must be an integer 1..1024')

function fail (message: string): never {
  process.stderr.write(`bench:soak: ${message}\n`)
  process.exit(2)
}

function log (message: string): void {
  process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}\n`)
}

export interface SoakMinute {
  minute: number
  /** Seconds of load in this minute: shorter when the service fell 2 s behind and the generator stopped. */
  measuredS: number
  offeredPerS: number
  throughputPerS: number
  completed: number
  errors: number
  notSent: number
  non200: number
  latencyMs: { p50: number, p99: number, p999: number, max: number }
  serviceTimeMsP99: number | null
  sendLagMsP99: number | null
  rssMbEnd: number
  rssMbMax: number
  ledgerMb: number
  serverCpuPercent: number | null
  otherCpuPercent: number | null
}

function rssMb (pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1]
    return kb === undefined ? undefined : Math.round(Number(kb) / 1024 * 10) / 10
  } catch {
    return undefined
  }
}

/** Least-squares slope of y over x (per minute), or null with fewer than 3 points. */
function slope (points: Array<[number, number]>): number | null {
  if (points.length < 3) return null
  const n = points.length
  const mx = points.reduce((s, [x]) => s + x, 0) / n
  const my = points.reduce((s, [, y]) => s + y, 0) / n
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0)
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0)
  return den === 0 ? null : Math.round(num / den * 100) / 100
}

const round = (v: number | undefined | null, digits = 2): number => Math.round((v ?? 0) * 10 ** digits) / 10 ** digits

async function main (): Promise<void> {
  if (values.report !== undefined) {
    const file = values.report
    writeFileSync(file.replace(/\.json$/, '.md'), markdown(JSON.parse(readFileSync(file, 'utf8'))))
    log(`re-rendered ${file.replace(/\.json$/, '.md')}`)
    return
  }
  const workDir = mkdtempSync(join(tmpdir(), 'yikatong-soak-'))
  installExitHooks(() => { if (!values.keep) rmSync(workDir, { recursive: true, force: true }) })
  const dbPath = join(workDir, 'soak.db')
  const fleet = buildFleet(fleetName === 'full' ? FLEET_FULL : FLEET_QUICK)
  const provisioned = await provisionFleet(dbPath, fleet)
  log(`ledger: ${provisioned.cards} cards, ${provisioned.terminals} terminals in ${Math.round(provisioned.ms)} ms`)
  const server = await startServer({
    script: 'src/main.ts',
    env: { PORT: '0', HOST: '127.0.0.1', DB_PATH: dbPath, ADMIN_TOKEN: 'soak-admin-token', SEED: 'none', LOG_LEVEL: 'warn' },
    logPath: join(workDir, 'service.log'),
    readyMsMax: 120_000
  })
  log(`service pid ${server.pid} at ${server.url}; ${minutes} min at ${ratePerSecond} taps/s on ${connections} connections`)

  let rssNow = rssMb(server.pid) ?? 0
  const rssStart = rssNow
  let rssMaxThisMinute = rssNow
  const sampler = setInterval(() => {
    const v = rssMb(server.pid)
    if (v === undefined) return
    rssNow = v
    rssMaxThisMinute = Math.max(rssMaxThisMinute, v)
  }, RSS_SAMPLE_MS)
  sampler.unref()

  const perMinute: SoakMinute[] = []
  const pool = ratePerSecond * SEGMENT_S
  const firstStartMs = Date.now() + PREPARE_S * 1000
  const segment = async (m: number): Promise<LoadResult> => {
    const startAtMs = firstStartMs + m * SEGMENT_S * 1000
    await sleep(Math.max(0, startAtMs - PREPARE_S * 1000 - Date.now()))
    return await runLoadgen({
      url: server.url, mode: 'rate', connections, ratePerSecond, warmupS: 0, durationS: SEGMENT_S, poolSize: pool,
      recycle: false, fleet: fleetName, seqOffset: m * pool, serverPid: server.pid, startAtMs
    }, workDir, `minute-${m + 1}`)
  }
  let failure: unknown
  try {
    // Minute m+1's generator starts preparing while minute m runs; at most two at once.
    let current = segment(0)
    for (let m = 0; m < minutes; m++) {
      const next = m + 1 < minutes ? segment(m + 1) : undefined
      const r = await current
      const l = r.measured
      const row: SoakMinute = {
        minute: m + 1,
        measuredS: l.durationS,
        offeredPerS: ratePerSecond,
        throughputPerS: l.throughputPerS,
        completed: l.completed,
        errors: l.errors,
        notSent: l.notSent,
        non200: Object.entries(l.statuses).filter(([s]) => s !== '200').reduce((sum, [, n]) => sum + n, 0),
        latencyMs: { p50: round(l.latencyMs.p50), p99: round(l.latencyMs.p99), p999: round(l.latencyMs.p999), max: round(l.latencyMs.max) },
        serviceTimeMsP99: l.serviceTimeMs === null ? null : round(l.serviceTimeMs.p99),
        sendLagMsP99: l.sendLagMs === null ? null : round(l.sendLagMs.p99),
        rssMbEnd: rssNow,
        rssMbMax: rssMaxThisMinute,
        ledgerMb: round((fileBytes(dbPath) + fileBytes(`${dbPath}-wal`)) / 1024 / 1024, 1),
        serverCpuPercent: l.serverCpuPercent,
        otherCpuPercent: l.otherCpuPercent
      }
      rssMaxThisMinute = rssNow
      perMinute.push(row)
      log(`minute ${row.minute} (${row.measuredS} s of load): ${row.throughputPerS}/s, p99 ${row.latencyMs.p99} ms, p99.9 ${row.latencyMs.p999} ms, RSS ${row.rssMbEnd} MB (max ${row.rssMbMax}), ledger ${row.ledgerMb} MB, errors ${row.errors}, non-200 ${row.non200}, not sent ${row.notSent}`)
      if (next === undefined) break
      current = next
    }
  } catch (err) {
    failure = err
  } finally {
    clearInterval(sampler)
  }
  const exitCode = await server.stop()
  if (failure !== undefined) throw failure
  log('service stopped; checking the ledger')
  const db = new Database(dbPath, { readonly: true })
  const check = checkLedger(db)
  db.close()

  // Trends over the minutes after the first (JIT warm-up, caches filling).
  const steady = perMinute.filter(r => r.minute > 1)
  const p99s = steady.map(r => r.latencyMs.p99).sort((a, b) => a - b)
  const results = {
    benchmark: 'soak',
    when: new Date().toISOString(),
    machine: machineInfo(),
    settings: { minutes, ratePerSecond, connections, fleet: fleetName, segmentS: SEGMENT_S },
    measuredMinutes: perMinute.length,
    rssMbAtStart: rssStart,
    perMinute,
    trend: {
      basis: 'minutes after the first',
      rssMbPerMinute: slope(steady.map(r => [r.minute, r.rssMbEnd])),
      p99MsPerMinute: slope(steady.map(r => [r.minute, r.latencyMs.p99])),
      p99MsMedian: p99s.length === 0 ? null : p99s[Math.floor(p99s.length / 2)],
      p99MsWorst: p99s.length === 0 ? null : p99s[p99s.length - 1]
    },
    totals: {
      completed: perMinute.reduce((s, r) => s + r.completed, 0),
      errors: perMinute.reduce((s, r) => s + r.errors, 0),
      non200: perMinute.reduce((s, r) => s + r.non200, 0),
      notSent: perMinute.reduce((s, r) => s + r.notSent, 0)
    },
    ledgerCheck: { ok: check.ok, problems: check.problems.slice(0, 10), counts: check.counts },
    serviceExitCode: exitCode
  }
  const outDir = join(ROOT, 'bench', 'results')
  mkdirSync(outDir, { recursive: true })
  const name = `soak-${ratePerSecond}`
  writeFileSync(join(outDir, `${name}.json`), JSON.stringify(results, null, 2) + '\n')
  writeFileSync(join(outDir, `${name}.md`), markdown(results))
  log(`written bench/results/${name}.json and ${name}.md (ledger check ${check.ok ? 'ok' : 'FAILED'}, service exit ${String(exitCode)})`)
}

function markdown (r: { when: string, machine: ReturnType<typeof machineInfo>, settings: { minutes: number, ratePerSecond: number, connections: number, fleet: string }, measuredMinutes: number, rssMbAtStart: number, perMinute: SoakMinute[], trend: Record<string, unknown>, totals: Record<string, number>, ledgerCheck: { ok: boolean }, serviceExitCode: number | null }): string {
  const rows = r.perMinute.map(m =>
    `| ${m.minute} | ${m.measuredS} | ${m.throughputPerS} | ${m.latencyMs.p50} | ${m.latencyMs.p99} | ${m.latencyMs.p999} | ${m.latencyMs.max} | ${m.serviceTimeMsP99 ?? '–'} | ${m.sendLagMsP99 ?? '–'} | ${m.rssMbEnd} | ${m.rssMbMax} | ${m.ledgerMb} | ${m.errors + m.non200 + m.notSent} | ${m.serverCpuPercent ?? '–'} | ${m.otherCpuPercent ?? '–'} |`)
  // The service's own p99 (from the actual send) apart from the generator's lag: on the same two
  // cores the generator cannot always hold the schedule, and latency from the intended send time
  // adds its lag to every request it sent late.
  const steady = r.perMinute.filter(m => m.minute > 1 && m.serviceTimeMsP99 !== null)
  const serviceP99s = steady.map(m => m.serviceTimeMsP99!).sort((a, b) => a - b)
  const serviceTrend = serviceP99s.length === 0
    ? 'no service time recorded'
    : `service p99 (from the actual send) ${serviceP99s[0]}–${serviceP99s[serviceP99s.length - 1]} ms, median ${serviceP99s[Math.floor(serviceP99s.length / 2)]} ms, ` +
      `${slope(steady.map(m => [m.minute, m.serviceTimeMsP99!]))} ms a minute`
  return [
    '# Soak: RSS and latency over time',
    '',
    `Measured ${r.when} on ${JSON.stringify(r.machine)}.`,
    `Offered ${r.settings.ratePerSecond} taps/s (open loop) on ${r.settings.connections} keep-alive connections, ${r.settings.fleet} bench fleet, ` +
      `for **${r.measuredMinutes} measured minute(s)** (asked: ${r.settings.minutes}). Produced by \`npm run bench:soak\` (bench/soak.ts).`,
    '',
    `Service RSS at start: ${r.rssMbAtStart} MB.`,
    '',
    '| minute | s of load | taps/s | p50 ms | p99 ms | p99.9 ms | max ms | service p99 ms | send lag p99 ms | RSS MB (end) | RSS MB (max) | ledger MB | failed | server CPU % | other CPU % |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `Trend (minutes after the first): ${JSON.stringify(r.trend)}; ${serviceTrend}.`,
    '',
    `Totals: ${JSON.stringify(r.totals)}. Ledger check after the run: ${r.ledgerCheck.ok ? 'ok' : 'FAILED'}; service exit code ${String(r.serviceExitCode)}.`,
    '',
    'A minute with fewer than 60 s of load: the service fell more than 2 s behind the offered rate and the generator stopped for the rest of that minute (the next minute offers the full rate again).',
    '"failed" = transport errors + non-200 answers + requests not sent because the service fell more than 2 s behind.',
    'Latency (p50 to max) is from each request\'s intended send time: what a client on the schedule sees. "service p99" is from the actual send to the answer; "send lag p99" is how late the generator sent (its own noise floor: sharing the 2 cores with the service, it falls behind its schedule when the service takes the CPU). "other CPU" is what the rest of the machine used meanwhile (other work on a shared machine disturbs the figures).',
    ''
  ].join('\n')
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:soak failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exit(1)
})
