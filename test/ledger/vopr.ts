// A seeded, replayable simulation of the ledger against an in-memory reference model, with storage
// faults (TigerBeetle's VOPR is the anchor). Each step draws an operation from the seed: card
// creation (also with an opening credit reference already taken, the aliasing bug's lever), credits
// (new, repeated, conflicting), status changes, new terminals of new operators, and batches of taps
// (new, retried, conflicting, malformed, unknown cards), some batches hit by a fault: a COMMIT that
// fails, a statement that fails (I/O error, full disk), the writer dying before or after its COMMIT,
// or the writer killed between steps. The model decides every tap with the same pure rule engine
// over its own state and balances; storage is what is under test. After every step the simulation
// compares every answer, every card's balances and every recorded answer with the model, and runs
// the ledger check (one owner per account included). Same seed, same run.
import { prng } from '../../bench/lib/prng.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp, type App } from '../../src/app.js'
import { checkLedger } from '../../src/ledger/check.js'
import type { SqliteEngine } from '../../src/ledger/sqlite-engine.js'
import type { TapRequest, TerminalRecord } from '../../src/ledger/engine.js'
import type { FaultPlan } from '../../src/ledger/fault-injection.js'
import { decideTap, type CardRecord } from '../../src/rules/engine.js'
import { localTime } from '../../src/rules/local-time.js'
import type { AccountKind, CityCode, StateReader } from '../../src/rules/types.js'
import { AT_PAST_MS_MAX_ONLINE } from '../../src/constants.js'
import { tapHash } from '../../src/service/tap-checks.js'
import Database from 'better-sqlite3'
import { randomBytes } from 'node:crypto'
import { CardVault } from '../../src/cards/card-vault.js'

const ISSUERS: Record<CityCode, string> = { jinan: '370100', qingdao: '370200', zhengzhou: '410100' }
const CITIES: CityCode[] = ['jinan', 'qingdao', 'zhengzhou']
const SCENARIOS = ['bank-payment', 'bus', 'highway-etc']

export { prng }

interface ModelCard extends CardRecord { state: Map<string, unknown> }
interface ModelTap { terminalId: string, tapId: string, hash: string, body: TapRequest, decision: string, reason: string | null, amount: number, balance: number | null, payload?: string }

export interface VoprReport { seed: number, steps: number, taps: number, faults: number, failedBatches: number, writerDeaths: number }

export class VoprFailure extends Error {
  constructor (seed: number, step: number, what: string) {
    super(`VOPR seed ${seed}, step ${step}: ${what}\n  replay: npm run test:vopr -- --seed ${seed}`)
  }
}

