// 200 simultaneous taps on one card from many terminals, over real sockets: the card is never
// overdrawn and its balance drops by exactly the approved amounts.
import t from 'tap'
import { checkStoredLedger } from '../helpers/engine.js'
import { buildTestApp, localAt, physical, tapId } from '../helpers/app.js'
import { postSigned } from '../helpers/http-client.js'

const TERMINALS = 200 // one tap per terminal: a second tap on the same vehicle would be a duplicate
const TAPS = 200

t.test('200 simultaneous taps on one card never overdraw it', async t => {
  const h = await buildTestApp(t, { seed: 'demo' })
  const openingFen = 10_050 // room for 100 fares and 50 fen over
  t.equal((await h.admin('POST', '/v1/admin/cards', { cardNo: 'CC0000001', issuer: '370100', accounts: { bank: openingFen } })).statusCode, 201)
  const terminals: Array<{ id: string, secret: string }> = []
  for (let i = 0; i < TERMINALS; i++) {
    const r = await h.admin('POST', '/v1/admin/terminals', { terminalId: `cc-bus-${i}`, city: 'jinan', scenario: 'bus', operator: 'bus-co' })
    terminals.push({ id: r.json.terminalId, secret: r.json.secret })
  }
  const url = await h.app.listen({ port: 0, host: '127.0.0.1' })
  const answers = await Promise.all(Array.from({ length: TAPS }, (_v, i) => {
    const terminal = terminals[i % TERMINALS]!
    return postSigned(url, terminal.id, terminal.secret, '/v1/taps', { tapId: tapId('cc'), at: localAt(), card: physical('CC0000001', '370100') })
  }))
  t.same([...new Set(answers.map(a => a.status))], [200], 'every tap answered 200')
  const approved = answers.filter(a => a.json.decision === 'approved')
  const declined = answers.filter(a => a.json.decision === 'declined')
  const fareFen = approved[0]!.json.amount as number
  t.ok(fareFen > 0, `a fare is charged (${fareFen} fen)`)
  t.ok(approved.every(a => a.json.amount === fareFen), 'one fare for all')
  t.equal(approved.length, Math.floor(openingFen / fareFen), 'exactly as many approvals as the balance allows')
  t.same([...new Set(declined.map(a => a.json.reason))], ['INSUFFICIENT_FUNDS'], 'the rest declined for funds')
  const chargedFen = approved.reduce((sum, a) => sum + a.json.amount, 0)
  const card = await h.admin('GET', '/v1/admin/cards/CC0000001')
  t.equal(card.json.balances.bank, openingFen - chargedFen, 'balance drop equals approved amounts')
  t.ok(card.json.balances.bank >= 0)
  const balancesSeen = approved.map(a => a.json.balance).sort((a, b) => a - b)
  t.equal(new Set(balancesSeen).size, approved.length, 'each approval saw a distinct balance: serialised')
  // Group commit really grouped: some writer transaction decided more than one of these taps.
  const batches = (await h.metrics.batchSize.get()).values
  const count = batches.find(v => v.metricName === 'yikatong_group_commit_batch_size_count')!.value
  const sum = batches.find(v => v.metricName === 'yikatong_group_commit_batch_size_sum')!.value
  const singles = batches.find(v => v.metricName === 'yikatong_group_commit_batch_size_bucket' && v.labels.le === 1)!.value
  t.equal(sum, TAPS, 'every tap went through a tap batch')
  t.ok(singles < count, `${count - singles} of ${count} batches held more than one tap (${(sum / count).toFixed(1)} taps a batch)`)
  const report = await checkStoredLedger(h)
  t.same(report.problems, [])
  t.ok(report.ok)
})
