// Library loans against the real fixtures/tariffs/library.json. Each case is a sequence of taps on
// one card; state writes of approved taps are applied before the next tap, as the ledger does.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { localTime } from '../../src/rules/local-time.js'
import { addDays, library, type LibraryTariff, type Loan } from '../../src/rules/library.js'
import type { CardFacts, CityCode, RuleDecision, RuleInput } from '../../src/rules/types.js'

const tariffs = JSON.parse(readFileSync(new URL('../../fixtures/tariffs/library.json', import.meta.url), 'utf8')) as Record<CityCode, LibraryTariff>

const holder: CardFacts = { cardNo: 'ZZ0000001', issuer: '410100', issuerCity: 'zhengzhou', birthDate: '1985-04-12', categories: [], balances: { bank: 0, medical: 0 } }

interface Item { id: string, value?: number, kind?: string }
interface Tap { action: 'borrow' | 'return' | 'renew', items: Item[], on?: string, city?: CityCode }
interface Expect { decision: 'approved' | 'declined', reason?: string, details?: Record<string, unknown> }

function input (tap: Tap, state: Map<string, unknown>, tariff?: LibraryTariff): RuleInput<LibraryTariff | undefined> {
  const city = tap.city ?? 'jinan'
  return {
    tap: { tapId: 't', at: localTime(Date.parse(`${tap.on ?? '2026-07-01'}T10:00:00+08:00`), 480), amount: null, context: { action: tap.action, items: tap.items }, cardType: 'physical' },
    card: holder,
    terminal: { terminalId: 'lib-1', city, scenario: 'library', operator: 'lib', location: { venue: `${city}-library` } },
    scenario: { code: 'library', domain: 'culture', module: 'library', pricedAtTerminal: false, accounts: ['bank'] },
    tariff: tariff ?? tariffs[city],
    policies: {},
    city: undefined,
    state: { get: key => state.get(key) }
  }
}

function apply (decision: RuleDecision, state: Map<string, unknown>): void {
  if (decision.decision !== 'approved') return
  for (const write of decision.stateWrites ?? []) {
    if (write.value === null) state.delete(write.key)
    else state.set(write.key, write.value)
  }
}

/** Runs the taps in order; returns every decision. */
function run (taps: Tap[], state = new Map<string, unknown>(), tariff?: LibraryTariff): RuleDecision[] {
  return taps.map(tap => {
    const decision = library.decide(input(tap, state, tariff))
    apply(decision, state)
    return decision
  })
}

const book = (id: string, value = 3000, kind?: string): Item => kind === undefined ? { id, value } : { id, value, kind }

