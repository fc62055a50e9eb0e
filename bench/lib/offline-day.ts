// A generated day of traffic in the three cities with offline bursts (issue #10 "what it must
// show"): buses, metro gates and venues; some terminals lose their link for hours and queue taps in
// the agent's own durable queue; one agent is killed (SIGKILL) in the middle of its upload and
// started again; one metro exit gate uploads before the entry gate; one bus uploads only the next
// day, after the day was closed. Then: every tap recorded exactly once, debts and the deny list
// agree, the day closes and reconciles to the fen with the postings, and the late upload leaves the
// closed day unchanged. The service runs in this process on loopback with its clock driven through
// the day; uploads go through the real agent code in child processes. Bounded in taps and time.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildApp, type App } from '../../src/app.js'
import { FIXTURES_DIR, loadFixtures } from '../../src/fixtures.js'
import { signedHeaders } from '../../src/auth/signature.js'
import { denylistToken } from '../../src/cards/denylist-token.js'
import { demoSecret } from '../../src/service/demo-seed.js'
import { openAgentDb } from '../../terminals/agent/agent-db.js'
import { OfflineQueue } from '../../terminals/agent/offline-queue.js'
import { prng } from './prng.js'

const CITIES = [
  { city: 'jinan', issuer: '370100', prefix: 'JN' },
  { city: 'qingdao', issuer: '370200', prefix: 'QD' },
  { city: 'zhengzhou', issuer: '410100', prefix: 'ZZ' }
] as const
type City = typeof CITIES[number]['city']

const HOUR_MS = 3_600_000
const MINUTE_MS = 60_000
const ADMIN_TOKEN = 'offline-day-admin-token'
const UPLOAD_BATCH = 10
const CHILD_MS_MAX = 120_000

export interface DayOptions {
  cardsPerIssuer: number
  seed: number
  /** PostgreSQL ledger (DATABASE_URL); unset: SQLite in a temporary folder. */
  databaseUrl?: string
  log?: (line: string) => void
}

interface TapEvent { atMs: number, terminalId: string, body: Record<string, unknown> }

/** An offline window: the terminal queues its taps from `fromH` to `toH` (hours of the day) and
 *  uploads when it ends, or, `lateUpload`, only after the day was closed. */
interface OfflineWindow { terminalId: string, fromH: number, toH: number, uploadOrder: number, killMidUpload?: boolean, lateUpload?: boolean }

export interface DayReport {
  day: string
  engine: 'sqlite' | 'postgres'
  taps: { generated: number, online: number, offline: number, recordedOnce: number, recordedTwiceOrMore: number, missing: number }
  kill: { killedAfterBatches: number, queuedWhenKilled: number, restartUploaded: number }
  debt: { cardsInDebt: number, totalFen: number }
  denylist: { entries: number, agreesWithCards: boolean, version: number }
  lateEntries: { exitsSettled: number, refundedFen: number }
  settlement: {
    closeStatus: number
    operatorsNetFen: number
    positionsFen: number
    journalNetFen: number
    reconciles: boolean
    transfersPosted: number
    unchangedAfterLateUpload: boolean
    lateTapsRecordedNextDay: number
  }
  ledgerCheck: { ok: boolean, problems: string[] }
  wallMs: number
}

/** Asia/Shanghai calendar day of yesterday (so every `at` is inside the online window of 7 days). */
function yesterdayInShanghai (): { day: string, startMs: number } {
  const shanghaiNow = new Date(Date.now() + 8 * HOUR_MS)
  const day = new Date(Date.UTC(shanghaiNow.getUTCFullYear(), shanghaiNow.getUTCMonth(), shanghaiNow.getUTCDate() - 1)).toISOString().slice(0, 10)
  return { day, startMs: Date.parse(`${day}T00:00:00+08:00`) }
}

function rfc3339Shanghai (ms: number): string {
  return new Date(ms + 8 * HOUR_MS).toISOString().replace('Z', '+08:00')
}

interface DayCard { cardNo: string, issuer: string, home: City, bankFen: number }

