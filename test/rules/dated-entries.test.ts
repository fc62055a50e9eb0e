// Dated rule state stays bounded (issue 12 constraints: at most N dated entries per key, pruned on
// write) and the holder vocabulary is one list (src/rules/holder.ts).
import t from 'tap'
import { assertKeepMax, isCountFen, newestPeriod, readDatedEntries, withDatedEntry } from '../../src/rules/dated-entries.js'
import { filedForTreatmentIn, isKnownCategory, medicalSchemeOf, residentOf } from '../../src/rules/holder.js'

const writes: Array<{ name: string, entries: Record<string, number>, period: string, value: number, keepMax: number, expect: Record<string, number> }> = [
  { name: 'a first entry', entries: {}, period: '2026-07-01', value: 5, keepMax: 3, expect: { '2026-07-01': 5 } },
  { name: 'the same period is replaced', entries: { '2026-07-01': 5 }, period: '2026-07-01', value: 9, keepMax: 3, expect: { '2026-07-01': 9 } },
  { name: 'the oldest period is pruned', entries: { '2026-06-29': 1, '2026-06-30': 2, '2026-07-01': 3 }, period: '2026-07-02', value: 4, keepMax: 3, expect: { '2026-06-30': 2, '2026-07-01': 3, '2026-07-02': 4 } },
  { name: 'an old period written among newer ones is itself pruned', entries: { '2026-07': 1, '2026-08': 2 }, period: '2026-06', value: 9, keepMax: 2, expect: { '2026-07': 1, '2026-08': 2 } },
  { name: 'years', entries: { 2025: 1 }, period: '2026', value: 2, keepMax: 1, expect: { 2026: 2 } }
]

t.test('writes keep the newest keepMax periods', async t => {
  for (const c of writes) t.same(withDatedEntry(c.entries, c.period, c.value, c.keepMax), c.expect, c.name)
})

t.test('reads ignore what is malformed', async t => {
  t.same(readDatedEntries({ '2026-07-01': 3, '2026-07-02': -1, junk: 4, '2026-7-3': 1, '2026-07-04': 1.5 }, isCountFen), { '2026-07-01': 3 })
  t.same(readDatedEntries('junk', isCountFen), {})
  t.same(readDatedEntries([1, 2], isCountFen), {})
  t.equal(newestPeriod({ '2026-06-30': 1, '2026-07-01': 2 }), '2026-07-01')
  t.equal(newestPeriod({}), null)
})

t.test('keepMax and periods are asserted', async t => {
  t.throws(() => assertKeepMax(0))
  t.throws(() => assertKeepMax(1.5))
  t.throws(() => withDatedEntry({}, 'July', 1, 2))
})

const categories: Array<{ category: string, known: boolean }> = [
  { category: 'retiree', known: true },
  { category: 'insured:employee', known: true },
  { category: 'resident:jinan', known: true },
  { category: 'filed:zhengzhou', known: true },
  { category: 'resident:shanghai', known: false },
  { category: 'resident:<city>', known: false },
  { category: 'pensioner', known: false }
]

t.test('the holder vocabulary', async t => {
  for (const c of categories) t.equal(isKnownCategory(c.category, ['jinan', 'qingdao', 'zhengzhou']), c.known, c.category)
  t.equal(medicalSchemeOf({ categories: ['insured:resident'] }), 'resident')
  t.equal(medicalSchemeOf({ categories: ['insured:resident', 'insured:employee'] }), 'employee', 'the scheme with an account wins')
  t.equal(medicalSchemeOf({ categories: [] }), null)
  t.ok(residentOf({ categories: ['resident:qingdao'] }, 'qingdao'))
  t.notOk(residentOf({ categories: ['resident:qingdao'] }, 'jinan'))
  t.ok(filedForTreatmentIn({ categories: ['filed:jinan'] }, 'jinan'))
})
