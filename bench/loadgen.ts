// The load generator, run as its own process: node --import tsx bench/loadgen.ts <config.json>
//
// 1. Builds the whole request pool first (tap bodies from the mix, each signed with its terminal's
//    secret as a terminal would: bench/lib/signing cost is NOT in the measured loop). Timestamps are
//    taken at build time; runs last seconds to a minute, well inside the ±300 s window.
// 2. Opens all connections, then runs one of two modes, warm-up first (not recorded):
//    - max:  closed loop, every connection sends its next request as soon as it has the answer;
//    - rate: open loop at a constant offered rate. Latency is measured from each request's INTENDED
//            send time (start + i / rate), not from when a connection was free to send it, so a
//            stalled server is charged for the requests it kept waiting (no coordinated omission).
//            The generator ticks every ~1 ms (a busy loop would steal a core from the server), so a
//            request may leave up to a tick late; that lag is in the latency, and reported apart.
// 3. Writes a JSON result to config.resultPath, then exits. Bounded in count (the pool) and time.
import { readFileSync, writeFileSync } from 'node:fs'
import { buildFleet, FLEET_FULL, FLEET_QUICK } from './lib/fleet.js'
import { HttpConn, type Answer } from './lib/http-conn.js'
import { machineBusySeconds, percentiles, processCpuSeconds, type Percentiles } from './lib/stats.js'
import { plannedTap } from './lib/tap-mix.js'
import { bodySha256Hex, sign } from '../src/auth/signature.js'

export interface LoadConfig {
  url: string
  mode: 'max' | 'rate'
  connections: number
  /** Offered rate (mode rate). */
  ratePerSecond?: number
  warmupS: number
  durationS: number
  /** Requests in the pool: the run stops when they are all sent (mode max), even before durationS. */
  poolSize: number
  /** Reuse the pool from the start when it runs out (baseline servers only: tap ids repeat). */
  recycle: boolean
  fleet: 'full' | 'quick'
  /** First tap number of this run in the ledger's life (see lib/tap-mix.ts). */
  seqOffset: number
  /** PID of the server, to read its CPU time over the measured window. */
  serverPid?: number
  /** Several service processes (bench/engines.ts): connection i goes to urls[i % urls.length], as a
   *  load balancer hashing connections would spread them; `url` is then the first of them. */
  urls?: string[]
  /** Every process whose CPU counts as "server" (services and the database), instead of serverPid. */
  serverPids?: number[]
  /** Epoch ms to start sending at (the pool is built and connections opened before): lets the soak line up back-to-back runs. */
  startAtMs?: number
  resultPath: string
}

export interface LoadResult {
  mode: 'max' | 'rate'
  connections: number
  ratePerSecond: number | null
  poolBuildMs: number
  /** Requests sent, warm-up included: the next run on the same ledger starts at seqOffset + sent. */
  sent: number
  measured: {
    durationS: number
    completed: number
    throughputPerS: number
    statuses: Record<string, number>
    errors: number
    errorSamples: string[]
    /** Mode rate: requests never sent because the backlog bound was hit. */
    notSent: number
    /** Answers past the sample store's bound (latency not recorded; counted in throughput). */
    unrecorded: number
    latencyMs: Percentiles
    /** Mode rate: from actual send to answer (what a closed-loop tool would report). */
    serviceTimeMs: Percentiles | null
    /** Mode rate: how late the generator sent relative to the schedule (its own noise floor). */
    sendLagMs: Percentiles | null
    requestBytesAvg: number
    responseBodyBytesAvg: number
    loadgenCpuPercent: number
    serverCpuPercent: number | null
    /** CPU used by everything else on the machine during the window (% of one core). */
    otherCpuPercent: number | null
  }
}

const TICK_MS = 1
const DRAIN_MS_MAX = 20_000
const BACKLOG_S_MAX = 2
const SAMPLES_MAX = 4_000_000

function localIso (epochMs: number): string {
  // China: UTC+8, no DST.
  return new Date(epochMs + 8 * 3_600_000).toISOString().replace('Z', '+08:00')
}