function cardsOf (o: DayOptions, random: () => number): DayCard[] {
  const cards: DayCard[] = []
  for (const c of CITIES) {
    for (let i = 1; i <= o.cardsPerIssuer; i++) {
      // One card in six is nearly empty: its offline rides leave debt.
      const bankFen = random() < 1 / 6 ? 100 + Math.floor(random() * 300) : 5_000 + Math.floor(random() * 20_000)
      cards.push({ cardNo: `${c.prefix}${String(7_000_000 + i).padStart(7, '0')}`, issuer: c.issuer, home: c.city, bankFen })
    }
  }
  return cards
}

/** The day's taps: commuters by metro, bus riders, venue visitors; one card in five spends the day
 *  in another city (cross-city positions). tapIds are unique per terminal. */
function trafficOf (cards: DayCard[], startMs: number, random: () => number): TapEvent[] {
  const events: TapEvent[] = []
  let n = 0
  const id = (): string => `day-${++n}`
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
  const at = (h: number, spreadMin: number): number => startMs + h * HOUR_MS + Math.floor(random() * spreadMin * MINUTE_MS)
  for (const card of cards) {
    const city = random() < 0.2 ? pick(CITIES.filter(c => c.city !== card.home)).city : card.home
    const physical = { type: 'physical', cardNo: card.cardNo, issuer: card.issuer }
    const kind = random()
    if (kind < 0.45) {
      // Commuter: in at gate 01 in the morning, out at 02 or 03; back in the evening.
      const far = pick(['02', '03'])
      const morning = at(7, 90)
      events.push({ atMs: morning, terminalId: `${city}-metro-01`, body: { tapId: id(), at: '', card: physical, context: { direction: 'in' } } })
      events.push({ atMs: morning + (15 + Math.floor(random() * 25)) * MINUTE_MS, terminalId: `${city}-metro-${far}`, body: { tapId: id(), at: '', card: physical, context: { direction: 'out' } } })
      const evening = at(17, 150)
      events.push({ atMs: evening, terminalId: `${city}-metro-${far}`, body: { tapId: id(), at: '', card: physical, context: { direction: 'in' } } })
      events.push({ atMs: evening + (15 + Math.floor(random() * 25)) * MINUTE_MS, terminalId: `${city}-metro-01`, body: { tapId: id(), at: '', card: physical, context: { direction: 'out' } } })
    } else if (kind < 0.85) {
      // Bus rider: two to four rides, at least 40 minutes apart (a re-tap is not a new fare).
      const rides = 2 + Math.floor(random() * 3)
      let t = at(6, 120)
      for (let r = 0; r < rides; r++) {
        events.push({ atMs: t, terminalId: `${city}-bus-0${1 + Math.floor(random() * 3)}`, body: { tapId: id(), at: '', card: physical } })
        t += (40 + Math.floor(random() * 200)) * MINUTE_MS
      }
    } else {
      events.push({ atMs: at(13, 240), terminalId: `${city}-${pick(['scenic', 'museum'])}-01`, body: { tapId: id(), at: '', card: physical } })
    }
  }
  for (const e of events) e.body.at = rfc3339Shanghai(e.atMs)
  return events.sort((a, b) => a.atMs - b.atMs)
}

/** Offline bursts: a morning bus in each city (Jinan's is killed mid-upload), the evening metro of
 *  Qingdao with its exit gate uploading before the entry gates, and a Zhengzhou bus that uploads
 *  only after the day was closed. */
const WINDOWS: OfflineWindow[] = [
  { terminalId: 'jinan-bus-02', fromH: 6, toH: 12, uploadOrder: 0, killMidUpload: true },
  { terminalId: 'qingdao-bus-02', fromH: 6, toH: 12, uploadOrder: 0 },
  { terminalId: 'zhengzhou-bus-02', fromH: 6, toH: 12, uploadOrder: 0 },
  { terminalId: 'qingdao-metro-01', fromH: 17, toH: 21, uploadOrder: 0 },
  { terminalId: 'qingdao-metro-02', fromH: 17, toH: 21, uploadOrder: 1 },
  { terminalId: 'qingdao-metro-03', fromH: 17, toH: 21, uploadOrder: 1 },
  { terminalId: 'zhengzhou-bus-03', fromH: 14, toH: 24, uploadOrder: 0, lateUpload: true }
]

