// `npm run bench:report [-- bench/results/latest.json]`: rewrites the Markdown tables and the SVG
// charts from a results file, without running anything (charts for an existing run).
import { readFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { exitOnHelp } from '../src/ops/cli-help.js'
import type { BenchResults } from './run.js'
import { writeResults } from './lib/write-results.js'

exitOnHelp(process.argv.slice(2), 'usage: npm run bench:report [-- bench/results/latest.json]\n  rewrites the .md tables and the latency CDF / throughput SVG charts beside the results file')
const file = process.argv[2] ?? 'bench/results/latest.json'
let results: BenchResults
try { results = JSON.parse(readFileSync(file, 'utf8')) as BenchResults } catch (error) {
  process.stderr.write(`bench:report: cannot read ${file}: ${(error as Error).message}\n`)
  process.exit(2)
}
process.stdout.write(`wrote ${writeResults(dirname(file), results).join(', ')} in ${dirname(file)}\n`)
