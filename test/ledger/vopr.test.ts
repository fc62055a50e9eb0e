// A few seeds of the ledger simulation (vopr.ts) on every `npm test`; `npm run test:vopr` runs
// many more, and prints the seed of a failure so it can be replayed.
import t from 'tap'
import { runVopr } from './vopr.js'

const SEEDS = [1, 2, 3]
const STEPS = 120

for (const seed of SEEDS) {
  t.test(`seed ${seed}: the ledger agrees with the model after every step, faults included`, async t => {
    const report = await runVopr(seed, STEPS)
    t.equal(report.steps, STEPS)
    t.ok(report.taps > 100, `${report.taps} taps`)
    t.ok(report.faults > 0 && report.failedBatches > 0, `${report.faults} faults injected, ${report.failedBatches} batches failed, ${report.writerDeaths} writer deaths`)
  })
}
