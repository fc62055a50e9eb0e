// Library loans against the real fixtures/tariffs/library.json. Each case is a sequence of taps on
// one card; state writes of approved taps are applied before the next tap, as the ledger does.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { localTime } from '../../src/rules/local-time.js'
import { addDays, library, type LibraryRules, type LibraryTariff, type Loan } from '../../src/rules/library.js'
import type { CardFacts, CityCode, RuleDecision, RuleInput } from '../../src/rules/types.js'

const tariffs = JSON.parse(readFileSync(new URL('../../fixtures/tariffs/library.json', import.meta.url), 'utf8')) as Record<CityCode, LibraryTariff>
const MAIN_LIBRARY: Record<CityCode, string> = { jinan: 'jn-library', qingdao: 'qd-library', zhengzhou: 'zz-library' }

const holder: CardFacts = { cardNo: 'ZZ0000001', issuer: '410100', issuerCity: 'zhengzhou', birthDate: '1985-04-12', categories: [], balances: { bank: 0, medical: 0 } }

interface Item { id: string, value?: number, kind?: string }
interface Tap { action: 'borrow' | 'return' | 'renew', items: Item[], on?: string, city?: CityCode, venue?: string, birthDate?: string }
interface Expect { decision: 'approved' | 'declined', reason?: string, details?: Record<string, unknown> }