const cases: Array<{ name: string, taps: Tap[], expect: Expect[] }> = [
  {
    name: 'three Jinan loans, the fourth declined',
    taps: [
      { action: 'borrow', items: [book('B1'), book('B2')] },
      { action: 'borrow', items: [book('B3')] },
      { action: 'borrow', items: [book('B4')] }
    ],
    expect: [{ decision: 'approved' }, { decision: 'approved', details: { itemsOnLoan: 3 } }, { decision: 'declined', reason: 'LOAN_LIMIT' }]
  },
  {
    name: 'four items in one tap declined',
    taps: [{ action: 'borrow', items: [book('B1'), book('B2'), book('B3'), book('B4')] }],
    expect: [{ decision: 'declined', reason: 'LOAN_LIMIT' }]
  },
  {
    name: 'value over 200 yuan declined, exactly 200 allowed',
    taps: [
      { action: 'borrow', items: [book('B1', 12000), book('B2', 8001)] },
      { action: 'borrow', items: [book('B1', 12000), book('B2', 8000)] },
      { action: 'borrow', items: [book('B3', 1)] }
    ],
    expect: [
      { decision: 'declined', reason: 'LOAN_VALUE_LIMIT', details: { valueFenMax: 20000, valueFenAfter: 20001 } },
      { decision: 'approved' },
      { decision: 'declined', reason: 'LOAN_VALUE_LIMIT' }
    ]
  },
  {
    name: 'renew once ok, twice declined',
    taps: [
      { action: 'borrow', items: [book('B1')] },
      { action: 'renew', items: [{ id: 'B1' }], on: '2026-07-20' },
      { action: 'renew', items: [{ id: 'B1' }], on: '2026-07-25' }
    ],
    expect: [
      { decision: 'approved', details: { dueOn: '2026-07-31' } },
      { decision: 'approved', details: { dueOn: [{ id: 'B1', dueOn: '2026-08-30' }] } },
      { decision: 'declined', reason: 'RENEWAL_LIMIT' }
    ]
  },
  {
    name: 'return of an item not on loan declined',
    taps: [
      { action: 'borrow', items: [book('B1')] },
      { action: 'return', items: [{ id: 'B1' }, { id: 'B9' }] },
      { action: 'return', items: [{ id: 'B1' }] },
      { action: 'return', items: [{ id: 'B1' }] }
    ],
    expect: [
      { decision: 'approved' },
      { decision: 'declined', reason: 'NOT_ON_LOAN', details: { notOnLoan: ['B9'] } },
      { decision: 'approved', details: { itemsOnLoan: 0 } },
      { decision: 'declined', reason: 'NOT_ON_LOAN' }
    ]
  },
  {
    name: 'renewing an item not on loan declined',
    taps: [{ action: 'renew', items: [{ id: 'B1' }] }],
    expect: [{ decision: 'declined', reason: 'NOT_ON_LOAN' }]
  },
  {
    name: 'returning frees a place',
    taps: [
      { action: 'borrow', items: [book('B1'), book('B2'), book('B3')] },
      { action: 'return', items: [{ id: 'B2' }] },
      { action: 'borrow', items: [book('B4')] }
    ],
    expect: [{ decision: 'approved' }, { decision: 'approved', details: { itemsOnLoan: 2 } }, { decision: 'approved', details: { itemsOnLoan: 3 } }]
  },
  {
    name: 'an item already on loan, or twice in one tap, declined',
    taps: [
      { action: 'borrow', items: [book('B1')] },
      { action: 'borrow', items: [book('B1')] },
      { action: 'borrow', items: [book('B2'), book('B2')] }
    ],
    expect: [{ decision: 'approved' }, { decision: 'declined', reason: 'ALREADY_ON_LOAN' }, { decision: 'declined', reason: 'DUPLICATE_ITEM' }]
  },
  {
    name: 'overdue loan blocks borrowing and renewing, not returning',
    taps: [
      { action: 'borrow', items: [book('B1')] },
      { action: 'borrow', items: [book('B2')], on: '2026-08-01' },
      { action: 'renew', items: [{ id: 'B1' }], on: '2026-08-01' },
      { action: 'return', items: [{ id: 'B1' }], on: '2026-08-03' },
      { action: 'borrow', items: [book('B2')], on: '2026-08-03' }
    ],
    expect: [
      { decision: 'approved' },
      { decision: 'declined', reason: 'OVERDUE' },
      { decision: 'declined', reason: 'OVERDUE' },
      { decision: 'approved', details: { overdue: [{ id: 'B1', daysOverdue: 3 }] } },
      { decision: 'approved' }
    ]
  },
  {
    name: 'the due date itself is not overdue',
    taps: [{ action: 'borrow', items: [book('B1')] }, { action: 'borrow', items: [book('B2')], on: '2026-07-31' }],
    expect: [{ decision: 'approved' }, { decision: 'approved' }]
  },
  {
    name: 'Qingdao: 5 books + 3 periodicals, no value limit',
    taps: [
      { action: 'borrow', items: ['Q1', 'Q2', 'Q3', 'Q4', 'Q5'].map(id => book(id, 50000)), city: 'qingdao' },
      { action: 'borrow', items: [book('Q6', 100)], city: 'qingdao' },
      { action: 'borrow', items: ['P1', 'P2', 'P3'].map(id => book(id, 1000, 'periodical')), city: 'qingdao' },
      { action: 'borrow', items: [book('P4', 1000, 'periodical')], city: 'qingdao' }
    ],
    expect: [
      { decision: 'approved' },
      { decision: 'declined', reason: 'LOAN_LIMIT', details: { kind: 'book', itemsMax: 5 } },
      { decision: 'approved', details: { itemsOnLoan: 8 } },
      { decision: 'declined', reason: 'LOAN_LIMIT' }
    ]
  },
  {
    name: 'loans are per city: a Jinan loan cannot be returned in Zhengzhou, nor counts there',
    taps: [
      { action: 'borrow', items: [book('B1'), book('B2'), book('B3')] },
      { action: 'return', items: [{ id: 'B1' }], city: 'zhengzhou' },
      { action: 'borrow', items: [book('Z1'), book('Z2'), book('Z3')], city: 'zhengzhou' }
    ],
    expect: [{ decision: 'approved' }, { decision: 'declined', reason: 'NOT_ON_LOAN' }, { decision: 'approved', details: { itemsOnLoan: 3 } }]
  }
]

