// Pharmacy settlement against the real fixtures/tariffs/pharmacy.json: exact fen of each part.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { localTime } from '../../src/rules/local-time.js'
import { pharmacy, type DrugClass, type PharmacyTariff } from '../../src/rules/pharmacy.js'
import type { AccountKind, CardFacts, CityCode, Payment, RuleInput } from '../../src/rules/types.js'

const tariffs = JSON.parse(readFileSync(new URL('../../fixtures/tariffs/pharmacy.json', import.meta.url), 'utf8')) as Record<CityCode, PharmacyTariff>
const policies = JSON.parse(readFileSync(new URL('../../fixtures/policies.json', import.meta.url), 'utf8')) as unknown
const ISSUERS: Record<CityCode, string> = { jinan: '370100', qingdao: '370200', zhengzhou: '410100' }

function card (issuerCity: CityCode, balances: Record<AccountKind, number> = { bank: 50000, medical: 30000 }): CardFacts {
  return { cardNo: 'JN0000001', issuer: ISSUERS[issuerCity], issuerCity, birthDate: '1985-04-12', categories: [], balances }
}

interface Item { code: string, class: DrugClass, amount: number }
const sum = (items: Item[]): number => items.reduce((total, item) => total + item.amount, 0)

function input (city: CityCode, holder: CardFacts, items: Item[], amount: number = sum(items), tariff?: PharmacyTariff): RuleInput<PharmacyTariff | undefined> {
  return {
    tap: { tapId: 't', at: localTime(Date.parse('2026-07-01T10:00:00+08:00'), 480), amount, context: { items }, cardType: 'physical' },
    card: holder,
    terminal: { terminalId: 'ph-1', city, scenario: 'pharmacy', operator: `${city}-pharmacy-1`, location: {} },
    scenario: { code: 'pharmacy', domain: 'medical', module: 'pharmacy', pricedAtTerminal: true, accounts: ['medical', 'bank'] },
    tariff: tariff ?? tariffs[city],
    policies,
    city: undefined,
    state: { get: () => undefined }
  }
}

const amoxicillinA: Item = { code: 'X-J01CA04-amoxicillin', class: 'A', amount: 2350 }
const atorvastatinB: Item = { code: 'X-C10AA05-atorvastatin', class: 'B', amount: 4567 }
const vitaminSelf: Item = { code: 'X-vitamin-c-chewable', class: 'self', amount: 1800 }
const monitorSelf: Item = { code: 'D-blood-pressure-monitor', class: 'self', amount: 19900 }
const lianhuaB: Item = { code: 'Z-lianhua-qingwen', class: 'B', amount: 3000 }
const basket = [amoxicillinA, atorvastatinB, vitaminSelf]

interface Case {
  name: string
  city: CityCode
  card: CardFacts
  items: Item[]
  tariff?: PharmacyTariff
  payments: Payment[]
  details?: Record<string, unknown>
}