export async function runOfflineDay (o: DayOptions): Promise<DayReport> {
  const started = Date.now()
  const log = o.log ?? (() => {})
  const random = prng(o.seed)
  const { day, startMs } = yesterdayInShanghai()
  const dir = mkdtempSync(join(tmpdir(), 'ykt-offline-day-'))
  let clockMs = startMs + 5 * HOUR_MS
  const where = { dbPath: join(dir, 'ledger.db'), ...(o.databaseUrl === undefined ? {} : { databaseUrl: o.databaseUrl }) }
  const query = async (sql: string): Promise<Array<Record<string, unknown>>> => await queryLedger(where, sql)
  const app = await buildApp({
    dbPath: where.dbPath,
    adminToken: ADMIN_TOKEN,
    seed: 'demo',
    logLevel: 'silent',
    nowMs: () => clockMs,
    // A whole day's uploads from one terminal come fast: no per-terminal rate limit in this run.
    rateLimit: { ratePerSecond: 100_000, burst: 100_000 },
    ...(o.databaseUrl === undefined ? {} : { databaseUrl: o.databaseUrl })
  })
  const batchAnswers = new Map<string, number>()
  const batchWaiters: Array<{ terminalId: string, count: number, resolve: () => void }> = []
  app.app.addHook('onResponse', async request => {
    if (request.routeOptions.url !== '/v1/taps/batch') return
    const terminalId = request.terminal?.terminalId ?? ''
    const count = (batchAnswers.get(terminalId) ?? 0) + 1
    batchAnswers.set(terminalId, count)
    for (const w of batchWaiters.filter(w => w.terminalId === terminalId && count >= w.count)) {
      batchWaiters.splice(batchWaiters.indexOf(w), 1)
      w.resolve()
    }
  })
  try {
    const url = await app.app.listen({ port: 0, host: '127.0.0.1' })
    const secrets = await provision(app)
    const cards = cardsOf(o, random)
    for (const card of cards) {
      const r = await admin(app, 'POST', '/v1/admin/cards', { cardNo: card.cardNo, issuer: card.issuer, accounts: { bank: card.bankFen, medical: 1_000 } })
      if (r.statusCode !== 201) throw new Error(`card ${card.cardNo.slice(0, 2)}… not created: ${r.statusCode}`)
    }
    const events = trafficOf(cards, startMs, random)
    log(`day ${day}: ${cards.length} cards, ${events.length} taps`)

    const queues = new Map(WINDOWS.map(w => [w.terminalId, { window: w, file: join(dir, `${w.terminalId}.agent.db`), queued: 0 }]))
    const offlineOf = (e: TapEvent): OfflineWindow | undefined => {
      const w = queues.get(e.terminalId)?.window
      const hour = (e.atMs - startMs) / HOUR_MS
      return w !== undefined && hour >= w.fromH && hour < w.toH ? w : undefined
    }
    const kill = { killedAfterBatches: 0, queuedWhenKilled: 0, restartUploaded: 0 }
    const upload = async (w: OfflineWindow): Promise<void> => {
      const q = queues.get(w.terminalId)!
      const args = { queueFile: q.file, terminalId: w.terminalId, secret: secrets.get(w.terminalId)!, url, clockMs, batchSize: UPLOAD_BATCH, queueMax: 100_000 }
      if (w.killMidUpload === true) {
        const before = batchAnswers.get(w.terminalId) ?? 0
        const child = uploadChild(args)
        await waitForBatches(batchWaiters, w.terminalId, before + 1)
        child.kill('SIGKILL')
        await child.done.catch(() => {})
        kill.killedAfterBatches = (batchAnswers.get(w.terminalId) ?? 0) - before
        kill.queuedWhenKilled = queueDepth(q.file)
        const again = await uploadChild(args).done
        kill.restartUploaded = again.done
        log(`${w.terminalId}: killed after ${kill.killedAfterBatches} batch(es) with ${kill.queuedWhenKilled} queued; the restart uploaded ${again.done}`)
      } else {
        const result = await uploadChild(args).done
        log(`${w.terminalId}: uploaded ${result.done} in ${result.batches} batch(es)`)
      }
      if (queueDepth(q.file) !== 0) throw new Error(`${w.terminalId}: its queue is not empty after the upload`)
    }

    let online = 0
    let offline = 0
    const uploadsDue = [...WINDOWS].filter(w => w.lateUpload !== true).sort((a, b) => a.toH - b.toH || a.uploadOrder - b.uploadOrder)
    for (const event of events) {
      while (uploadsDue.length > 0 && startMs + uploadsDue[0]!.toH * HOUR_MS <= event.atMs) {
        const w = uploadsDue.shift()!
        clockMs = Math.max(clockMs, startMs + w.toH * HOUR_MS)
        await upload(w)
      }
      clockMs = Math.max(clockMs, event.atMs + 200)
      if (offlineOf(event) !== undefined) {
        enqueue(queues.get(event.terminalId)!.file, event)
        offline++
        continue
      }
      const r = await terminalCall(app, event.terminalId, secrets.get(event.terminalId)!, 'POST', '/v1/taps', event.body, clockMs)
      if (r.statusCode !== 200) throw new Error(`online tap ${String(event.body.tapId)} answered ${r.statusCode}: ${r.body}`)
      online++
    }
    for (const w of uploadsDue) {
      clockMs = Math.max(clockMs, startMs + w.toH * HOUR_MS)
      await upload(w)
    }

    // The next day: close yesterday, then the late bus uploads.
    clockMs = startMs + 24 * HOUR_MS + 30 * MINUTE_MS
    const closed = await admin(app, 'POST', `/v1/admin/settlement/days/${day}/close`)
    if (closed.statusCode !== 200) throw new Error(`closing ${day} answered ${closed.statusCode}: ${closed.body}`)
    const report = JSON.parse(closed.body) as { operators: Array<{ net: number }>, positions: Array<{ issuerCity: string, acquirerCity: string, amount: number }> }
    const journalNetFen = await journalNet(query, day)
    for (const w of WINDOWS.filter(w => w.lateUpload === true)) {
      clockMs += 10 * MINUTE_MS
      await upload(w)
    }
    const afterLate = await admin(app, 'GET', `/v1/admin/settlement/days/${day}`)
    const generatedIds = new Set(events.map(e => `${e.terminalId}/${String(e.body.tapId)}`))
    const counts = await query("SELECT terminal_id, tap_id, COUNT(*) AS n FROM taps WHERE tap_id LIKE 'day-%' GROUP BY terminal_id, tap_id")
    const recorded = new Map(counts.map(r => [`${String(r.terminal_id)}/${String(r.tap_id)}`, Number(r.n)]))
    const lateTaps = await query(`SELECT COUNT(*) AS n FROM taps WHERE terminal_id = 'zhengzhou-bus-03' AND tap_id LIKE 'day-%' AND recorded_at >= '${new Date(startMs + 24 * HOUR_MS).toISOString()}'`)
    // The ledger keys cards by token (src/cards/card-vault.ts): each card as the admin API reads it.
    const debts: Array<{ card_no: string, issuer: string, status: string, debt_fen: number }> = []
    for (const card of [...cards, ...loadFixtures(FIXTURES_DIR).demo.cards]) {
      const view = JSON.parse((await admin(app, 'GET', `/v1/admin/cards/${card.cardNo}`)).body) as { status: string, debt: number }
      debts.push({ card_no: card.cardNo, issuer: card.issuer, status: view.status, debt_fen: view.debt })
    }
    const denylist = await terminalCall(app, 'jinan-bus-01', secrets.get('jinan-bus-01')!, 'GET', '/v1/terminal/denylist', undefined, clockMs)
    const list = JSON.parse(denylist.body) as { version: number, add: Array<{ token: string, reason: string }>, tokenKey: string }
    const key = Buffer.from(list.tokenKey, 'base64url')
    const expected = new Set(debts.filter(c => c.status !== 'active' || Number(c.debt_fen) > 0)
      .map(c => `${denylistToken(key, String(c.issuer), String(c.card_no))}:${c.status !== 'active' ? String(c.status) : 'debt'}`))
    const served = new Set(list.add.map(e => `${e.token}:${e.reason}`))
    const late = await query("SELECT COUNT(*) AS n, COALESCE(SUM(amount), 0) AS fen FROM refunds WHERE reference LIKE 'late-entry:%'")
    const settlementTransfers = await query(`SELECT COUNT(*) AS n FROM transfers WHERE kind = 'settlement' AND ref LIKE 'settlement:${day}:%'`)
    const check = await admin(app, 'GET', '/v1/admin/ledger/check')
    const checkJson = JSON.parse(check.body) as { ok: boolean, problems: string[] }
    const operatorsNetFen = report.operators.reduce((sum, row) => sum + row.net, 0)
    const positionsFen = report.positions.reduce((sum, row) => sum + row.amount, 0)
    return {
      day,
      engine: app.engine.kind,
      taps: {
        generated: events.length,
        online,
        offline,
        recordedOnce: [...generatedIds].filter(k => recorded.get(k) === 1).length,
        recordedTwiceOrMore: [...recorded.values()].filter(n => n > 1).length,
        missing: [...generatedIds].filter(k => !recorded.has(k)).length
      },
      kill,
      debt: { cardsInDebt: debts.filter(c => Number(c.debt_fen) > 0).length, totalFen: debts.reduce((s, c) => s + Number(c.debt_fen), 0) },
      denylist: { entries: list.add.length, agreesWithCards: expected.size === served.size && [...expected].every(e => served.has(e)), version: list.version },
      lateEntries: { exitsSettled: Number(late[0]?.n ?? 0), refundedFen: Number(late[0]?.fen ?? 0) },
      settlement: {
        closeStatus: closed.statusCode,
        operatorsNetFen,
        positionsFen,
        journalNetFen,
        reconciles: operatorsNetFen === positionsFen && positionsFen === journalNetFen,
        transfersPosted: Number(settlementTransfers[0]?.n ?? 0),
        unchangedAfterLateUpload: afterLate.statusCode === 200 && afterLate.body === closed.body,
        lateTapsRecordedNextDay: Number(lateTaps[0]?.n ?? 0)
      },
      ledgerCheck: { ok: checkJson.ok, problems: checkJson.problems },
      wallMs: Date.now() - started
    }
  } finally {
    await app.app.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The extra buses, registered like an operator would; every terminal's secret. */
async function provision (app: App): Promise<Map<string, string>> {
  const secrets = new Map<string, string>()
  for (const { city } of CITIES) {
    for (const suffix of ['bus-01', 'metro-01', 'metro-02', 'metro-03', 'scenic-01', 'museum-01']) secrets.set(`${city}-${suffix}`, demoSecret(`${city}-${suffix}`))
    const first = JSON.parse((await admin(app, 'GET', `/v1/admin/terminals/${city}-bus-01`)).body) as { operator: string }
    for (const n of ['02', '03']) {
      const r = await admin(app, 'POST', '/v1/admin/terminals', { terminalId: `${city}-bus-${n}`, city, scenario: 'bus', operator: first.operator })
      if (r.statusCode !== 201) throw new Error(`bus ${city}-bus-${n} not registered: ${r.body}`)
      secrets.set(`${city}-bus-${n}`, (JSON.parse(r.body) as { secret: string }).secret)
    }
  }
  return secrets
}

/** What the day's taps, refunds and reversals moved onto operator accounts, off the postings and
 *  journal alone (not the report's query): the figure the report must reconcile to. */
async function journalNet (query: (sql: string) => Promise<Array<Record<string, unknown>>>, day: string): Promise<number> {
  const from = new Date(Date.parse(`${day}T00:00:00+08:00`)).toISOString()
  const to = new Date(Date.parse(`${day}T00:00:00+08:00`) + 24 * HOUR_MS).toISOString()
  const taps = await query(`SELECT COALESCE(SUM(bank_fen + medical_fen + debt_fen), 0) AS fen FROM taps WHERE operator_account_id IS NOT NULL
    AND recorded_at >= '${from}' AND recorded_at < '${to}'`)
  const back = await query(`SELECT COALESCE(SUM(p.amount), 0) AS fen FROM postings p JOIN transfers t ON t.id = p.transfer_id JOIN accounts a ON a.id = p.account_id
    WHERE a.kind = 'operator' AND t.kind IN ('refund', 'reversal') AND t.created_at >= '${from}' AND t.created_at < '${to}'`)
  return Number(taps[0]!.fen) + Number(back[0]!.fen)
}

/** Rows off the ledger the run's service writes (SQLite file or PostgreSQL), for the checks. */
async function queryLedger (where: { dbPath: string, databaseUrl?: string }, sql: string): Promise<Array<Record<string, unknown>>> {
  if (where.databaseUrl !== undefined) {
    const { default: pg } = await import('pg')
    const client = new pg.Client({ connectionString: where.databaseUrl })
    await client.connect()
    try { return (await client.query(sql)).rows } finally { await client.end() }
  }
  const { default: Database } = await import('better-sqlite3')
  const db = new Database(where.dbPath, { readonly: true })
  try { return db.prepare(sql).all() as Array<Record<string, unknown>> } finally { db.close() }
}

async function admin (app: App, method: 'GET' | 'POST', url: string, body?: unknown): Promise<{ statusCode: number, body: string }> {
  const r = await app.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) })
  })
  return { statusCode: r.statusCode, body: r.body }
}

