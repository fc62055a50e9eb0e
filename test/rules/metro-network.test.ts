// The metro networks in fixtures/cities.json and shortest-route distances over them.
import t from 'tap'
import { readFileSync } from 'node:fs'
import {
  buildMetroNetwork, dijkstra, metroNetworkOf, shortestKm, shortestMetres, type MetroCityFixture, type MetroLineFixture
} from '../../src/rules/metro-network.js'

const cities = (JSON.parse(readFileSync(new URL('../../fixtures/cities.json', import.meta.url), 'utf8')) as { cities: MetroCityFixture[] }).cities
const cityOf = (code: string): MetroCityFixture => cities.find(c => c.city === code) as MetroCityFixture

/** Km between two stations of one line, straight along it. */
function alongLine (line: MetroLineFixture, a: string, b: string): number {
  const km = (id: string): number => line.stations.find(s => s.id === id)?.km as number
  return Math.abs(km(a) - km(b))
}
const lineOf = (city: string, id: string): MetroLineFixture => cityOf(city).metro.lines.find(l => l.id === id) as MetroLineFixture
const round = (km: number): number => Math.round(km * 1000) / 1000

t.test('fixture shape: ids, order, kept demo stations', async t => {
  for (const city of cities) {
    const names = new Map<string, string>()
    t.ok(city.metro.lines.length >= 2, `${city.city} has several lines`)
    for (const line of city.metro.lines) {
      t.ok(line.stations.length >= 10, `${line.id} has at least 10 stations`)
      const ids = line.stations.map(s => s.id)
      t.equal(new Set(ids).size, ids.length, `${line.id}: a station appears once per line`)
      for (const [i, station] of line.stations.entries()) {
        t.match(station.id, /^[a-z0-9-]{1,64}$/, `${station.id} id format`)
        t.ok(station.name.zh.length > 0 && station.name.en.length > 0, `${station.id} named in zh and en`)
        const previous = line.stations[i - 1]
        if (previous !== undefined) t.ok((station.km as number) > (previous.km as number), `${line.id}: km ascends at ${station.id}`)
        const seen = names.get(station.id)
        if (seen !== undefined) t.equal(station.name.zh, seen, `interchange ${station.id} has one name on every line`)
        names.set(station.id, station.name.zh)
      }
    }
  }
  const allIds = new Set(cities.flatMap(c => c.metro.lines.flatMap(l => l.stations.map(s => s.id))))
  for (const id of ['jn-fangte', 'jn-xizhan', 'jn-wangfuzhuang', 'qd-qingdaozhan', 'qd-wusilu', 'zz-zhengzhouzhan', 'zz-erqi']) {
    t.ok(allIds.has(id), `demo station ${id} kept`)
  }
})

t.test('every network is connected', async t => {
  for (const city of cities) {
    const network = buildMetroNetwork(city)
    const distances = dijkstra(network, 0)
    t.ok(distances.every(Number.isFinite), `${city.city}: every station reachable`)
  }
})

t.test('Dijkstra agrees with Floyd–Warshall on every pair of every city', async t => {
  for (const city of cities) {
    const network = buildMetroNetwork(city)
    const n = network.stationIds.length
    const d = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : Infinity)))
    network.edges.forEach((list, from) => { for (const e of list) (d[from] as number[])[e.to] = e.metres })
    for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      const row = d[i] as number[]
      const through = (row[k] as number) + ((d[k] as number[])[j] as number)
      if (through < (row[j] as number)) row[j] = through
    }
    let mismatches = 0
    for (let i = 0; i < n; i++) {
      const fast = dijkstra(network, i)
      for (let j = 0; j < n; j++) if (fast[j] !== (d[i] as number[])[j]) mismatches++
    }
    t.equal(mismatches, 0, `${city.city}: ${n * n} pairs agree`)
  }
})

t.test('routes through interchanges', async t => {
  const jinan = metroNetworkOf(cityOf('jinan'))
  t.equal(shortestKm(jinan, 'jn-xizhan', 'jn-jiluolu'),
    round(alongLine(lineOf('jinan', 'jn-l1'), 'jn-xizhan', 'jn-wangfuzhuang') + alongLine(lineOf('jinan', 'jn-l2'), 'jn-wangfuzhuang', 'jn-jiluolu')),
    'line 1 → line 2 at 王府庄')
  t.equal(shortestKm(jinan, 'jn-gongyanyuan', 'jn-tantou'),
    round(alongLine(lineOf('jinan', 'jn-l1'), 'jn-gongyanyuan', 'jn-wangfuzhuang') +
      alongLine(lineOf('jinan', 'jn-l2'), 'jn-wangfuzhuang', 'jn-bajianpu') +
      alongLine(lineOf('jinan', 'jn-l3'), 'jn-bajianpu', 'jn-tantou')),
    'three lines: 王府庄 then 八涧堡')

  // 五四广场 → 李村 is served by line 2 and line 3: the shorter one counts.
  const qingdao = metroNetworkOf(cityOf('qingdao'))
  const viaLine2 = alongLine(lineOf('qingdao', 'qd-l2'), 'qd-wusilu', 'qd-licun')
  const viaLine3 = alongLine(lineOf('qingdao', 'qd-l3'), 'qd-wusilu', 'qd-licun')
  t.not(round(viaLine2), round(viaLine3), 'the two routes differ')
  t.equal(shortestKm(qingdao, 'qd-wusilu', 'qd-licun'), round(Math.min(viaLine2, viaLine3)), 'the shorter line wins')
})

t.test('distances are symmetric, zero to self, null for unknown stations', async t => {
  const network = metroNetworkOf(cityOf('zhengzhou'))
  t.equal(shortestMetres(network, 'zz-erqi', 'zz-erqi'), 0)
  t.equal(shortestMetres(network, 'zz-erqi', 'zz-nansihuan'), shortestMetres(network, 'zz-nansihuan', 'zz-erqi'))
  t.equal(shortestMetres(network, 'zz-erqi', 'jn-fangte'), null, 'a station of another city is unknown here')
  t.equal(shortestMetres(network, 'nowhere', 'zz-erqi'), null)
})

t.test('a shorter detour beats a long direct link', async t => {
  const city: MetroCityFixture = {
    city: 'test',
    metro: {
      lines: [
        { id: 'a', name: { zh: 'A', en: 'A' }, stations: [{ id: 'x', name: { zh: 'x', en: 'x' }, km: 0 }, { id: 'y', name: { zh: 'y', en: 'y' }, km: 10 }] },
        {
          id: 'b',
          name: { zh: 'B', en: 'B' },
          stations: [
            { id: 'x', name: { zh: 'x', en: 'x' }, km: 0 },
            { id: 'm', name: { zh: 'm', en: 'm' }, km: 3 },
            { id: 'y', name: { zh: 'y', en: 'y' }, km: 7 }
          ]
        }
      ]
    }
  }
  t.equal(shortestKm(buildMetroNetwork(city), 'x', 'y'), 7)
})

t.test('network built once per city fixture', async t => {
  const city = cityOf('jinan')
  t.equal(metroNetworkOf(city), metroNetworkOf(city), 'same object back')
  t.not(metroNetworkOf(city), metroNetworkOf(structuredClone(city)), 'another fixture object gets its own network')
})

t.test('a station without km is a fixture error', async t => {
  const city: MetroCityFixture = { city: 'bad', metro: { lines: [{ id: 'l', name: { zh: 'l', en: 'l' }, stations: [{ id: 's', name: { zh: 's', en: 's' } }] }] } }
  t.throws(() => buildMetroNetwork(city), /has no km/)
})
