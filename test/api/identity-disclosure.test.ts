// The attack: an HR, medical-insurance or government counter is an identity check, nothing is paid
// there, yet its tap answers used to carry the card's bank balance (and a NOT_ELIGIBLE decline named
// which of the holder's categories excluded them). A counter operator, or anyone with its terminal
// secret, could read any presented card's balance. Now such a terminal learns the decision and the
// check's own facts, and nothing about money or the holder's categories.
import t, { type Test } from 'tap'
import { buildTestApp, localAt, physical, tapId } from '../helpers/app.js'

const JN = '370100'
const MONEY_FIELDS = ['account', 'balance', 'payments']
/** Demo holders' category and birth-date strings (fixtures/demo.json). */
const HOLDER_FACTS = ['insured:', 'resident:', 'veteran', 'disabled', 'student', '1985-04-12', '1950-03-01']

function assertDiscloses (t: Test, body: string, what: string): void {
  const answer = JSON.parse(body) as Record<string, unknown>
  for (const field of MONEY_FIELDS) t.notOk(field in answer, `${what}: no ${field}`)
  for (const fact of HOLDER_FACTS) t.notOk(body.includes(fact), `${what}: nothing like ${fact}`)
}

t.test('an identity counter taps cards and learns no balance and no category', async t => {
  const h = await buildTestApp(t)
  // A veteran's card with a distinctive balance, so any figure of it in the answer stands out.
  await h.admin('POST', '/v1/admin/cards/JN0000008/credits', { account: 'bank', amount: 4_321, reference: 'distinct-1' })
  const card = (await h.admin('GET', '/v1/admin/cards/JN0000008')).json
  const balances = [card.balances.bank, card.balances.medical].map(String)
  for (const terminal of ['jinan-government-identity-01', 'jinan-medical-identity-01']) {
    const r = await h.tap(terminal, { tapId: tapId('id'), at: localAt(), card: physical('JN0000008', JN) })
    t.equal(r.statusCode, 200)
    t.equal(r.json.decision, 'approved', `${terminal}: approved (${r.json.reason ?? ''})`)
    t.equal(r.json.amount, 0)
    assertDiscloses(t, r.body, terminal)
    for (const figure of balances) t.notOk(r.body.includes(figure), `${terminal}: the balance ${figure} is not in the answer`)
  }
  // A retiree at the employment counter: declined, and told which rule, not which of their categories.
  const declined = await h.tap('jinan-employment-registration-01', { tapId: tapId('id'), at: localAt(), card: physical('JN0000002', JN) })
  t.match(declined.json, { decision: 'declined', reason: 'NOT_ELIGIBLE', details: { requirement: 'categoriesNone' } })
  t.notOk('category' in (declined.json.details ?? {}), 'the holder\'s matching category is not named')
  assertDiscloses(t, declined.body, 'NOT_ELIGIBLE decline')
  // A replay is the same bytes: still nothing.
  const tap = { tapId: tapId('id'), at: localAt(), card: physical('JN0000001', JN) }
  const first = await h.tap('jinan-medical-identity-01', tap)
  const again = await h.tap('jinan-medical-identity-01', tap)
  t.equal(again.body, first.body)
  assertDiscloses(t, again.body, 'replay')
  t.equal((await h.admin('GET', '/v1/admin/cards/JN0000008')).json.balances.bank, card.balances.bank, 'nothing was charged')
})

t.test('a paying terminal still gets account and balance (the contract is unchanged there)', async t => {
  const h = await buildTestApp(t)
  const r = await h.tap('jinan-bus-01', { tapId: tapId('bus'), at: localAt(), card: physical('JN0000001', JN) })
  t.match(r.json, { decision: 'approved', account: 'bank' })
  t.type(r.json.balance, 'number')
})