export async function runVopr (seed: number, steps: number): Promise<VoprReport> {
  const dir = mkdtempSync(join(tmpdir(), 'yikatong-vopr-'))
  const dbPath = join(dir, 'ledger.db')
  // The simulated clock: taps carry `at` values that move forward a little every step.
  const startMs = Date.now() - 6 * 24 * 3_600_000
  let clockMs = startMs
  // Opening credits are referenced by the card's token (src/cards/card-vault.ts): the model needs the key.
  const cardDataKey = randomBytes(32)
  const vault = new CardVault(cardDataKey)
  const built: App = await buildApp({ dbPath, adminToken: 'vopr', seed: 'none', faultInjection: true, logLevel: 'silent', cardDataKey })
  const { service } = built
  const engine = built.engine as SqliteEngine
  const random = prng(seed)
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!
  const chance = (p: number): boolean => random() < p
  const cards = new Map<string, ModelCard>()
  const credits = new Map<string, { cardNo: string, account: AccountKind, amount: number }>()
  const terminals: TerminalRecord[] = []
  const recorded = new Map<string, ModelTap>()
  const unanswered: ModelTap[] = []
  const report: VoprReport = { seed, steps, taps: 0, faults: 0, failedBatches: 0, writerDeaths: 0 }
  let nextCard = 0
  let step = 0
  const fail = (what: string): never => { throw new VoprFailure(seed, step, what) }

  const newCardNo = (): string => `V${String(nextCard++).padStart(8, '0')}`
  const localAt = (ms: number): string => new Date(ms + 8 * 3_600_000).toISOString().replace('Z', '+08:00')

  const createCard = async (): Promise<void> => {
    const city = pick(CITIES)
    const cardNo = newCardNo()
    const openingFen = Math.floor(random() * 3_000)
    const stolen = openingFen > 0 && cards.size > 0 && chance(0.25)
    if (stolen) {
      // The aliasing bug's lever: an existing card takes the new card's opening credit reference.
      const victim = pick([...cards.values()])
      const reference = `opening:${vault.token(cardNo)}:bank`
      await service.credit(victim.cardNo, 'bank', 1, reference)
      credits.set(reference, { cardNo: victim.cardNo, account: 'bank', amount: 1 })
      victim.balances.bank += 1
    }
    const status = chance(0.1) ? 'lost' : 'active'
    const birthDate = chance(0.2) ? '1950-05-01' : '1990-01-01'
    try {
      await service.createCard({ cardNo, issuer: ISSUERS[city], holder: { birthDate }, status, accounts: { bank: openingFen, medical: 500 } })
      if (stolen) fail(`card ${cardNo} was created although its opening reference was taken`)
      cards.set(cardNo, { cardNo, issuer: ISSUERS[city], status, expiresOn: null, birthDate, categories: [], balances: { bank: openingFen, medical: 500 }, debtFen: 0, state: new Map() })
      for (const [account, amount] of [['bank', openingFen], ['medical', 500]] as const) if (amount > 0) credits.set(`opening:${vault.token(cardNo)}:${account}`, { cardNo, account, amount })
    } catch (error) {
      if (!stolen || (error as { code?: string }).code !== 'CONFLICT') fail(`createCard: ${(error as Error).message}`)
    }
  }

  const credit = async (): Promise<void> => {
    if (cards.size === 0) return
    const card = pick([...cards.values()])
    const account: AccountKind = chance(0.7) ? 'bank' : 'medical'
    const amount = 1 + Math.floor(random() * 2_000)
    const reuse = credits.size > 0 && chance(0.2) ? pick([...credits.entries()]) : undefined
    const reference = reuse?.[0] ?? `credit-${seed}-${step}`
    const same = reuse !== undefined && reuse[1].cardNo === card.cardNo && reuse[1].account === account && reuse[1].amount === amount
    try {
      await service.credit(card.cardNo, account, amount, reference)
      if (reuse !== undefined && !same) fail(`credit reused reference ${reference} for another credit and was accepted`)
      if (reuse === undefined) {
        credits.set(reference, { cardNo: card.cardNo, account, amount })
        card.balances[account] += amount
      }
    } catch (error) {
      if (reuse === undefined || same || (error as { code?: string }).code !== 'CONFLICT') fail(`credit: ${(error as Error).message}`)
    }
  }

  const setStatus = async (): Promise<void> => {
    if (cards.size === 0) return
    const card = pick([...cards.values()])
    const status = pick(['active', 'active', 'lost', 'frozen'] as const)
    await service.setCardStatus(card.cardNo, status)
    card.status = status
  }

  const newTerminal = async (): Promise<void> => {
    const city = pick(CITIES)
    const scenario = pick(SCENARIOS)
    // A new operator each time: its receivable is a new account, created inside a tap batch.
    const record = await service.registerTerminal({ terminalId: `vopr-${terminals.length}`, city, scenario, operator: `operator-${seed}-${terminals.length}` })
    terminals.push(record)
  }

  /** The model's decision for a tap, applied to the model if `apply`. */
  const model = (terminal: TerminalRecord, body: TapRequest, apply: boolean): { decision: string, reason: string | null, amount: number, balance: number | null } | { error: string } => {
    const key = `${terminal.terminalId}/${body.tapId}`
    const hash = tapHash(body)
    const previous = recorded.get(key)
    if (previous !== undefined) return previous.hash === hash ? previous : { error: 'TAP_ID_CONFLICT' }
    const scenario = service.catalogue.scenarios.get(terminal.scenario)!
    if (scenario.fixture.pricedAtTerminal !== (body.amount !== undefined)) return { error: 'BAD_REQUEST' }
    const physical = body.card as { cardNo: string, issuer: string }
    const card = cards.get(physical.cardNo)
    let result: { decision: string, reason: string | null, amount: number, balance: number | null }
    if (card === undefined || card.issuer !== physical.issuer) {
      result = { decision: 'declined', reason: 'CARD_UNKNOWN', amount: 0, balance: null }
    } else {
      const state: StateReader = { get: (k: string) => card.state.get(k) }
      const city = service.catalogue.cities.get(terminal.city)!
      const decision = decideTap({
        catalogue: service.catalogue,
        scenario,
        tap: { tapId: body.tapId, at: localTime(Date.parse(body.at), city.fixture.utcOffsetMinutes), amount: body.amount ?? null, context: {}, cardType: 'physical', receivedAtMs: Date.now() },
        card,
        terminal,
        state
      })
      if (decision.decision === 'declined') {
        result = { decision: 'declined', reason: decision.reason, amount: 0, balance: null }
      } else {
        const amount = decision.payments.reduce((sum, p) => sum + p.amount, 0)
        const first = decision.payments[0]!.account
        if (apply) {
          for (const p of decision.payments) card.balances[p.account] -= p.amount
          for (const w of decision.stateWrites ?? []) {
            if (w.value === null || w.value === undefined) card.state.delete(w.key)
            else card.state.set(w.key, JSON.parse(JSON.stringify(w.value)))
          }
        }
        result = { decision: 'approved', reason: null, amount, balance: apply ? card.balances[first] : card.balances[first] - decision.payments.filter(p => p.account === first).reduce((s, p) => s + p.amount, 0) }
      }
    }
    if (apply) recorded.set(key, { terminalId: terminal.terminalId, tapId: body.tapId, hash, body, ...result })
    return result
  }

  const tapBatch = async (): Promise<void> => {
    if (terminals.length === 0 || cards.size === 0) return
    const size = 1 + Math.floor(random() * 8)
    const planned: Array<{ terminal: TerminalRecord, body: TapRequest }> = []
    for (let i = 0; i < size; i++) {
      const retry = recorded.size > 0 && chance(0.15)
      if (retry) {
        const old = pick([...recorded.values()])
        const terminal = terminals.find(t => t.terminalId === old.terminalId)!
        planned.push({ terminal, body: chance(0.7) ? old.body : { ...old.body, at: localAt(clockMs) } })
        continue
      }
      const terminal = pick(terminals)
      const card = chance(0.05) ? { cardNo: 'X99999999', issuer: ISSUERS.jinan } : (() => { const c = pick([...cards.values()]); return { cardNo: c.cardNo, issuer: c.issuer } })()
      clockMs = Math.min(clockMs + 1_000 + Math.floor(random() * 30_000), Date.now())
      const priced = service.catalogue.scenarios.get(terminal.scenario)!.fixture.pricedAtTerminal
      const malformed = chance(0.05)
      const body: TapRequest = { tapId: `t${step}-${i}`, at: localAt(clockMs), card: { type: 'physical', ...card } }
      if (priced !== malformed) body.amount = 1 + Math.floor(random() * 900)
      planned.push({ terminal, body })
    }
    const fault = chance(0.2) ? pick<FaultPlan>([
      { failCommits: 1 },
      { failStatement: { afterStatements: Math.floor(random() * 30), code: 'SQLITE_IOERR' } },
      { failStatement: { afterStatements: Math.floor(random() * 30), code: 'SQLITE_FULL' } },
      { crash: 'before-commit' },
      { crash: 'after-commit' }
    ]) : undefined
    if (fault !== undefined) {
      await engine.injectFault(fault)
      report.faults++
    }
    // Submitted in one turn of the event loop: one message to the writer, one transaction.
    const settled = await Promise.allSettled(planned.map(p => service.submitTap(p.terminal, p.body, tapHash(p.body), AT_PAST_MS_MAX_ONLINE)))
    report.taps += planned.length
    const failed = settled.every(s => s.status === 'rejected' && (s.reason as { code?: string }).code === 'OVERLOADED')
    const committed = !failed || fault?.crash === 'after-commit'
    if (fault?.crash !== undefined) {
      report.writerDeaths++
      await engine.writerUp()
    } else if (fault !== undefined) {
      await engine.injectFault({})
    }
    if (failed) report.failedBatches++
    if (failed && fault === undefined) fail('a batch failed with no fault injected')
    if (fault?.crash !== undefined && !failed) fail(`the writer crashed (${fault.crash}) yet the batch was answered`)
    planned.forEach((p, i) => {
      const expected = model(p.terminal, p.body, committed)
      const actual = settled[i]!
      if (failed) {
        if (fault?.crash === 'after-commit' && !('error' in expected)) unanswered.push(recorded.get(`${p.terminal.terminalId}/${p.body.tapId}`)!)
        return
      }
      if ('error' in expected) {
        if (actual.status !== 'rejected' || (actual.reason as { code?: string }).code !== expected.error) fail(`tap ${p.body.tapId}: expected ${expected.error}, got ${describe(actual)}`)
        return
      }
      if (actual.status !== 'fulfilled') return fail(`tap ${p.body.tapId}: expected ${expected.decision}, got ${describe(actual)}`)
      const answer = JSON.parse(actual.value.payload) as { decision: string, reason?: string, amount: number, balance?: number }
      if (answer.decision !== expected.decision || (answer.reason ?? null) !== expected.reason || answer.amount !== expected.amount || (answer.balance ?? null) !== expected.balance) {
        fail(`tap ${p.body.tapId} on ${p.terminal.terminalId}: model ${JSON.stringify(expected)}, ledger ${actual.value.payload}`)
      }
      const modelTap = recorded.get(`${p.terminal.terminalId}/${p.body.tapId}`)!
      if (modelTap.payload === undefined) modelTap.payload = actual.value.payload
      else if (modelTap.payload !== actual.value.payload) fail(`tap ${p.body.tapId}: a replay answered other bytes`)
    })
  }

  /** Taps whose answers a crash lost: the retry replays what was committed. */
  const retryUnanswered = async (): Promise<void> => {
    for (const tap of unanswered.splice(0)) {
      const terminal = terminals.find(t => t.terminalId === tap.terminalId)!
      const outcome = await service.submitTap(terminal, tap.body, tap.hash, AT_PAST_MS_MAX_ONLINE)
      const answer = JSON.parse(outcome.payload) as { decision: string, amount: number }
      if (!outcome.replay || answer.decision !== tap.decision || answer.amount !== tap.amount) fail(`tap ${tap.tapId}: lost answer replayed ${outcome.payload}, model ${JSON.stringify(tap)}`)
      tap.payload = outcome.payload
    }
  }

  const compareEverything = async (): Promise<void> => {
    for (const card of cards.values()) {
      const view = await service.cardView(card.cardNo)
      if (view.balances.bank !== card.balances.bank || view.balances.medical !== card.balances.medical || view.status !== card.status) {
        fail(`card ${card.cardNo}: ledger ${JSON.stringify(view.balances)} ${view.status}, model ${JSON.stringify(card.balances)} ${card.status}`)
      }
    }
    const db = new Database(dbPath, { readonly: true, fileMustExist: true })
    try {
      const report = checkLedger(db)
      if (!report.ok) fail(`ledger check: ${report.problems.slice(0, 5).join('; ')}`)
      const rows = db.prepare('SELECT terminal_id AS terminalId, tap_id AS tapId, response FROM taps').all() as Array<{ terminalId: string, tapId: string, response: string }>
      if (rows.length !== recorded.size) fail(`${rows.length} taps recorded, the model has ${recorded.size}`)
      for (const row of rows) {
        const tap = recorded.get(`${row.terminalId}/${row.tapId}`)
        if (tap === undefined) fail(`tap ${row.terminalId}/${row.tapId} is recorded but the model has none`)
        if (tap!.payload !== undefined && tap!.payload !== row.response) fail(`tap ${row.tapId}: recorded answer differs from the one sent`)
      }
    } finally {
      db.close()
    }
  }

  try {
    for (let i = 0; i < 3; i++) await newTerminal()
    for (step = 0; step < steps; step++) {
      const roll = random()
      if (roll < 0.15) await createCard()
      else if (roll < 0.22) await credit()
      else if (roll < 0.26) await setStatus()
      else if (roll < 0.30) await newTerminal()
      else if (roll < 0.32) { await engine.killWriter(); report.writerDeaths++; await engine.writerUp() } else await tapBatch()
      await retryUnanswered()
      await compareEverything()
    }
    return report
  } finally {
    await built.app.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

function describe (settled: PromiseSettledResult<unknown>): string {
  return settled.status === 'fulfilled' ? JSON.stringify(settled.value) : `${(settled.reason as { code?: string }).code}: ${(settled.reason as Error).message}`
}
