// Micro-benchmarks of the pieces on the tap path, each over 1,000 different taps of the bench mix
// (so no single input is the only one the JIT ever sees): ns per operation after a warm-up.
import { Ajv } from 'ajv'
import type { FastifyRequest } from 'fastify'
import { createHash, randomBytes } from 'node:crypto'
import { CardVault } from '../../src/cards/card-vault.js'
import pino from 'pino'
import { Writable } from 'node:stream'
import { loadSchemas } from '../../src/app.js'
import { jsonDepth } from '../../src/api/json-body.js'
import { RateLimiter } from '../../src/auth/rate-limit.js'
import { bodySha256Hex, sign, signatureMatches } from '../../src/auth/signature.js'
import { authenticateTerminal } from '../../src/auth/terminal-auth.js'
import { FIXTURES_DIR, loadFixtures } from '../../src/fixtures.js'
import type { TerminalRecord } from '../../src/ledger/engine.js'
import { cardTokenizer, createLogger, tapLineLogger } from '../../src/log.js'
import { createMetrics } from '../../src/metrics.js'
import { buildCatalogue } from '../../src/rules/catalogue.js'
import { decideTap, type CardRecord } from '../../src/rules/engine.js'
import { localTime } from '../../src/rules/local-time.js'
import type { StateReader, TapFacts } from '../../src/rules/types.js'
import sjson from 'secure-json-parse'
import { buildFleet, type FleetSizes } from './fleet.js'
import { serializer } from './group-commit-micro.js'
import { plannedTap } from './tap-mix.js'

export interface MicroResult { name: string, nsPerOp: number, opsPerSecond: number }

function measure (name: string, calls: number, body: (i: number) => unknown): MicroResult {
  let sink = 0
  const warm = Math.max(2_000, Math.floor(calls / 10))
  for (let i = 0; i < warm; i++) if (body(i) !== undefined) sink++
  const started = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) if (body(i) !== undefined) sink++
  const ns = Number(process.hrtime.bigint() - started) / calls
  // `sink` keeps every result observable, so no call is optimised away.
  if (sink < 0) throw new Error('unreachable')
  return { name, nsPerOp: Math.round(ns), opsPerSecond: Math.round(1e9 / ns) }
}

const SAMPLE = 1000