const cases: Case[] = [
  {
    // 10% of 45.67 = 4.567 → 4.57 first share; in scope 23.50 + 41.10 = 64.60 from medical;
    // bank: 18.00 self + 4.57 first share = 22.57.
    name: 'A + B + self, Jinan card in Jinan: medical and bank split',
    city: 'jinan',
    card: card('jinan'),
    items: basket,
    payments: [{ account: 'medical', amount: 6460 }, { account: 'bank', amount: 2257 }],
    details: {
      totalFen: 8717,
      selfPaidFen: 1800,
      classBFirstShareFen: 457,
      inScopeFen: 6460,
      fundFen: 0,
      medicalAccountFen: 6460,
      bankFen: 2257,
      medicalBalanceAfterFen: 23540,
      firstSharePercent: 10,
      insuredCity: 'jinan',
      treatmentCity: 'jinan'
    }
  },
  {
    name: 'medical account short: the rest of the catalogue part falls to bank',
    city: 'jinan',
    card: card('jinan', { bank: 50000, medical: 5000 }),
    items: basket,
    payments: [{ account: 'medical', amount: 5000 }, { account: 'bank', amount: 3717 }],
    details: { medicalAccountFen: 5000, bankFen: 3717, medicalBalanceAfterFen: 0 }
  },
  {
    name: 'empty medical account: all from bank',
    city: 'jinan',
    card: card('jinan', { bank: 50000, medical: 0 }),
    items: basket,
    payments: [{ account: 'bank', amount: 8717 }]
  },
  {
    name: 'medical account never pays self-paid items, however full',
    city: 'qingdao',
    card: card('qingdao', { bank: 50000, medical: 1_000_000 }),
    items: [vitaminSelf, monitorSelf],
    payments: [{ account: 'bank', amount: 21700 }],
    details: { selfPaidFen: 21700, medicalAccountFen: 0, inScopeFen: 0 }
  },
  {
    // Zhengzhou insured: 15% of 45.67 = 6.8505 → 6.85.
    name: 'cross-city: Zhengzhou card in Jinan uses Zhengzhou\'s first share',
    city: 'jinan',
    card: card('zhengzhou'),
    items: basket,
    payments: [{ account: 'medical', amount: 6232 }, { account: 'bank', amount: 2485 }],
    details: { classBFirstShareFen: 685, firstSharePercent: 15, insuredCity: 'zhengzhou', treatmentCity: 'jinan' }
  },
  {
    name: 'cross-city: Jinan card in Zhengzhou uses Jinan\'s first share',
    city: 'zhengzhou',
    card: card('jinan'),
    items: basket,
    payments: [{ account: 'medical', amount: 6460 }, { account: 'bank', amount: 2257 }],
    details: { classBFirstShareFen: 457, firstSharePercent: 10, insuredCity: 'jinan', treatmentCity: 'zhengzhou' }
  },
  {
    name: 'catalogue of the place of treatment: Class B in Jinan',
    city: 'jinan',
    card: card('zhengzhou'),
    items: [lianhuaB],
    payments: [{ account: 'medical', amount: 2550 }, { account: 'bank', amount: 450 }]
  },
  // Issue 12 finding 2: drug classes are national — the same Class B in Zhengzhou as in Jinan.
  {
    name: 'a drug is classed by the national catalogue in every city',
    city: 'zhengzhou',
    card: card('jinan'),
    items: [{ ...lianhuaB, class: 'A' }],
    payments: [{ account: 'medical', amount: 2700 }, { account: 'bank', amount: 300 }],
    details: { items: [{ code: 'Z-lianhua-qingwen', class: 'B', classSource: 'national-catalogue', firstShareFen: 300 }] }
  },
  // ... while services and consumables follow the place of treatment (pharmacy.json, demo classes).
  {
    name: 'a consumable Class B in Qingdao',
    city: 'qingdao',
    card: card('jinan'),
    items: [{ code: 'D-glucose-test-strips', class: 'self', amount: 4000 }],
    payments: [{ account: 'medical', amount: 3600 }, { account: 'bank', amount: 400 }],
    details: { items: [{ class: 'B', classSource: 'catalogue' }] }
  },
  {
    name: 'the same consumable self-paid in Zhengzhou',
    city: 'zhengzhou',
    card: card('jinan'),
    items: [{ code: 'D-glucose-test-strips', class: 'B', amount: 4000 }],
    payments: [{ account: 'bank', amount: 4000 }],
    details: { items: [{ class: 'self', classSource: 'catalogue' }] }
  },
  {
    name: 'a listed code overrides the terminal\'s class',
    city: 'qingdao',
    card: card('qingdao'),
    items: [{ ...amoxicillinA, class: 'self' }],
    payments: [{ account: 'medical', amount: 2350 }]
  },
  {
    name: 'an unlisted code keeps the terminal\'s class',
    city: 'qingdao',
    card: card('qingdao'),
    items: [{ code: 'X-unlisted-1', class: 'B', amount: 1000 }],
    payments: [{ account: 'medical', amount: 900 }, { account: 'bank', amount: 100 }],
    details: { items: [{ classSource: 'terminal' }] }
  },
  {
    name: 'an unlisted code is self-paid when the tariff says so',
    city: 'qingdao',
    card: card('qingdao'),
    items: [{ code: 'X-unlisted-1', class: 'B', amount: 1000 }],
    tariff: { ...tariffs.qingdao, unlistedCodes: 'self' },
    payments: [{ account: 'bank', amount: 1000 }],
    details: { items: [{ class: 'self', classSource: 'unlisted' }] }
  },
  {
    name: 'the first share is rounded per item (2 × 0.5 fen → 2 fen)',
    city: 'jinan',
    card: card('jinan'),
    items: [{ ...atorvastatinB, amount: 5 }, { ...atorvastatinB, amount: 5 }],
    payments: [{ account: 'medical', amount: 8 }, { account: 'bank', amount: 2 }]
  },
  {
    name: 'a zero basket charges nothing',
    city: 'jinan',
    card: card('jinan'),
    items: [{ ...amoxicillinA, amount: 0 }],
    payments: [{ account: 'bank', amount: 0 }]
  }
]

