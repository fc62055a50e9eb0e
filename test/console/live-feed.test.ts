// Live decisions: the feed is bounded (buffer and subscribers), a tap appears on the SSE stream of
// a real listening app with card tokens only, and the console counters see it.
import t from 'tap'
import { LiveFeed, type LiveDecision } from '../../src/api/live-feed.js'
import { ConsoleStats, RATE_WINDOW_SECONDS } from '../../src/console/console-stats.js'
import { ADMIN_TOKEN, buildTestApp, localAt, physical, tapId } from '../helpers/app.js'

const event = (i: number, over: Partial<LiveDecision> = {}): LiveDecision => ({
  at: new Date(1_782_864_930_000 + i).toISOString(), terminal: `t-${i % 3}`, scenario: 'bus', city: 'jinan', decision: 'approved', reason: null, amount: 200, card: 'card_000000000000', latencyMs: 1.5, replay: false, ...over
})

t.test('the feed keeps the last N events and at most M subscribers', async t => {
  const feed = new LiveFeed({ bufferSize: 5, subscribersMax: 2 })
  for (let i = 0; i < 12; i++) feed.publish(event(i))
  t.same(feed.recent().map(e => e.at), [7, 8, 9, 10, 11].map(i => event(i).at), 'oldest first, last five')
  const seen: number[] = []
  const a = feed.subscribe(e => seen.push(Date.parse(e.at)))
  const b = feed.subscribe(() => { throw new Error('broken subscriber') })
  t.ok(a); t.ok(b)
  t.equal(feed.subscribe(() => {}), undefined, 'a third is refused')
  feed.publish(event(20))
  t.equal(seen.length, 1)
  t.equal(feed.subscriberCount, 1, 'a throwing subscriber is dropped, the tap is not failed')
  a!()
  t.equal(feed.subscriberCount, 0)
})

t.test('console stats: histogram, per-second window, declines by reason/scenario/city, terminals', async t => {
  let now = 1_782_864_930_000
  const stats = new ConsoleStats(() => now)
  stats.onDecision(event(1, { latencyMs: 0.4 }))
  stats.onDecision(event(2, { latencyMs: 3, decision: 'declined', reason: 'INSUFFICIENT_FUNDS', city: 'qingdao', scenario: 'metro' }))
  stats.onDecision(event(3, { latencyMs: 5000 }))
  stats.onRejected('UNAUTHENTICATED', 't-0')
  let view = stats.view()
  t.equal(view.taps, 3); t.equal(view.declined, 1)
  t.equal(view.latency.counts[0], 1, '0.4 ms in the ≤0.5 bucket')
  t.equal(view.latency.counts[3], 1, '3 ms in the ≤5 bucket')
  t.equal(view.latency.counts.at(-1), 1, '5 s in the overflow bucket')
  t.same(view.declines, { byReason: { INSUFFICIENT_FUNDS: 1 }, byScenario: { metro: 1 }, byCity: { qingdao: 1 } })
  t.equal(view.perSecond.approved.at(-1), 2, 'this second')
  t.equal(view.perSecond.approved.length, RATE_WINDOW_SECONDS)
  t.match(view.terminals.find(x => x.terminal === 't-0'), { rejected: 1, lastRejectedCode: 'UNAUTHENTICATED', taps: 1 })
  now += 3000
  view = stats.view()
  t.equal(view.perSecond.approved.at(-1), 0, 'a new second starts empty')
  t.equal(view.perSecond.approved.at(-4), 2, 'three seconds ago')
  now += RATE_WINDOW_SECONDS * 1000 * 5
  t.equal(stats.view().perSecond.approved.reduce((a, b) => a + b, 0), 0, 'the window forgets')
})

t.test('a tap appears on the live stream of a listening app, with a card token only', async t => {
  const h = await buildTestApp(t)
  const base = await h.app.listen({ port: 0, host: '127.0.0.1' })
  t.equal((await fetch(`${base}/console/api/live`)).status, 401, 'no token, no stream')
  const abort = new AbortController()
  t.teardown(() => abort.abort())
  const stream = await fetch(`${base}/console/api/live`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: abort.signal })
  t.equal(stream.status, 200)
  t.match(stream.headers.get('content-type'), /text\/event-stream/)
  const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader()
  const id = tapId('live')
  await h.tap('jinan-bus-01', { tapId: id, at: localAt(), card: physical('JN0000001', '370100') })
  let text = ''
  const deadline = setTimeout(() => abort.abort(), 10_000) // bounded: the test ends either way
  while (!text.includes('event: decision')) {
    const { value, done } = await reader.read()
    if (done) break
    text += value
  }
  clearTimeout(deadline)
  const data = JSON.parse(/data: (.*)/.exec(text)![1]!)
  t.match(data, { terminal: 'jinan-bus-01', scenario: 'bus', city: 'jinan', decision: 'approved', card: /^card_[0-9a-f]{12}$/ })
  t.notOk(text.includes('JN0000001'), 'no card number on the stream')
  const stats = await (await fetch(`${base}/console/api/stats`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json() as any
  t.equal(stats.taps, 1)
  t.equal(stats.live.subscribers, 1)
  abort.abort()
})

t.test('the 17th live stream is refused with 503, the app still closes', async t => {
  const h = await buildTestApp(t)
  const base = await h.app.listen({ port: 0, host: '127.0.0.1' })
  const abort = new AbortController()
  const open = await Promise.all(Array.from({ length: 16 }, async () => await fetch(`${base}/console/api/live`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: abort.signal })))
  t.ok(open.every(r => r.status === 200))
  const refused = await fetch(`${base}/console/api/live`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  t.equal(refused.status, 503)
  t.equal(((await refused.json()) as any).error.code, 'OVERLOADED')
  await h.app.close() // preClose ends the open streams; close would hang otherwise
  abort.abort()
  t.pass('closed with streams open')
})
