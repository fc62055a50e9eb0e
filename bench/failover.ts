// The failover run (issue #9): taps stream from many terminals into two service processes on a
// two-node Patroni cluster with synchronous replication. The primary node is lost (its Patroni and
// its PostgreSQL SIGKILLed together), Patroni promotes the standby, the services find the new
// primary by themselves (DATABASE_URL lists both hosts, target_session_attrs=read-write); then the
// old node comes back as a standby, and PostgreSQL alone is killed on the primary (its Patroni
// restarts it in place). Terminals behave as terminals do: an answer other than 200 is retried
// with the same tapId, against either process, until answered (bounded).
// Afterwards: every approved answer a client received is in the ledger with the same bytes, every
// card's balance is its opening less what its clients were told, the ledger check passes. The
// outage window of each fault is measured: the longest time without an approved answer.
//   npm run bench:failover [-- --quick]     (writes bench/results/failover-latest.json)
import { writeFileSync, mkdirSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import pg from 'pg'
import { clusterPackagesMissing, PATRONI_TTL_S, startCluster, type Cluster } from './ha/patroni-cluster.js'
import { startService, type RunningService } from '../test/helpers/service.js'
import { adminCall, postSigned, type HttpAnswer } from '../test/helpers/http-client.js'
import { localAt } from '../test/helpers/app.js'

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string', default: 'bench/results/failover-latest.json' } } })
const CARDS = 1_201 // coprime with TERMINALS: a (card, bus) pair repeats only every 28,824 taps (no DUPLICATE_TAP)
const TERMINALS = 24
const IN_FLIGHT = 12
const OPENING_FEN = 1_000_000
const STEADY_MS = values.quick ? 3_000 : 8_000
const RETRY_MS = 100
const RETRY_FOR_MS_MAX = 90_000
const RUN_MS_MAX = 240_000

interface Terminal { id: string, secret: string }
interface Tap { terminal: Terminal, body: { tapId: string, at: string, card: { type: 'physical', cardNo: string, issuer: string } }, answer?: HttpAnswer, attempts: number }

const missing = clusterPackagesMissing()
if (missing.length > 0) {
  process.stderr.write(`failover: missing Debian packages: ${missing.join(', ')} (apt-get install -y ${missing.join(' ')})\n`)
  process.exit(3)
}

const startedAt = Date.now()
const events: Array<{ atMs: number, what: string }> = []
const note = (what: string): void => { events.push({ atMs: Date.now() - startedAt, what }); process.stdout.write(`[${((Date.now() - startedAt) / 1000).toFixed(1)} s] ${what}\n`) }
const approvedAtMs: number[] = []
let lastRefusal = ''
// Exit 4: the lab (cluster, database, service processes, cards and terminals) failed to come up
// before any tap was sent, so nothing about the product was measured; .ci/run tries once more.
// Exit 1: a failure of the run itself (an approved tap lost, a wrong balance, the check).
const LAB_SETUP_FAILED = 4
let phase: 'setup' | 'run' = 'setup'

const cluster = await startCluster().catch((error: unknown): never => {
  process.stderr.write(`failover (setup): the cluster did not come up: ${(error as Error).stack}\n`)
  process.exit(LAB_SETUP_FAILED)
})
let services: RunningService[] = []
let exitCode = 1
const guard = setTimeout(() => { process.stderr.write('failover: the run took too long, stopping\n'); void finish(1) }, RUN_MS_MAX + 120_000)
try {
  exitCode = await run(cluster)
} catch (error) {
  process.stderr.write(`failover (${phase}): ${(error as Error).stack}\n`)
  for (const node of cluster.nodes) process.stderr.write(`--- ${node.name}\n${cluster.log(node.name).slice(-3000)}\n${await connectionsOn(node.pgPort)}\n`)
  if (phase === 'setup') exitCode = LAB_SETUP_FAILED
} finally {
  await finish(exitCode)
}

/** Who holds the node's connections (a superuser still gets one of the reserved slots when full). */
async function connectionsOn (port: number): Promise<string> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 3_000 })
  try {
    await client.connect()
    const rows = await client.query<{ who: string, n: number }>(
      "SELECT COALESCE(NULLIF(application_name, ''), backend_type) AS who, COUNT(*)::int AS n FROM pg_stat_activity GROUP BY 1 ORDER BY 2 DESC")
    return `connections on ${port}: ${rows.rows.map(r => `${r.who}=${r.n}`).join(', ')}`
  } catch (error) {
    return `connections on ${port}: not readable (${(error as Error).message})`
  } finally {
    await client.end().catch(() => {})
  }
}

async function finish (code: number): Promise<never> {
  clearTimeout(guard)
  for (const svc of services) await svc.stop().catch(() => undefined)
  await cluster.stop().catch(() => undefined)
  process.exit(code)
}