t.test('settlement splits', async t => {
  for (const c of cases) {
    const decision = pharmacy.decide(input(c.city, c.card, c.items, sum(c.items), c.tariff))
    t.equal(decision.decision, 'approved', c.name)
    if (decision.decision !== 'approved') continue
    t.same(decision.payments, c.payments, `${c.name}: payments`)
    const paidFen = decision.payments.reduce((total, p) => total + p.amount, 0)
    t.equal(paidFen, sum(c.items), `${c.name}: parts add up to the amount`)
    if (c.details !== undefined) t.match(decision.details, c.details, `${c.name}: details`)
  }
})

t.test('amount must equal the items\' sum', async t => {
  for (const amount of [8716, 8718, 0]) {
    const decision = pharmacy.decide(input('jinan', card('jinan'), basket, amount))
    t.match(decision, { decision: 'declined', reason: 'BASKET_SUM_MISMATCH', details: { amountFen: amount, itemsFen: 8717 } }, `amount ${amount}`)
  }
})

t.test('no tariff, no policy', async t => {
  const noTariff = input('jinan', card('jinan'), basket)
  noTariff.tariff = undefined
  t.match(pharmacy.decide(noTariff), { decision: 'declined', reason: 'NOT_OFFERED_HERE' })
  const noPolicy = input('jinan', card('qingdao'), basket, sum(basket), { ...tariffs.jinan, insuredPolicies: {} })
  t.match(pharmacy.decide(noPolicy), { decision: 'declined', reason: 'POLICY_UNKNOWN' })
})

t.test('module contract', async t => {
  t.equal(pharmacy.reversible, true)
  for (const reason of ['BASKET_SUM_MISMATCH', 'POLICY_UNKNOWN', 'NOT_OFFERED_HERE']) t.ok(pharmacy.reasons[reason], reason)
})

t.test('fixtures: every city carries the same insured-place policies', async t => {
  t.same(tariffs.qingdao.insuredPolicies, tariffs.jinan.insuredPolicies)
  t.same(tariffs.zhengzhou.insuredPolicies, tariffs.jinan.insuredPolicies)
  t.same(Object.keys(tariffs.jinan.insuredPolicies).sort(), ['jinan', 'qingdao', 'zhengzhou'])
})

t.test('context schema', async t => {
  const validate = new Ajv({ strict: false }).compile(pharmacy.contextSchema)
  t.ok(validate({ items: basket }))
  t.notOk(validate({ items: [] }), 'at least one item')
  t.notOk(validate({ items: [{ ...amoxicillinA, class: 'C' }] }), 'class A, B or self')
  t.notOk(validate({ items: [{ ...amoxicillinA, amount: 1.5 }] }), 'integer fen')
  t.notOk(validate({ items: [{ ...amoxicillinA, amount: -1 }] }), 'not negative')
  t.notOk(validate({ items: basket, note: 'x' }), 'unknown fields rejected')
  t.notOk(validate({ items: Array.from({ length: 101 }, () => amoxicillinA) }), 'at most 100 items')
})
