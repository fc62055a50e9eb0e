// The two ledger engines side by side (issue #9): the same fleet, the same load generator, the same
// run, on SQLite (one process, the embedded default) and on PostgreSQL with one and with two
// service processes. Each configuration gets a fresh ledger, a max-throughput run and a fixed-rate
// run, then the ledger check. Ratios are against SQLite's max throughput.
//
//   npm run bench:engines [-- --quick]      (a throwaway PostgreSQL 15 via scripts/with-postgres.sh)
//   results: bench/results/engines-latest.json and .md (--quick: engines-quick.*, gitignored)
//
// Everything runs on this machine's 2 cores: the load generator, the service processes and the
// PostgreSQL server share them. The report gives each one's CPU so the limit is visible.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { FIXTURES_DIR, loadFixtures } from '../src/fixtures.js'
import { checkLedger } from '../src/ledger/check.js'
import { PgEngine } from '../src/ledger/pg-engine.js'
import { checkPgLedger } from '../src/ledger/pg-reports.js'
import { openLedgerDb } from '../src/ledger/schema.js'
import { buildCatalogue } from '../src/rules/catalogue.js'
import { processCpuSeconds } from './lib/stats.js'
import { buildFleet, FLEET_FULL, FLEET_QUICK, type Fleet } from './lib/fleet.js'
import { machineInfo } from './lib/machine.js'
import { installExitHooks, ROOT, runLoadgen, startServer, type Server } from './lib/processes.js'
import { histogram } from './lib/prom.js'
import { BENCH_PG_CARD_DATA_KEY, benchCardInput, benchTerminalRecord, provisionFleet } from './lib/provision.js'
import type { LoadConfig, LoadResult } from './loadgen.js'

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } })
const QUICK = values.quick === true
const PROFILE = QUICK
  ? { fleet: 'quick' as const, connections: 64, warmupS: 1, maxS: 4, rateS: 4, ratePerSecond: 1_000, pool: 40_000 }
  : { fleet: 'full' as const, connections: 64, warmupS: 5, maxS: 20, rateS: 20, ratePerSecond: 1_000, pool: 150_000 }
// Provisioning goes through the engine's own createCard, this many at a time (its op lanes).
const PROVISION_IN_FLIGHT = 4
const WAIT_SAMPLE_MS = 20

const adminUrl = process.env.YKT_TEST_PG_URL ?? ''
if (adminUrl === '') {
  process.stderr.write('bench:engines needs YKT_TEST_PG_URL (run it as npm run bench:engines: scripts/with-postgres.sh starts a throwaway server)\n')
  process.exit(3)
}

const t0 = performance.now()
const log = (message: string): void => { process.stdout.write(`[engines ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${message}\n`) }
const workDir = mkdtempSync(join(tmpdir(), 'yikatong-engines-'))
installExitHooks(() => { rmSync(workDir, { recursive: true, force: true }) })

interface EngineRun {
  config: string
  engine: 'sqlite' | 'postgres'
  processes: number
  provisionMs: number
  max: RunFigures
  rate: RunFigures
  ledgerCheck: { ok: boolean, problems: string[] }
}

interface RunFigures {
  throughputPerS: number
  completed: number
  statuses: Record<string, number>
  errors: number
  latencyMs: LoadResult['measured']['latencyMs']
  /** CPU of the service processes, % of one core. */
  servicesCpuPercent: number | null
  /** CPU of the PostgreSQL server (all its processes), % of one core; null on SQLite. */
  databaseCpuPercent: number | null
  loadgenCpuPercent: number
  /** Everything else on the machine (other users' work), % of one core: high means a disturbed run. */
  otherCpuPercent: number | null
  tapsPerCommitMean: number
  commitMsMean: number
  /** PostgreSQL only: what the service connections were doing, sampled every WAIT_SAMPLE_MS over
   *  the run (pg_stat_activity: wait_event_type:wait_event, or "CPU" when active and not waiting). */
  databaseWaits: Record<string, number> | null
}