export function microBenchmarks (sizes: FleetSizes, calls: number): MicroResult[] {
  const fleet = buildFleet(sizes)
  const at = new Date(Date.now() + 8 * 3_600_000).toISOString().replace('Z', '+08:00')
  const taps = Array.from({ length: SAMPLE }, (_v, g) => plannedTap(fleet, g * 7, at))
  const bodies = taps.map(t => Buffer.from(JSON.stringify(t.body)))
  const nowMs = Date.now()
  const timestamp = String(nowMs)
  const records = new Map<string, TerminalRecord>(fleet.terminals.map(t => [t.terminalId, { ...t, status: 'active', createdAt: '' }]))
  const requests = taps.map((t, i) => {
    const bodyHash = bodySha256Hex(bodies[i])
    return {
      method: 'POST',
      url: '/v1/taps',
      rawBodySha256: bodyHash,
      headers: { 'x-terminal-id': t.terminal.terminalId, 'x-timestamp': timestamp, 'x-signature': sign(t.terminal.secret, 'POST', '/v1/taps', timestamp, bodyHash) }
    } as unknown as FastifyRequest
  })
  const results: MicroResult[] = []
  const pick = <T>(a: T[], i: number): T => a[i % SAMPLE]!

  // Request signing and its verification (src/auth).
  results.push(measure('SHA-256 of the raw body (~300 B)', calls, i => bodySha256Hex(pick(bodies, i))))
  results.push(measure('HMAC-SHA256 signature (sign)', calls, i => {
    const r = pick(requests, i)
    return sign(pick(taps, i).terminal.secret, 'POST', '/v1/taps', timestamp, r.rawBodySha256!)
  }))
  results.push(measure('signature compare (constant time)', calls, i => signatureMatches(pick(requests, i).headers['x-signature'] as string, pick(requests, i).headers['x-signature'] as string)))
  const auth = { lookup: (id: string) => records.get(id), rateLimiter: new RateLimiter({ ratePerSecond: 1e9, burst: 1e9 }), nowMs: () => nowMs }
  results.push(measure('authenticateTerminal (lookup, window, HMAC, compare, rate limit)', calls, i => authenticateTerminal(pick(requests, i), auth)))

  // Body parsing and schema validation (Fastify's ajv settings: @fastify/ajv-compiler defaults
  // overridden by the service's customOptions in src/app.ts; no formats are used by the schemas).
  results.push(measure('JSON body parser (depth scan + secure-json-parse)', calls, i => {
    const b = pick(bodies, i)
    return jsonDepth(b) > 16 ? undefined : sjson.parse(b.toString('utf8'), undefined, { protoAction: 'error', constructorAction: 'error' })
  }))
  const ajv = new Ajv({ coerceTypes: false, useDefaults: false, removeAdditional: false, addUsedSchema: false, allErrors: false })
  for (const schema of loadSchemas()) ajv.addSchema(schema)
  const validate = ajv.compile({ $ref: 'tap-request.json#' })
  const parsed = bodies.map(b => JSON.parse(b.toString('utf8')) as unknown)
  results.push(measure('tap schema validation (ajv, tap-request.json)', calls, i => validate(pick(parsed, i)) ? 1 : undefined))
  results.push(measure('idempotency hash: sha256(JSON.stringify(tap))', calls, i => createHash('sha256').update(JSON.stringify(pick(parsed, i))).digest('hex')))

  // Rules: the engine (card checks, module, funding check) per deep module, fresh state each call.
  const fixtures = loadFixtures(FIXTURES_DIR)
  const catalogue = buildCatalogue(fixtures)
  const cards = new Map(fleet.cards.map(c => [c.cardNo, c]))
  const empty: StateReader = { get: () => undefined }
  const decideCases = (scenario: string, state: (tap: Record<string, unknown>) => StateReader): MicroResult => {
    const ofScenario = taps.filter(t => t.terminal.scenario === scenario)
    const entry = catalogue.scenarios.get(scenario)!
    const inputs = ofScenario.map(t => {
      const body = t.body as { tapId: string, card: { cardNo: string }, amount?: number, context?: Record<string, unknown> }
      const c = cards.get(body.card.cardNo)!
      const card: CardRecord = { cardNo: c.cardNo, issuer: c.issuer, status: 'active', expiresOn: '2031-12-31', birthDate: c.birthDate, categories: c.categories, balances: { bank: 10_000_000, medical: 2_000_000 }, debtFen: 0 }
      const tap: TapFacts = { tapId: body.tapId, at: localTime(nowMs, 480), amount: body.amount ?? null, context: body.context ?? {}, cardType: 'physical' }
      return { catalogue, scenario: entry, tap, card, terminal: t.terminal, state: state(body) }
    })
    return measure(`rules decideTap: ${scenario}`, calls, i => decideTap(inputs[i % inputs.length]!).decision)
  }
  for (const scenario of ['bus', 'metro', 'scenic', 'library', 'pharmacy', 'bank-payment']) {
    results.push(decideCases(scenario, body => {
      // Metro exits and library returns need the open journey / loan their first half wrote.
      const context = body.context as { direction?: string, action?: string, items?: Array<{ id: string }> } | undefined
      if (context?.direction === 'out') {
        return { get: key => key === 'metro:open' ? { city: 'jinan', station: 'jn-fangte', atMs: nowMs - 1_800_000, tapId: 'x', level: 'full', policyId: null, usesAllowance: false, transfer: false, unfinishedFareFen: 900 } : undefined }
      }
      if (context?.action === 'return') {
        return { get: key => key.startsWith('library:loans:') ? [{ id: context.items![0]!.id, value: 3000, kind: 'book', dueOn: '2099-01-01', renewals: 0 }] : undefined }
      }
      return empty
    }))
  }

  // The answer, the tap's log line and its metrics.
  const serialize = serializer()
  const answer = { tapId: 't-1234567', decision: 'approved' as const, amount: 200, account: 'bank', balance: 9_998_800, authCode: '9F3A61C2', message: { zh: '乘车成功，扣费2元', en: 'Have a good ride: 2 yuan' }, details: { baseFareFen: 200, concession: null, fareFen: 200 } }
  results.push(measure('answer serialisation (fast-json-stringify)', calls, () => serialize(answer)))
  const devNull = new Writable({ write (_chunk, _enc, done) { done() } })
  const logger = createLogger({ level: 'info', stream: devNull as unknown as pino.DestinationStream }).child({ reqId: 'req-1' })
  const token = cardTokenizer()
  results.push(measure('card token for the log (keyed HMAC)', calls, i => token(fleet.cards[i % fleet.cards.length]!.cardNo)))
  // The ledger's card key (issue #13 item 7): the writer asks for it per tap and opens a card's
  // sealed data when the card is not in its cache.
  const vault = new CardVault(randomBytes(32))
  const cardNos = fleet.cards.map(c => c.cardNo)
  let fresh = 0
  results.push(measure('ledger card token, first time (HMAC-SHA256)', calls, () => vault.token(`M${String(fresh++).padStart(8, '0')}`)))
  for (const cardNo of cardNos) vault.token(cardNo)
  results.push(measure('ledger card token, remembered (memo hit)', calls, i => vault.token(cardNos[i % cardNos.length]!)))
  const sealedCards = cardNos.slice(0, 1_000).map(cardNo => ({ token: vault.token(cardNo), sealed: vault.seal(vault.token(cardNo), { cardNo, birthDate: '1950-03-01', categories: ['senior', 'resident:jinan'] }) }))
  results.push(measure('ledger card data opened (AES-256-GCM, cache miss)', calls, i => vault.open(sealedCards[i % sealedCards.length]!.token, sealedCards[i % sealedCards.length]!.sealed).categories.length))
  const memoVault = new CardVault(randomBytes(32), { openedEntriesMax: 10_000 })
  const memoCards = cardNos.slice(0, 1_000).map(cardNo => ({ token: memoVault.token(cardNo), sealed: memoVault.seal(memoVault.token(cardNo), { cardNo, birthDate: '1950-03-01', categories: ['senior', 'resident:jinan'] }) }))
  results.push(measure('ledger card data opened, remembered (PostgreSQL engine)', calls, i => memoVault.open(memoCards[i % memoCards.length]!.token, memoCards[i % memoCards.length]!.sealed).categories.length))
  // The line as it was written before (through request.log: redaction paths applied to every field)
  // and as it is now (tapLineLogger: a sibling logger without redaction, for this fixed-shape line).
  results.push(measure('tap log line via request.log (redaction on every field)', calls, i => {
    logger.info({ terminal: pick(taps, i).terminal.terminalId, tapId: 't-1', scenario: 'bus', card: 'card_0123456789ab', decision: 'approved', reason: undefined, amount: 200, replay: undefined, latencyMs: 1.234 }, 'tap')
    return 1
  }))
  const logTap = tapLineLogger(createLogger({ level: 'info', stream: devNull as unknown as pino.DestinationStream }))
  results.push(measure('tap log line via tapLineLogger (the service now)', calls, i => {
    logTap({ reqId: 'req-1', terminal: pick(taps, i).terminal.terminalId, tapId: 't-1', scenario: 'bus', card: 'card_0123456789ab', decision: 'approved', reason: undefined, amount: 200, replay: undefined, latencyMs: 1.234 })
    return 1
  }))
  const metrics = createMetrics(() => 0)
  results.push(measure('metrics per tap (requests, decisions, latency)', calls, i => {
    metrics.requests.inc({ route: '/v1/taps', status: 200 })
    metrics.decisions.inc({ scenario: pick(taps, i).terminal.scenario, decision: 'approved', reason: '' })
    metrics.tapLatency.observe({ scenario: pick(taps, i).terminal.scenario }, 0.0012)
    return 1
  }))
  return results
}