t.test('loan sequences', async t => {
  for (const c of cases) {
    const decisions = run(c.taps)
    decisions.forEach((decision, i) => t.match(decision, c.expect[i] ?? {}, `${c.name}: tap ${i + 1}`))
  }
})

t.test('every decision moves no money and declines are documented', async t => {
  for (const decision of cases.flatMap(c => run(c.taps))) {
    if (decision.decision === 'approved') t.same(decision.payments, [{ account: 'bank', amount: 0 }])
    else t.ok(library.reasons[decision.reason], `${decision.reason} documented`)
  }
})

t.test('state holds the loans of the city', async t => {
  const state = new Map<string, unknown>()
  run([{ action: 'borrow', items: [book('B1', 2500)] }], state)
  const loans = state.get('library:loans:jinan') as Loan[]
  t.same(loans, [{ id: 'B1', value: 2500, kind: 'book', dueOn: '2026-07-31', renewals: 0 }])
  run([{ action: 'return', items: [{ id: 'B1' }] }], state)
  t.notOk(state.has('library:loans:jinan'), 'an empty list deletes the key')
  state.set('library:loans:jinan', [{ id: 'junk' }, 'junk', null])
  t.match(run([{ action: 'borrow', items: [book('B2')] }], state), [{ decision: 'approved', details: { itemsOnLoan: 1 } }], 'malformed state is ignored')
})

t.test('overdue allowed by the tariff', async t => {
  const lenient = { ...tariffs.jinan, overdue: 'allow' as const }
  const decisions = run([
    { action: 'borrow', items: [book('B1')] },
    { action: 'borrow', items: [book('B2')], on: '2026-09-01' }
  ], new Map(), lenient)
  t.match(decisions, [{ decision: 'approved' }, { decision: 'approved' }])
})

t.test('no tariff in the city', async t => {
  const built = input({ action: 'borrow', items: [book('B1')] }, new Map())
  built.tariff = undefined
  t.match(library.decide(built), { decision: 'declined', reason: 'NOT_OFFERED_HERE' })
})

t.test('addDays', async t => {
  t.equal(addDays('2026-07-01', 30), '2026-07-31')
  t.equal(addDays('2026-12-15', 30), '2027-01-14')
  t.equal(addDays('2028-02-28', 1), '2028-02-29')
})

t.test('context schema', async t => {
  const validate = new Ajv({ strict: false }).compile(library.contextSchema)
  t.ok(validate({ action: 'borrow', items: [{ id: 'B1', value: 100 }] }))
  t.ok(validate({ action: 'return', items: [{ id: 'B1' }] }), 'returns need no value')
  t.notOk(validate({ action: 'borrow', items: [{ id: 'B1' }] }), 'borrowing needs the value')
  t.notOk(validate({ action: 'borrow', items: [] }), 'at least one item')
  t.notOk(validate({ action: 'borrow', items: Array.from({ length: 21 }, (_, i) => ({ id: `B${i}`, value: 1 })) }), 'at most 20 items')
  t.notOk(validate({ action: 'lend', items: [{ id: 'B1', value: 1 }] }), 'unknown action')
  t.notOk(validate({ action: 'borrow', items: [{ id: 'B1', value: -1 }] }), 'negative value')
  t.notOk(validate({ action: 'borrow', items: [{ id: 'B1', value: 1, extra: true }] }), 'unknown item field')
})