async function main (): Promise<void> {
  const fleet = buildFleet(QUICK ? FLEET_QUICK : FLEET_FULL)
  const runs: EngineRun[] = []
  runs.push(await sqliteRun(fleet))
  runs.push(await postgresRun(fleet, 1))
  runs.push(await postgresRun(fleet, 2))
  const sqliteMax = runs[0]!.max.throughputPerS
  const ratios = Object.fromEntries(runs.slice(1).map(r => [`${r.config} / sqlite (max throughput)`, Math.round(r.max.throughputPerS / sqliteMax * 100) / 100]))
  const results = {
    benchmark: 'yikatong ledger engines',
    profile: QUICK ? 'quick' : 'full',
    startedAt: new Date(Date.now() - (performance.now() - t0)).toISOString(),
    durationS: Math.round((performance.now() - t0) / 1000),
    machine: machineInfo(),
    postgres: await postgresFacts(),
    settings: { ...PROFILE, fleet: { cards: fleet.cards.length, terminals: fleet.terminals.length } },
    runs,
    ratios
  }
  const base = QUICK ? 'engines-quick' : 'engines-latest'
  writeFileSync(join(ROOT, 'bench', 'results', `${base}.json`), JSON.stringify(results, null, 2) + '\n')
  writeFileSync(join(ROOT, 'bench', 'results', `${base}.md`), markdown(results.runs, ratios, results.machine, results.postgres))
  log(`wrote bench/results/${base}.json and .md`)
  for (const [name, ratio] of Object.entries(ratios)) log(`${name}: ${ratio}`)
  if (runs.some(r => !r.ledgerCheck.ok)) throw new Error('a ledger check failed')
  // A fast run of refusals is not throughput: the figures count only if every tap got a decision.
  const refused = runs.flatMap(r => [r.max, r.rate].filter(f => Object.keys(f.statuses).some(s => s !== '200')).map(f => `${r.config}: ${JSON.stringify(f.statuses)}`))
  if (refused.length > 0) throw new Error(`runs with answers other than 200 (their figures are not throughput): ${refused.join('; ')}`)
}

// SQLite: the fleet written into the file by the writer's own code, one process.

async function sqliteRun (fleet: Fleet): Promise<EngineRun> {
  const dbPath = join(workDir, 'sqlite.db')
  const provisioned = await provisionFleet(dbPath, fleet)
  log(`sqlite: ${provisioned.cards} cards, ${provisioned.terminals} terminals in ${Math.round(provisioned.ms)} ms`)
  const env = { DB_PATH: dbPath }
  const figures = await loadRuns('sqlite', [env], () => null)
  const db = openLedgerDb(dbPath, { readonly: true })
  const check = (() => { try { return checkLedger(db) } finally { db.close() } })()
  return { config: 'sqlite, 1 process', engine: 'sqlite', processes: 1, provisionMs: Math.round(provisioned.ms), ...figures, ledgerCheck: { ok: check.ok, problems: check.problems } }
}

// PostgreSQL: a fresh database, the fleet written through PgEngine (createCard per card), N processes.

async function postgresRun (fleet: Fleet, processes: number): Promise<EngineRun> {
  const name = `ykt_bench_${randomBytes(4).toString('hex')}`
  await withClient(adminUrl, async c => { await c.query(`CREATE DATABASE ${name}`) })
  const databaseUrl = adminUrl.replace(/\/[^/?]*(\?|$)/, `/${name}$1`)
  try {
    const provisionMs = await provisionPg(databaseUrl, fleet, name)
    log(`postgres: ${fleet.cards.length} cards, ${fleet.terminals.length} terminals in ${provisionMs} ms`)
    const envs = Array.from({ length: processes }, () => ({ DATABASE_URL: databaseUrl, SERVICE_PROCESSES: String(processes), CARD_DATA_KEY: BENCH_PG_CARD_DATA_KEY }))
    const figures = await loadRuns(`postgres-${processes}`, envs, databaseCpuSampler, () => waitSampler(name))
    const check = await withClient(databaseUrl, async c => await checkPgLedger(c))
    return { config: `postgres, ${processes} process${processes > 1 ? 'es' : ''}`, engine: 'postgres', processes, provisionMs, ...figures, ledgerCheck: { ok: check.ok, problems: check.problems } }
  } finally {
    await withClient(adminUrl, async c => { await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) })
  }
}

async function provisionPg (databaseUrl: string, fleet: Fleet, database: string): Promise<number> {
  const started = performance.now()
  // Provisioning is not what is measured: its commits need not wait for the disk. Reset before
  // the services connect, so the measured runs commit with synchronous_commit on.
  await withClient(databaseUrl, async c => { await c.query(`ALTER DATABASE ${database} SET synchronous_commit = off`) })
  const catalogue = buildCatalogue(loadFixtures(FIXTURES_DIR))
  const engine = await PgEngine.open({ databaseUrl, catalogue, serialize: answer => JSON.stringify(answer), denylistKey: randomBytes(32), cardDataKey: Buffer.from(BENCH_PG_CARD_DATA_KEY) })
  try {
    const nowMs = Date.now()
    for (const t of fleet.terminals) await engine.registerTerminal(benchTerminalRecord(t, nowMs))
    let next = 0
    await Promise.all(Array.from({ length: PROVISION_IN_FLIGHT }, async () => {
      while (next < fleet.cards.length) await engine.createCard(benchCardInput(fleet.cards[next++]!, catalogue), nowMs)
    }))
  } finally {
    await engine.close()
  }
  await withClient(databaseUrl, async c => {
    await c.query(`ALTER DATABASE ${database} RESET synchronous_commit`)
    await c.query('VACUUM ANALYZE')
  })
  return Math.round(performance.now() - started)
}

