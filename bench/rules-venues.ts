// Micro-benchmark of `decide` for the scenic, library and pharmacy modules, on the real tariffs:
// ns per call after a warm-up, printed and written to bench/results/rules-venues.json.
// Run: node --import tsx bench/rules-venues.ts   (BENCH_N=… to change the number of calls)
import { readFileSync } from 'node:fs'
import { reportRuleBench } from './lib/rules-report.js'
import { library } from '../src/rules/library.js'
import { localTime } from '../src/rules/local-time.js'
import { pharmacy } from '../src/rules/pharmacy.js'
import { scenic } from '../src/rules/scenic.js'
import type { CardFacts, CityCode, RuleInput, RuleModule } from '../src/rules/types.js'

const N = Number(process.env.BENCH_N ?? 200_000)
const WARM_UP = Math.max(10_000, Math.floor(N / 10))

function tariffOf (scenario: string, city: CityCode): unknown {
  const byCity = JSON.parse(readFileSync(new URL(`../fixtures/tariffs/${scenario}.json`, import.meta.url), 'utf8')) as Record<string, unknown>
  return byCity[city]
}

const senior: CardFacts = { cardNo: 'ZZ0000002', issuer: '410100', issuerCity: 'zhengzhou', birthDate: '1954-03-01', categories: [], balances: { bank: 50000, medical: 30000 } }

function input (scenario: string, city: CityCode, venue: string | undefined, amount: number | null,
  context: Record<string, unknown>, state: Record<string, unknown>): RuleInput<any> {
  return {
    tap: { tapId: 'bench', at: localTime(Date.parse('2026-07-01T10:00:00+08:00'), 480), amount, context, cardType: 'physical' },
    card: senior,
    terminal: { terminalId: 'bench-1', city, scenario, operator: 'bench', location: venue === undefined ? {} : { venue } },
    scenario: { code: scenario, domain: 'culture', module: scenario, pricedAtTerminal: amount !== null, accounts: ['medical', 'bank'] },
    tariff: tariffOf(scenario, city),
    policies: {},
    city: undefined,
    state: { get: key => state[key] }
  }
}

const twoLoans = {
  'library:loans:jinan-library': [
    { id: 'B1', value: 3000, kind: 'book', dueOn: '2026-07-20', renewals: 0 },
    { id: 'B2', value: 4500, kind: 'book', dueOn: '2026-07-25', renewals: 1 }
  ]
}
const basket = [
  { code: 'X-J01CA04-amoxicillin', class: 'A', amount: 2350 },
  { code: 'X-C10AA05-atorvastatin', class: 'B', amount: 4567 },
  { code: 'Z-lianhua-qingwen', class: 'B', amount: 3000 },
  { code: 'X-vitamin-c-chewable', class: 'self', amount: 1800 },
  { code: 'X-unlisted-1', class: 'B', amount: 1000 }
]

const cases: Array<{ name: string, module: RuleModule<any>, input: RuleInput<any> }> = [
  { name: 'scenic: Baotu Spring, senior concession', module: scenic, input: input('scenic', 'jinan', 'jn-baotu-spring', null, {}, {}) },
  { name: 'scenic: Laoshan route, same-day re-tap', module: scenic, input: input('scenic', 'qingdao', 'qd-laoshan', null, { ticket: 'jufeng' }, { 'scenic:entry:qd-laoshan:jufeng': '2026-07-01' }) },
  { name: 'library: borrow 1 with 2 on loan', module: library, input: input('library', 'jinan', 'jn-library', null, { action: 'borrow', items: [{ id: 'B3', value: 2500 }] }, twoLoans) },
  { name: 'library: renew 1 of 2', module: library, input: input('library', 'jinan', 'jn-library', null, { action: 'renew', items: [{ id: 'B1' }] }, twoLoans) },
  { name: 'pharmacy: 5-item basket, cross-city', module: pharmacy, input: input('pharmacy', 'jinan', undefined, 12717, { items: basket }, {}) }
]

interface Result { name: string, calls: number, nsPerOp: number, opsPerSec: number }

function measure (module: RuleModule<any>, decideInput: RuleInput<any>, calls: number): { ns: number, approved: number } {
  let approved = 0
  const started = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) {
    // Counting approvals keeps the result alive, so the call cannot be optimised away.
    if (module.decide(decideInput).decision === 'approved') approved++
  }
  return { ns: Number(process.hrtime.bigint() - started), approved }
}

function run (): Result[] {
  return cases.map(c => {
    measure(c.module, c.input, WARM_UP)
    const { ns, approved } = measure(c.module, c.input, N)
    if (approved !== N) throw new Error(`${c.name}: expected every call approved, got ${approved}/${N}`)
    const nsPerOp = ns / N
    return { name: c.name, calls: N, nsPerOp: Math.round(nsPerOp), opsPerSec: Math.round(1e9 / nsPerOp) }
  })
}

reportRuleBench('rules-venues', run(), N, WARM_UP)