function buildPool (config: LoadConfig, host: string): { pool: Buffer[], bodyBytes: number } {
  const fleet = buildFleet(config.fleet === 'full' ? FLEET_FULL : FLEET_QUICK)
  const path = '/v1/taps'
  const pool: Buffer[] = new Array(config.poolSize)
  const nowMs = Date.now()
  const spacingMs = config.ratePerSecond === undefined ? 0.1 : 1000 / config.ratePerSecond
  let bodyBytes = 0
  for (let i = 0; i < config.poolSize; i++) {
    // `at`: when the card would be tapped on this schedule (never more than 5 min ahead).
    const planned = plannedTap(fleet, config.seqOffset + i, localIso(nowMs + Math.min(i * spacingMs, 60_000)))
    const body = Buffer.from(JSON.stringify(planned.body))
    const timestamp = String(nowMs)
    const signature = sign(planned.terminal.secret, 'POST', path, timestamp, bodySha256Hex(body))
    const head = `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
      `X-Terminal-Id: ${planned.terminal.terminalId}\r\nX-Timestamp: ${timestamp}\r\nX-Signature: ${signature}\r\n\r\n`
    pool[i] = Buffer.concat([Buffer.from(head, 'latin1'), body])
    bodyBytes += body.length
  }
  return { pool, bodyBytes }
}

async function run (config: LoadConfig): Promise<LoadResult> {
  const url = new URL(config.url)
  const buildStarted = performance.now()
  const { pool } = buildPool(config, url.host)
  const poolBuildMs = performance.now() - buildStarted
  const targets = (config.urls ?? [config.url]).map(u => new URL(u))
  const conns = Array.from({ length: config.connections }, (_, i) => new HttpConn(targets[i % targets.length]!.hostname, Number(targets[i % targets.length]!.port)))
  const serverPids = config.serverPids ?? (config.serverPid === undefined ? [] : [config.serverPid])
  const serversCpuSeconds = (): number | undefined => serverPids.length === 0
    ? undefined
    : serverPids.reduce((sum, pid) => sum + (processCpuSeconds(pid, readStat) ?? 0), 0)
  await Promise.all(conns.map(async c => await c.open()))

  // Samples are kept (exact percentiles); a recycled pool is bounded by time, not by its size.
  const capacity = config.recycle ? SAMPLES_MAX : config.poolSize + 16
  const latency = new Float64Array(capacity)
  const serviceTime = new Float64Array(capacity)
  const sendLag = new Float64Array(capacity)
  let recorded = 0
  let unrecorded = 0
  let completed = 0
  let errors = 0
  const errorSamples: string[] = []
  const statuses: Record<string, number> = {}
  let requestBytes = 0
  let responseBodyBytes = 0
  let next = 0
  let inFlight = 0
  let notSent = 0
  let stopSending = false

  const started = performance.now() + (config.startAtMs === undefined ? 20 : Math.max(20, config.startAtMs - Date.now()))
  const warmupEnd = started + config.warmupS * 1000
  const measureEnd = warmupEnd + config.durationS * 1000
  let cpuAtStart = process.cpuUsage()
  let serverCpuAtStart: number | undefined
  let machineAtStart: number | undefined
  let machineAtEnd: number | undefined
  let measureStarted = false
  let measureStartedAt = warmupEnd
  let measureEndedAt = measureEnd
  const readStat = (p: string): string => readFileSync(p, 'latin1')
  const markMeasureStart = (now: number): void => {
    if (measureStarted) return
    measureStarted = true
    measureStartedAt = now
    cpuAtStart = process.cpuUsage()
    serverCpuAtStart = serversCpuSeconds()
    machineAtStart = machineBusySeconds(readStat)
  }
  let cpuAtEnd: NodeJS.CpuUsage | undefined
  let serverCpuAtEnd: number | undefined
  const markMeasureEnd = (now: number): void => {
    if (cpuAtEnd !== undefined) return
    measureEndedAt = now
    cpuAtEnd = process.cpuUsage(cpuAtStart)
    serverCpuAtEnd = serversCpuSeconds()
    machineAtEnd = machineBusySeconds(readStat)
  }

  const requestAt = (i: number): Buffer => pool[config.recycle ? i % pool.length : i]!
  const poolLimit = config.recycle ? Number.MAX_SAFE_INTEGER : pool.length
  const rate = config.ratePerSecond ?? 0
  const intended = (i: number): number => started + i * 1000 / rate

  let finished!: () => void
  const allDone = new Promise<void>(resolve => { finished = resolve })
  const maybeFinish = (): void => { if (stopSending && inFlight === 0) finished() }

  const onAnswer = (i: number, sentAt: number, answer: Answer, conn: HttpConn): void => {
    const now = performance.now()
    inFlight--
    const inWindow = config.mode === 'rate' ? intended(i) >= warmupEnd : sentAt >= warmupEnd && now <= measureEnd
    if (inWindow) {
      completed++
      if (answer.error !== undefined) {
        errors++
        if (errorSamples.length < 5) errorSamples.push(answer.error)
      } else {
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1
        responseBodyBytes += answer.bodyBytes
      }
      requestBytes += requestAt(i).length
      if (recorded >= capacity) {
        unrecorded++
      } else if (config.mode === 'rate') {
        latency[recorded] = now - intended(i)
        serviceTime[recorded] = now - sentAt
        sendLag[recorded] = sentAt - intended(i)
      } else {
        latency[recorded] = now - sentAt
      }
      if (recorded < capacity) recorded++
    }
    if (config.mode === 'max') {
      if (now >= measureEnd) { markMeasureEnd(now); stopSending = true }
      if (!stopSending) sendNext(conn)
    } else if (dueHead < due.length) {
      sendIndex(conn, due[dueHead++]!)
    } else {
      idle.push(conn)
    }
    maybeFinish()
  }

  const sendIndex = (conn: HttpConn, i: number): void => {
    const sentAt = performance.now()
    if (sentAt >= warmupEnd) markMeasureStart(sentAt)
    inFlight++
    conn.send(requestAt(i), answer => onAnswer(i, sentAt, answer, conn))
  }

  // Mode max: each connection sends the next request of the pool as soon as it is free.
  const sendNext = (conn: HttpConn): void => {
    if (next >= poolLimit) { markMeasureEnd(performance.now()); stopSending = true; return }
    sendIndex(conn, next++)
  }

  // Mode rate: requests whose intended time has come wait in `due` for a free connection.
  const due: number[] = []
  let dueHead = 0
  const idle: HttpConn[] = [...conns]
  const dispatchQueued = (): void => {
    while (dueHead < due.length && idle.length > 0) sendIndex(idle.pop()!, due[dueHead++]!)
  }
  const total = config.mode === 'rate' ? Math.min(poolLimit, Math.round(rate * (config.warmupS + config.durationS))) : poolLimit
  const tick = (): void => {
    const now = performance.now()
    while (next < total && intended(next) <= now) due.push(next++)
    if (due.length - dueHead > rate * BACKLOG_S_MAX) {
      // The server is BACKLOG_S_MAX seconds behind: stop rather than queue without bound.
      notSent = total - next + (due.length - dueHead)
      due.length = dueHead
      next = total
    }
    dispatchQueued()
    if (dueHead > 4096) { due.splice(0, dueHead); dueHead = 0 }
    if (next >= total && due.length === dueHead) {
      markMeasureEnd(now)
      stopSending = true
      maybeFinish()
      return
    }
    setTimeout(tick, TICK_MS)
  }

  const hardStop = setTimeout(() => {
    errors += inFlight
    if (errorSamples.length < 5) errorSamples.push(`${inFlight} requests unanswered after the drain time`)
    inFlight = 0
    stopSending = true
    finished()
  }, started - performance.now() + (config.warmupS + config.durationS) * 1000 + DRAIN_MS_MAX)

  const wait = started - performance.now()
  await new Promise(resolve => setTimeout(resolve, Math.max(0, wait)))
  if (config.mode === 'max') {
    for (const c of conns) sendNext(c)
    // Closed loop ends itself on answers; this timer ends it if the server stops answering.
    const endTimer = setInterval(() => {
      if (performance.now() >= measureEnd) { markMeasureEnd(performance.now()); stopSending = true; maybeFinish(); clearInterval(endTimer) }
    }, 50)
  } else {
    tick()
  }
  await allDone
  clearTimeout(hardStop)
  markMeasureEnd(performance.now())
  for (const c of conns) c.close()

  const windowS = (measureEndedAt - measureStartedAt) / 1000
  const cpu = cpuAtEnd ?? process.cpuUsage(cpuAtStart)
  const serverCpu = serverCpuAtStart !== undefined && serverCpuAtEnd !== undefined ? serverCpuAtEnd - serverCpuAtStart : undefined
  const ok = completed - errors
  const loadgenCpuS = (cpu.user + cpu.system) / 1e6
  const otherCpuS = machineAtStart !== undefined && machineAtEnd !== undefined && serverCpu !== undefined
    ? Math.max(0, machineAtEnd - machineAtStart - serverCpu - loadgenCpuS)
    : undefined
  return {
    mode: config.mode,
    connections: config.connections,
    ratePerSecond: config.ratePerSecond ?? null,
    poolBuildMs: Math.round(poolBuildMs),
    sent: next,
    measured: {
      durationS: Math.round(windowS * 1000) / 1000,
      completed,
      throughputPerS: Math.round(completed / windowS),
      statuses,
      errors,
      errorSamples,
      notSent,
      unrecorded,
      latencyMs: percentiles(latency, recorded),
      serviceTimeMs: config.mode === 'rate' ? percentiles(serviceTime, recorded) : null,
      sendLagMs: config.mode === 'rate' ? percentiles(sendLag, recorded) : null,
      requestBytesAvg: completed === 0 ? 0 : Math.round(requestBytes / completed),
      responseBodyBytesAvg: ok === 0 ? 0 : Math.round(responseBodyBytes / ok),
      loadgenCpuPercent: Math.round((cpu.user + cpu.system) / 1e4 / windowS),
      serverCpuPercent: serverCpu === undefined ? null : Math.round(serverCpu * 100 / windowS),
      otherCpuPercent: otherCpuS === undefined ? null : Math.round(otherCpuS * 100 / windowS)
    }
  }
}

const configPath = process.argv[2]
if (configPath === undefined) {
  process.stderr.write('usage: node --import tsx bench/loadgen.ts <config.json>\n')
  process.exit(2)
}
const config = JSON.parse(readFileSync(configPath, 'utf8')) as LoadConfig
run(config).then(result => {
  writeFileSync(config.resultPath, JSON.stringify(result, null, 2) + '\n')
  process.exit(0)
}, (error: unknown) => {
  process.stderr.write(`loadgen failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exit(1)
})