// The load: the same two runs on every configuration.

type Sampler = () => (() => Promise<Record<string, number>>) | null

async function loadRuns (name: string, envs: Array<Record<string, string>>, databaseCpu: () => (() => number) | null, waits: Sampler = () => null): Promise<{ max: RunFigures, rate: RunFigures }> {
  const servers: Server[] = []
  try {
    for (const [i, env] of envs.entries()) {
      servers.push(await startServer({
        script: 'src/main.ts',
        env: { PORT: '0', HOST: '127.0.0.1', ADMIN_TOKEN: 'bench-admin-token', SEED: 'none', LOG_LEVEL: 'info', DB_PATH: join(workDir, `${name}-${i}.db`), CARD_TOKEN_KEY: 'bench-card-token-key-0123456789abcdef-0123', TERMINAL_SECRETS_KEY: 'bench-terminal-secrets-key-0123456789abcdef', ...env },
        logPath: join(workDir, `${name}-${i}.log`),
        readyMsMax: 60_000
      }))
    }
    const base = { urls: servers.map(s => s.url), url: servers[0]!.url, serverPids: servers.map(s => s.pid), connections: PROFILE.connections, warmupS: PROFILE.warmupS, recycle: false, fleet: PROFILE.fleet }
    log(`${name}: max throughput, ${PROFILE.connections} connections over ${servers.length} process(es), ${PROFILE.maxS} s`)
    const max = await measured(`${name}-max`, { ...base, mode: 'max', durationS: PROFILE.maxS, poolSize: PROFILE.pool, seqOffset: 0 }, servers, databaseCpu, waits)
    log(`${name}: ${max.figures.throughputPerS}/s, p99 ${max.figures.latencyMs.p99} ms; fixed ${PROFILE.ratePerSecond}/s for ${PROFILE.rateS} s`)
    const rate = await measured(`${name}-rate`, {
      ...base, mode: 'rate', ratePerSecond: PROFILE.ratePerSecond, durationS: PROFILE.rateS,
      poolSize: Math.ceil(PROFILE.ratePerSecond * (PROFILE.warmupS + PROFILE.rateS)), seqOffset: max.sent
    }, servers, databaseCpu, waits, max.batches)
    log(`${name}: p99 ${rate.figures.latencyMs.p99} ms at ${PROFILE.ratePerSecond}/s`)
    return { max: max.figures, rate: rate.figures }
  } finally {
    for (const server of servers) await server.stop()
  }
}

async function measured (name: string, config: Omit<LoadConfig, 'resultPath'>, servers: Server[], databaseCpu: () => (() => number) | null, waits: Sampler, before?: CommitTotals): Promise<{ figures: RunFigures, sent: number, batches: CommitTotals }> {
  const stopDatabaseCpu = databaseCpu()
  const stopWaits = waits()
  const result = await runLoadgen(config, workDir, name)
  const dbCpuS = stopDatabaseCpu?.() ?? null
  const databaseWaits = stopWaits === null ? null : await stopWaits()
  const totals = await commitTotals(servers)
  const batches = before === undefined ? totals : { batches: totals.batches - before.batches, taps: totals.taps - before.taps, commitS: totals.commitS - before.commitS }
  const m = result.measured
  // The database's CPU is sampled over the whole load generator run (warm-up included): a share.
  const wholeRunS = config.warmupS + m.durationS
  return {
    sent: result.sent,
    batches: totals,
    figures: {
      throughputPerS: m.throughputPerS,
      completed: m.completed,
      statuses: m.statuses,
      errors: m.errors,
      latencyMs: m.latencyMs,
      servicesCpuPercent: m.serverCpuPercent,
      databaseCpuPercent: dbCpuS === null ? null : Math.round(dbCpuS * 100 / wholeRunS),
      loadgenCpuPercent: m.loadgenCpuPercent,
      otherCpuPercent: m.otherCpuPercent === null ? null : Math.max(0, m.otherCpuPercent - (dbCpuS === null ? 0 : Math.round(dbCpuS * 100 / wholeRunS))),
      tapsPerCommitMean: batches.batches === 0 ? 0 : Math.round(batches.taps / batches.batches * 10) / 10,
      commitMsMean: batches.batches === 0 ? 0 : Math.round(batches.commitS / batches.batches * 1e6) / 1000,
      databaseWaits
    }
  }
}

interface CommitTotals { batches: number, taps: number, commitS: number }

