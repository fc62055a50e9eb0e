// A full tap queue sheds load with 503 OVERLOADED at once instead of queueing without bound;
// the shed taps change nothing and can be retried with the same tapId.
import t from 'tap'
import { buildTestApp, localAt, physical, tapId } from '../helpers/app.js'

t.test('taps beyond the queue bound get 503 OVERLOADED, and succeed on retry', async t => {
  const h = await buildTestApp(t, { batchSizeMax: 2, queueDepthMax: 2, rateLimit: { ratePerSecond: 1000, burst: 1000 } })
  const cards = ['JN0000001', 'JN0000002', 'JN0000003', 'JN0000007', 'JN0000008', 'QD0000001', 'QD0000003', 'ZZ0000001', 'ZZ0000003', 'ZZ0000007']
  const bodies = cards.map(cardNo => ({ tapId: tapId('ov'), at: localAt(), card: physical(cardNo, { J: '370100', Q: '370200', Z: '410100' }[cardNo[0]!]!) }))
  const answers = await Promise.all(bodies.map(body => h.tap('jinan-bus-01', body)))
  const shed = answers.filter(a => a.statusCode === 503)
  t.ok(shed.length > 0, `${shed.length} of ${answers.length} shed`)
  t.ok(answers.every(a => a.statusCode === 200 || a.statusCode === 503), 'only 200 or 503')
  for (const a of shed) t.same(a.json.error.code, 'OVERLOADED')
  const recorded = Number((await h.query('SELECT COUNT(*) AS n FROM taps'))[0].n)
  t.equal(recorded, answers.length - shed.length, 'shed taps left nothing behind')
  for (const [i, a] of answers.entries()) {
    if (a.statusCode !== 503) continue
    const retry = await h.tap('jinan-bus-01', bodies[i])
    t.equal(retry.statusCode, 200, 'the retry with the same tapId is decided')
  }
})
