// Writes one bench run's results: the JSON, the Markdown tables and the two SVG charts beside them.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { BenchResults } from '../run.js'
import { latencyCdfSvg, resultFiles, throughputSvg } from './charts.js'
import { writeMarkdown } from './report.js'

export function writeResults (dir: string, results: BenchResults): string[] {
  const files = resultFiles(results.profile)
  writeFileSync(join(dir, files.json), JSON.stringify(results, null, 2) + '\n')
  writeFileSync(join(dir, files.md), writeMarkdown(results) + `\n## Charts\n\n![Tap latency CDF](${files.cdf})\n\n![Throughput per run](${files.throughput})\n`)
  writeFileSync(join(dir, files.cdf), latencyCdfSvg(results))
  writeFileSync(join(dir, files.throughput), throughputSvg(results))
  return [files.json, files.md, files.cdf, files.throughput]
}