function input (tap: Tap, state: Map<string, unknown>, tariff?: LibraryTariff): RuleInput<LibraryTariff | undefined> {
  const city = tap.city ?? 'jinan'
  return {
    tap: { tapId: 't', at: localTime(Date.parse(`${tap.on ?? '2026-07-01'}T10:00:00+08:00`), 480), amount: null, context: { action: tap.action, items: tap.items }, cardType: 'physical' },
    card: tap.birthDate === undefined ? holder : { ...holder, birthDate: tap.birthDate },
    terminal: { terminalId: 'lib-1', city, scenario: 'library', operator: 'lib', location: { venue: tap.venue ?? MAIN_LIBRARY[city] } },
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
  // Source: issue 12 finding 3 — libraries are per library system, not per city.
  {
    name: 'Jinan Library and Shandong Library are separate systems: a loan at one neither returns nor counts at the other',
    taps: [
      { action: 'borrow', items: [book('B1'), book('B2'), book('B3')] },
      { action: 'return', items: [{ id: 'B1' }], venue: 'jn-shandong-library' },
      { action: 'borrow', items: [book('S1'), book('S2'), book('S3'), book('S4')], venue: 'jn-shandong-library' },
      { action: 'borrow', items: [book('S5')], venue: 'jn-shandong-library' }
    ],
    expect: [{ decision: 'approved' }, { decision: 'declined', reason: 'NOT_ON_LOAN' }, { decision: 'approved', details: { itemsOnLoan: 4 } }, { decision: 'declined', reason: 'LOAN_LIMIT', details: { itemsMax: 4 } }]
  },
  // Source: Shandong Library reader notice — 30 days, one renewal of 30 days, 0.1 yuan a day, return overdue items first.
  {
    name: 'Shandong Library: overdue blocks, the return reports 0.1 yuan a day',
    taps: [
      { action: 'borrow', items: [book('S1')], venue: 'jn-shandong-library' },
      { action: 'borrow', items: [book('S2')], venue: 'jn-shandong-library', on: '2026-08-05' },
      { action: 'return', items: [{ id: 'S1' }], venue: 'jn-shandong-library', on: '2026-08-05' }
    ],
    expect: [{ decision: 'approved', details: { dueOn: '2026-07-31' } }, { decision: 'declined', reason: 'OVERDUE' }, { decision: 'approved', details: { overdueFeeFen: 50, overdue: [{ id: 'S1', daysOverdue: 5, feeFen: 50 }] } }]
  },
  {
    name: 'Zhengzhou Library and Henan Provincial Library are separate systems',
    taps: [
      { action: 'borrow', items: [book('Z1'), book('Z2'), book('Z3')], city: 'zhengzhou' },
      { action: 'borrow', items: [book('H1'), book('H2'), book('H3')], city: 'zhengzhou', venue: 'zz-henan-library' },
      { action: 'return', items: [{ id: 'Z1' }], city: 'zhengzhou', venue: 'zz-henan-library' }
    ],
    expect: [{ decision: 'approved' }, { decision: 'approved', details: { itemsOnLoan: 3 } }, { decision: 'declined', reason: 'NOT_ON_LOAN' }]
  },
  {
    name: 'a desk at no library system of the tariff',
    taps: [{ action: 'borrow', items: [book('X1')], venue: 'jn-baotu-spring' }],
    expect: [{ decision: 'declined', reason: 'VENUE_UNKNOWN', details: { venue: 'jn-baotu-spring' } }]
  },
  // Source: qdlib.net 借阅服务 — periodicals 60 days and not renewable; a book renews once for 30 days.
  {
    name: 'Qingdao: a periodical is lent 60 days and does not renew; a book renews once',
    taps: [
      { action: 'borrow', items: [book('P1', 1000, 'periodical'), book('Q1')], city: 'qingdao' },
      { action: 'renew', items: [{ id: 'P1' }], city: 'qingdao', on: '2026-07-10' },
      { action: 'renew', items: [{ id: 'Q1' }], city: 'qingdao', on: '2026-07-10' }
    ],
    expect: [
      { decision: 'approved', details: { items: [{ id: 'P1', dueOn: '2026-08-30' }, { id: 'Q1', dueOn: '2026-07-31' }] } },
      { decision: 'declined', reason: 'RENEWAL_LIMIT', details: { kind: 'periodical', renewalsMax: 0 } },
      { decision: 'approved', details: { dueOn: [{ id: 'Q1', dueOn: '2026-08-30' }] } }
    ]
  },
  // Source: qdlib.net — 0.05 yuan an item a day, at most 9 yuan an item; under 10 yuan owed borrowing goes on.
  {
    name: 'Qingdao: overdue fees block only from 10 yuan',
    taps: [
      { action: 'borrow', items: [book('Q1'), book('Q2')], city: 'qingdao' },
      // 2026-07-31 due; 2026-10-08 is 69 days late: 2 × 3.45 yuan = 6.90 yuan, borrowing goes on.
      { action: 'borrow', items: [book('Q3')], city: 'qingdao', on: '2026-10-08' },
      // 2026-11-10: Q1, Q2 102 days late (2 × 5.10 yuan) and Q3 (due 11-07) 3 days (0.15): 10.35 yuan, blocked.
      { action: 'borrow', items: [book('Q4')], city: 'qingdao', on: '2026-11-10' },
      { action: 'renew', items: [{ id: 'Q3' }], city: 'qingdao', on: '2026-11-10' }
    ],
    expect: [
      { decision: 'approved' },
      { decision: 'approved' },
      { decision: 'declined', reason: 'OVERDUE_FEES', details: { feesFen: 1035, blockFromFeeFen: 1000 } },
      { decision: 'declined', reason: 'OVERDUE_FEES' }
    ]
  },
  {
    name: 'Qingdao: one item\'s fee stops at 9 yuan',
    taps: [
      { action: 'borrow', items: [book('Q1')], city: 'qingdao' },
      { action: 'return', items: [{ id: 'Q1' }], city: 'qingdao', on: '2027-07-31' }
    ],
    expect: [{ decision: 'approved' }, { decision: 'approved', details: { overdue: [{ id: 'Q1', daysOverdue: 365, feeFen: 900 }] } }]
  },
  // Source: 163.com Qingdao deposit-free cards — the children's card lends 3 children's books.
  {
    name: 'Qingdao: a child\'s card lends 3 books and no periodicals, at the main library and the children\'s branch alike',
    taps: [
      { action: 'borrow', items: [book('C1'), book('C2')], city: 'qingdao', venue: 'qd-children-library', birthDate: '2016-05-01' },
      { action: 'borrow', items: [book('C3'), book('C4')], city: 'qingdao', birthDate: '2016-05-01' },
      { action: 'borrow', items: [book('P1', 500, 'periodical')], city: 'qingdao', birthDate: '2016-05-01' },
      { action: 'return', items: [{ id: 'C1' }], city: 'qingdao', birthDate: '2016-05-01' }
    ],
    expect: [
      { decision: 'approved', details: { cardType: 'child' } },
      { decision: 'declined', reason: 'LOAN_LIMIT', details: { cardType: 'child', itemsMax: 3 } },
      { decision: 'declined', reason: 'LOAN_LIMIT', details: { kind: 'periodical', itemsMax: 0 } },
      { decision: 'approved', details: { itemsOnLoan: 1 } }
    ]
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

t.test('state holds the loans of the library system', async t => {
  const state = new Map<string, unknown>()
  run([{ action: 'borrow', items: [book('B1', 2500)] }], state)
  const loans = state.get('library:loans:jinan-library') as Loan[]
  t.same(loans, [{ id: 'B1', value: 2500, kind: 'book', dueOn: '2026-07-31', renewals: 0 }])
  run([{ action: 'return', items: [{ id: 'B1' }] }], state)
  t.notOk(state.has('library:loans:jinan-library'), 'an empty list deletes the key')
  state.set('library:loans:jinan-library', [{ id: 'junk' }, 'junk', null])
  t.match(run([{ action: 'borrow', items: [book('B2')] }], state), [{ decision: 'approved', details: { itemsOnLoan: 1 } }], 'malformed state is ignored')
})

t.test('overdue allowed by the tariff', async t => {
  const jinanLibrary = tariffs.jinan.systems['jinan-library'] as LibraryRules
  const lenient: LibraryTariff = { systems: { 'jinan-library': { ...jinanLibrary, overdue: { ...jinanLibrary.overdue, blocks: 'never' } } } }
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