async function run (cluster: Cluster): Promise<number> {
  const first = await cluster.waitForLeader()
  note(`cluster up: leader ${first.name}, synchronous standby ready`)
  const admin = new pg.Client({ host: '127.0.0.1', port: first.pgPort, user: 'postgres', database: 'postgres' })
  await admin.connect()
  await admin.query('CREATE DATABASE yikatong')
  await admin.end()
  const databaseUrl = cluster.databaseUrl('yikatong')
  services = await Promise.all([0, 1].map(async () => await startService({ seed: 'none', databaseUrl, env: { LOG_LEVEL: 'warn', SERVICE_PROCESSES: '2' } })))
  const a = services[0]!
  note(`two service processes on ${databaseUrl}`)

  for (let i = 0; i < CARDS; i++) {
    const r = await adminCall(a.url, a.adminToken, 'POST', '/v1/admin/cards', { cardNo: `F${String(i).padStart(8, '0')}`, issuer: '370200', accounts: { bank: OPENING_FEN } })
    if (r.status !== 201) throw new Error(`card setup: ${r.status} ${r.body}`)
  }
  const terminals: Terminal[] = []
  for (let i = 0; i < TERMINALS; i++) {
    const r = await adminCall(a.url, a.adminToken, 'POST', '/v1/admin/terminals', { terminalId: `fo-bus-${i}`, city: 'qingdao', scenario: 'bus', operator: 'qingdao-bus' })
    if (r.status !== 201) throw new Error(`terminal setup: ${r.status} ${r.body}`)
    terminals.push({ id: r.json.terminalId, secret: r.json.secret })
  }
  await sleep(500) // B hears of A's terminals by NOTIFY

  phase = 'run'
  const taps: Tap[] = []
  let stop = false
  let next = 0
  const send = async (tap: Tap): Promise<void> => {
    const firstMs = Date.now()
    while (Date.now() - firstMs < RETRY_FOR_MS_MAX) {
      const svc = services[(next + tap.attempts) % 2]!
      tap.attempts++
      try {
        const answer = await postSigned(svc.url, tap.terminal.id, tap.terminal.secret, '/v1/taps', tap.body, 5_000)
        if (answer.status !== 200) lastRefusal = `${answer.status} ${answer.body.slice(0, 300)}`
        else if (answer.json?.decision !== 'approved') lastRefusal = `declined ${answer.body.slice(0, 300)}`
        if (answer.status === 200) {
          tap.answer = answer
          if (answer.json?.decision === 'approved') approvedAtMs.push(Date.now() - startedAt)
          return
        }
      } catch (error) { lastRefusal = `no answer: ${(error as Error).message}` /* retry like a terminal */ }
      await sleep(RETRY_MS)
    }
  }
  const worker = async (): Promise<void> => {
    while (!stop) {
      const i = next++
      // A card rides a given bus once per ~2,880 taps: no anti-passback declines.
      const tap: Tap = {
        terminal: terminals[i % TERMINALS]!,
        body: { tapId: `fo-${i}`, at: localAt(), card: { type: 'physical', cardNo: `F${String(i % CARDS).padStart(8, '0')}`, issuer: '370200' } },
        attempts: 0
      }
      taps.push(tap)
      await send(tap)
    }
  }
  const workers = Array.from({ length: IN_FLIGHT }, worker)
  const approvedCount = (): number => approvedAtMs.length

  await sleep(STEADY_MS)
  const leader1 = await cluster.waitForLeader()
  note(`(last refusal: ${lastRefusal})`)
  note(`${approvedCount()} approved; killing node ${leader1.name} (its Patroni and its PostgreSQL, SIGKILL)`)
  const kill1Ms = Date.now() - startedAt
  cluster.killNode(leader1.name)
  const leader2 = await cluster.waitForLeader({ not: leader1.name, timeoutMs: 60_000 })
  note(`Patroni promoted ${leader2.name}`)
  await untilApprovedAfter(kill1Ms)
  note(`taps approved again (${approvedCount()} so far)`)
  await sleep(STEADY_MS)

  note(`restarting ${leader1.name}: it rejoins as a standby`)
  cluster.startNode(leader1.name)
  let rejoined = true
  try { await cluster.waitForSyncStandby(90_000) } catch { rejoined = false }
  note(rejoined ? `${leader1.name} is the synchronous standby again` : `${leader1.name} did not rejoin as a synchronous standby within 90 s`)
  await sleep(STEADY_MS / 2)

  const leader3 = await cluster.waitForLeader()
  note(`killing PostgreSQL alone on ${leader3.name} (SIGKILL); its Patroni stays`)
  const kill2Ms = Date.now() - startedAt
  cluster.killPostgres(leader3.name)
  await untilApprovedAfter(kill2Ms)
  const leader4 = await cluster.waitForLeader()
  note(`taps approved again; leader is ${leader4.name} (${leader4.name === leader3.name ? 'restarted in place' : 'failed over'})`)
  await sleep(STEADY_MS)

  stop = true
  await Promise.all(workers)
  const reasons = new Map<string, number>()
  for (const t of taps) { const k = t.answer?.json?.reason ?? t.answer?.json?.decision ?? 'unanswered'; reasons.set(k, (reasons.get(k) ?? 0) + 1) }
  note(`stream stopped: ${taps.length} taps sent, ${taps.filter(t => t.answer !== undefined).length} answered (${[...reasons].map(([k, n]) => `${k} ${n}`).join(', ')})`)

  // Every approved answer is in the ledger, with the same bytes.
  const leaderNow = await cluster.waitForLeader()
  const db = new pg.Client({ host: '127.0.0.1', port: leaderNow.pgPort, user: 'postgres', database: 'yikatong' })
  await db.connect()
  const recorded = new Map((await db.query<{ k: string, response: string }>("SELECT terminal_id || '/' || tap_id AS k, response FROM taps")).rows.map(r => [r.k, r.response]))
  const approved = taps.filter(t => t.answer?.json?.decision === 'approved')
  const lost = approved.filter(t => recorded.get(`${t.terminal.id}/${t.body.tapId}`) !== t.answer!.body)
  const unanswered = taps.filter(t => t.answer === undefined)
  const paid = new Map<string, number>()
  for (const t of approved) paid.set(t.body.card.cardNo, (paid.get(t.body.card.cardNo) ?? 0) + (t.answer!.json.amount as number))
  // Cards are keyed by token in the ledger (src/cards/card-vault.ts): balances as the admin API reads them.
  const balances = new Map<string, number>()
  for (let i = 0; i < CARDS; i++) {
    const cardNo = `F${String(i).padStart(8, '0')}`
    const r = await adminCall(a.url, a.adminToken, 'GET', `/v1/admin/cards/${cardNo}`)
    if (r.status !== 200) throw new Error(`card read: ${r.status} ${r.body}`)
    balances.set(cardNo, Number((r.json.balances as { bank: number }).bank))
  }
  const wrongBalances = [...balances].filter(([cardNo, balance]) => balance !== OPENING_FEN - (paid.get(cardNo) ?? 0)).length
  const recordedUnanswered = unanswered.filter(t => recorded.has(`${t.terminal.id}/${t.body.tapId}`)).length
  await db.end()
  const check = await adminCall(a.url, a.adminToken, 'GET', '/v1/admin/ledger/check')

  // The longest time without any approved answer in the 30 s after the fault: in-flight batches
  // that committed just before it do not hide the gap that follows.
  const outage = (fromMs: number): number => {
    const window = [fromMs, ...approvedAtMs.filter(ms => ms >= fromMs && ms <= fromMs + 30_000)].sort((x, y) => x - y)
    let gapMs = 0
    for (let i = 1; i < window.length; i++) gapMs = Math.max(gapMs, window[i]! - window[i - 1]!)
    return gapMs
  }
  const report = {
    date: new Date().toISOString(),
    quick: values.quick,
    cluster: { nodes: 2, patroniTtlS: PATRONI_TTL_S, synchronousMode: true, etcd: 1 },
    services: 2,
    tapsSent: taps.length,
    tapsApproved: approved.length,
    tapsUnanswered: unanswered.length,
    unansweredButRecorded: recordedUnanswered,
    retriesSent: taps.reduce((sum, t) => sum + t.attempts - 1, 0),
    approvedLost: lost.length,
    cardsWithWrongBalance: wrongBalances,
    ledgerCheck: check.json,
    nodeLoss: { killed: leader1.name, promoted: leader2.name, outageMs: outage(kill1Ms) },
    rejoinedAsSyncStandby: rejoined,
    postgresKilledAlone: { node: leader3.name, leaderAfter: leader4.name, restartedInPlace: leader4.name === leader3.name, outageMs: outage(kill2Ms) },
    events
  }
  mkdirSync('bench/results', { recursive: true })
  writeFileSync(values.out!, JSON.stringify(report, null, 2) + '\n')
  process.stdout.write(`${JSON.stringify({ ...report, events: undefined }, null, 2)}\n`)
  const ok = lost.length === 0 && wrongBalances === 0 && check.json?.ok === true && unanswered.length === 0
  process.stdout.write(ok ? 'failover: PASS — zero approved taps lost\n' : 'failover: FAIL\n')
  return ok ? 0 : 1

  async function untilApprovedAfter (fromMs: number): Promise<void> {
    const deadline = Date.now() + 90_000
    while (!approvedAtMs.some(ms => ms > fromMs)) {
      if (Date.now() > deadline) throw new Error(`no tap approved within 90 s of the fault; last refusal: ${lastRefusal}`)
      await sleep(50)
    }
  }
}
