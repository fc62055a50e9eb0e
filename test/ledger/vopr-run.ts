// `npm run test:vopr -- [--seed N] [--seeds COUNT] [--steps N]`: the long run of the ledger
// simulation. Bounded: COUNT seeds (default 50) of N steps (default 400). Exits non-zero with the
// failing seed printed, so `--seed` replays exactly that run.
import { parseArgs } from 'node:util'
import { runVopr } from './vopr.js'

const { values } = parseArgs({ options: { seed: { type: 'string' }, seeds: { type: 'string', default: '50' }, steps: { type: 'string', default: '400' }, help: { type: 'boolean' } } })
if (values.help === true) {
  process.stdout.write('usage: npm run test:vopr -- [--seed N] [--seeds COUNT] [--steps N]\n')
  process.exit(0)
}
const steps = Number(values.steps)
const first = values.seed === undefined ? Number(process.env.VOPR_FIRST_SEED ?? Date.now() % 100_000) : Number(values.seed)
const count = values.seed === undefined ? Number(values.seeds) : 1
for (let seed = first; seed < first + count; seed++) {
  try {
    const report = await runVopr(seed, steps)
    process.stdout.write(`seed ${seed}: ok (${report.taps} taps, ${report.faults} faults, ${report.failedBatches} failed batches, ${report.writerDeaths} writer deaths)\n`)
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`)
    process.exit(1)
  }
}
