// Bench charts: the latency CDF has one line per fixed-rate run through its measured percentiles,
// the throughput chart one bar per run; a quick run writes quick.* (gitignored), never latest.*.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { latencyCdfSvg, resultFiles, throughputSvg } from '../../bench/lib/charts.js'
import { writeResults } from '../../bench/lib/write-results.js'
import type { BenchResults } from '../../bench/run.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const results = JSON.parse(readFileSync(join(ROOT, 'bench', 'results', 'latest.json'), 'utf8')) as BenchResults

t.test('charts from the committed full run', async t => {
  const cdf = latencyCdfSvg(results)
  const rateRuns = [results.baseline.empty.rate, results.baseline.verify.rate, results.service.rate, results.growth.empty, results.growth.preloaded].filter(r => r?.mode === 'rate')
  t.equal(cdf.match(/<polyline/g)?.length, rateRuns.length, 'one CDF line per fixed-rate run')
  t.match(cdf, `${results.service.rate!.latencyMs.p99} ms at 0.99`, 'the service p99 is a point on its line')
  const bars = throughputSvg(results)
  t.match(bars, Math.round(results.service.max!.throughputPerS).toLocaleString('en'), 'the service max throughput is labelled')
  t.equal(readFileSync(join(ROOT, 'bench', 'results', 'latest-latency-cdf.svg'), 'utf8'), cdf, 'committed chart is current (npm run bench:report)')
})

t.test('a quick run writes quick.*, not latest.*', async t => {
  t.same(resultFiles('quick'), { json: 'quick.json', md: 'quick.md', cdf: 'quick-latency-cdf.svg', throughput: 'quick-throughput.svg' })
  const dir = mkdtempSync(join(tmpdir(), 'yikatong-bench-out-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeResults(dir, { ...results, profile: 'quick' })
  t.same(readdirSync(dir).sort(), ['quick-latency-cdf.svg', 'quick-throughput.svg', 'quick.json', 'quick.md'])
  t.match(readFileSync(join(dir, 'quick.md'), 'utf8'), '![Tap latency CDF](quick-latency-cdf.svg)')
  const ignored = execFileSync('git', ['check-ignore', 'bench/results/quick.json', 'bench/results/quick-latency-cdf.svg'], { cwd: ROOT, encoding: 'utf8' })
  t.equal(ignored.trim().split('\n').length, 2, 'quick results are gitignored')
})
