// Shared by the rule micro-benchmarks: print the table and write bench/results/<name>.json.
import { mkdirSync, writeFileSync } from 'node:fs'

export interface RuleBenchResult { name: string, calls: number, nsPerOp: number, opsPerSec: number }

export function reportRuleBench (benchmark: string, results: RuleBenchResult[], calls: number, warmUpCalls: number): void {
  const width = Math.max(...results.map(r => r.name.length)) + 2
  for (const r of results) console.log(`${r.name.padEnd(width)} ${String(r.nsPerOp).padStart(7)} ns/op  ${r.opsPerSec.toLocaleString('en')} ops/s`)
  const dir = new URL('../results/', import.meta.url)
  mkdirSync(dir, { recursive: true })
  writeFileSync(new URL(`${benchmark}.json`, dir), JSON.stringify({
    benchmark,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    calls,
    warmUpCalls,
    measuredAt: new Date().toISOString(),
    results
  }, null, 2) + '\n')
}