async function commitTotals (servers: Server[]): Promise<CommitTotals> {
  const totals: CommitTotals = { batches: 0, taps: 0, commitS: 0 }
  for (const server of servers) {
    const text = await (await fetch(`${server.url}/metrics`)).text()
    const size = histogram(text, 'yikatong_group_commit_batch_size')
    const seconds = histogram(text, 'yikatong_group_commit_seconds')
    totals.batches += size.count
    totals.taps += size.mean * size.count
    totals.commitS += seconds.mean * seconds.count
  }
  return totals
}

/** CPU seconds of every postgres process on the machine between the call and the stop. */
function databaseCpuSampler (): () => number {
  const start = postgresCpuSeconds()
  return () => postgresCpuSeconds() - start
}

function postgresCpuSeconds (): number {
  let total = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'latin1').trim() !== 'postgres') continue
      total += processCpuSeconds(Number(entry), p => readFileSync(p, 'latin1')) ?? 0
    } catch { /* the process ended */ }
  }
  return total
}

/** Samples the wait events of the service connections to `database` until stopped. */
function waitSampler (database: string): () => Promise<Record<string, number>> {
  const counts: Record<string, number> = {}
  let stopped = false
  const loop = withClient(adminUrl, async c => {
    while (!stopped) {
      const rows = await c.query<{ what: string }>(
        `SELECT COALESCE(wait_event_type || ':' || wait_event, 'CPU')
            || CASE WHEN wait_event_type = 'Lock' THEN ' (' || left(regexp_replace(query, '\\s+', ' ', 'g'), 48) || '…)' ELSE '' END AS what FROM pg_stat_activity
          WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid()`, [database])
      for (const row of rows.rows) counts[row.what] = (counts[row.what] ?? 0) + 1
      await new Promise(resolve => setTimeout(resolve, WAIT_SAMPLE_MS))
    }
  })
  return async () => {
    stopped = true
    await loop
    return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]))
  }
}

async function postgresFacts (): Promise<Record<string, string>> {
  return await withClient(adminUrl, async c => {
    const rows = await c.query<{ name: string, setting: string }>("SELECT name, setting FROM pg_settings WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'shared_buffers', 'wal_level', 'max_connections')")
    return Object.fromEntries(rows.rows.map(r => [r.name, r.setting]))
  })
}

async function withClient<T> (url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 })
  await client.connect()
  try { return await work(client) } finally { await client.end() }
}

function markdown (runs: EngineRun[], ratios: Record<string, number>, machine: ReturnType<typeof machineInfo>, postgres: Record<string, string>): string {
  const row = (r: EngineRun, f: RunFigures, kind: string): string =>
    `| ${r.config} | ${kind} | ${f.throughputPerS} | ${f.latencyMs.p50} | ${f.latencyMs.p99} | ${f.latencyMs.max} | ${f.tapsPerCommitMean} | ${f.commitMsMean} | ${f.servicesCpuPercent ?? '–'} | ${f.databaseCpuPercent ?? '–'} | ${f.loadgenCpuPercent} | ${f.otherCpuPercent ?? '–'} | ${Object.entries(f.statuses).map(([s, n]) => `${s}: ${n}`).join(', ')} |`
  return [
    `# Ledger engines, ${QUICK ? 'quick' : 'full'} run`,
    '',
    `Machine: ${JSON.stringify(machine)}`,
    `PostgreSQL: ${JSON.stringify(postgres)}`,
    '',
    '| configuration | run | taps/s | p50 ms | p99 ms | max ms | taps/commit | commit ms | services CPU % | PostgreSQL CPU % | loadgen CPU % | other CPU % | statuses |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...runs.flatMap(r => [row(r, r.max, 'max'), row(r, r.rate, `${PROFILE.ratePerSecond}/s`)]),
    '',
    ...Object.entries(ratios).map(([k, v]) => `- ${k}: **${v}**`),
    '',
    '## What the PostgreSQL connections waited on (samples of active service connections)',
    '',
    ...runs.filter(r => r.max.databaseWaits !== null).flatMap(r => [`- ${r.config}, max: ${Object.entries(r.max.databaseWaits!).map(([k, v]) => `${k} ${v}`).join(', ')}`, `- ${r.config}, ${PROFILE.ratePerSecond}/s: ${Object.entries(r.rate.databaseWaits!).map(([k, v]) => `${k} ${v}`).join(', ')}`]),
    '',
    `Ledger check after each configuration: ${runs.map(r => `${r.config} ${r.ledgerCheck.ok ? 'ok' : 'FAILED'}`).join('; ')}.`,
    'CPU is % of one core (the machine has 2). PostgreSQL CPU is the share over the whole load run, warm-up included;',
    '"other" is the rest of the machine (anything else running there): above ~20 % the run was disturbed.',
    ''
  ].join('\n')
}

await main()
