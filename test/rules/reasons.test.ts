// One vocabulary of decline reasons (issue 12 finding 7): each code has one meaning and one message,
// modules take theirs from the registry, /v1/scenarios serves them, and the README's table says the
// same as the catalogue (parsed here from README.md).
import t from 'tap'
import { readFileSync } from 'node:fs'
import { scenariosDocument } from '../../src/api/public-routes.js'
import { loadFixtures } from '../../src/fixtures.js'
import { buildCatalogue } from '../../src/rules/catalogue.js'
import { CORE_REASONS } from '../../src/rules/engine.js'
import { ruleModules } from '../../src/rules/modules.js'
import { MODULE_REASONS } from '../../src/rules/reasons.js'
import type { Message } from '../../src/rules/types.js'

interface Row { code: string, modules: string[], message: string }

/** The rows of the table under `### Reason codes` in README.md. */
function readmeRows (): Row[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const section = readme.split('### Reason codes')[1]?.split(/\n#{2,3} /)[0] ?? ''
  return section.split('\n')
    .map(line => /^\| `([A-Z_]+)` \| ([^|]+) \| (.+) \|$/.exec(line.trim()))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(match => ({ code: match[1] as string, modules: (match[2] as string).split(',').map(m => m.trim()).sort(), message: match[3] as string }))
}

const text = (message: Message): string => `${message.en} (${message.zh})`

function usersOf (code: string): string[] {
  if (Object.hasOwn(CORE_REASONS, code)) return ['all']
  return Object.values(ruleModules).filter(module => Object.hasOwn(module.reasons, code)).map(module => module.code).sort()
}

t.test('the README reason table and the catalogue agree', async t => {
  const rows = readmeRows()
  t.ok(rows.length > 0, 'the table was found')
  const documented = new Set(rows.map(row => row.code))
  t.equal(documented.size, rows.length, 'each code once in the README')
  const served = new Set([...Object.keys(CORE_REASONS), ...Object.values(ruleModules).flatMap(module => Object.keys(module.reasons))])
  t.same([...documented].sort(), [...served].sort(), 'the same codes')
  for (const row of rows) {
    const message = CORE_REASONS[row.code] ?? (MODULE_REASONS as Record<string, Message>)[row.code]
    t.ok(message !== undefined, `${row.code} has a message`)
    if (message !== undefined) t.equal(row.message, text(message), `${row.code}: the README message is the registry's`)
    t.same(row.modules, usersOf(row.code), `${row.code}: the modules that decline with it`)
  }
})

t.test('one meaning per code', async t => {
  for (const module of Object.values(ruleModules)) {
    for (const [code, message] of Object.entries(module.reasons)) {
      t.same(message, (MODULE_REASONS as Record<string, Message>)[code], `${module.code} ${code}: the registry's message`)
      t.notOk(Object.hasOwn(CORE_REASONS, code), `${module.code} ${code}: not a fixed api-v1 code`)
    }
  }
  for (const code of Object.keys(MODULE_REASONS)) t.ok(usersOf(code).length > 0, `${code} is used by a module`)
  t.notOk(Object.hasOwn(MODULE_REASONS, 'AMOUNT_MISMATCH'), 'AMOUNT_MISMATCH is split into BASKET_SUM_MISMATCH and SELF_PAID_OVER_TOTAL')
  for (const [code, message] of Object.entries({ ...CORE_REASONS, ...MODULE_REASONS })) {
    t.match(code, /^[A-Z][A-Z_]*$/, `${code} format`)
    t.ok(message.zh.length > 0 && message.en.length > 0, `${code} has zh and en`)
  }
})

t.test('/v1/scenarios documents every reason a scenario may give', async t => {
  const catalogue = buildCatalogue(loadFixtures())
  const document = scenariosDocument(catalogue) as { scenarios: Array<{ code: string, module: string, reasons: Array<{ code: string, message: Message }> }> }
  t.equal(document.scenarios.length, 26)
  for (const scenario of document.scenarios) {
    const module = ruleModules[scenario.module]
    const expected = [...Object.keys(CORE_REASONS), ...Object.keys(module?.reasons ?? {})].sort()
    t.same(scenario.reasons.map(reason => reason.code).sort(), expected, `${scenario.code}: fixed and module codes`)
    for (const reason of scenario.reasons) t.same(reason.message, CORE_REASONS[reason.code] ?? (MODULE_REASONS as Record<string, Message>)[reason.code], `${scenario.code} ${reason.code}: message`)
  }
})