async function terminalCall (app: App, terminalId: string, secret: string, method: 'GET' | 'POST', url: string, body: unknown, nowMs: number): Promise<{ statusCode: number, body: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  const headers = signedHeaders({ terminalId, secret, method, path: url, ...(payload === undefined ? {} : { body: payload }), nowMs })
  const r = await app.app.inject({ method, url, headers: { ...headers, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) }, ...(payload === undefined ? {} : { payload }) })
  return { statusCode: r.statusCode, body: r.body }
}

/** The agent's decision to let the rider through, as it queues it: the body marked offline. */
function enqueue (file: string, event: TapEvent): void {
  const queue = new OfflineQueue(openAgentDb(file), 100_000)
  try {
    const body = Buffer.from(JSON.stringify({ ...event.body, offline: true }))
    if (!queue.enqueue({ tapId: String(event.body.tapId), atMs: event.atMs, body, cardToken: 'c:day', riskToken: null, riskAmountFen: 0 })) throw new Error('agent queue full')
  } finally {
    queue.db.close()
  }
}

function queueDepth (file: string): number {
  const queue = new OfflineQueue(openAgentDb(file), 100_000)
  try { return queue.depth } finally { queue.db.close() }
}

interface ChildResult { batches: number, done: number, dead: number, depth: number }

function uploadChild (args: Record<string, unknown>): { kill: (signal: NodeJS.Signals) => void, done: Promise<ChildResult> } {
  const script = fileURLToPath(new URL('./upload-child.ts', import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', chunk => { out += String(chunk) })
  child.stderr.on('data', chunk => { err += String(chunk) })
  const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_MS_MAX)
  const done = new Promise<ChildResult>((resolve, reject) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as ChildResult)
      else reject(new Error(`upload child ended ${signal ?? code}: ${err.slice(-500)}`))
    })
  })
  return { kill: signal => child.kill(signal), done }
}

async function waitForBatches (waiters: Array<{ terminalId: string, count: number, resolve: () => void }>, terminalId: string, count: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${terminalId}: no upload batch within ${CHILD_MS_MAX} ms`)), CHILD_MS_MAX)
    waiters.push({ terminalId, count, resolve: () => { clearTimeout(timer); resolve() } })
  })
}
