// `npm run bench:preload -- <ledger.db> [taps]`: builds a ledger file with the bench fleet and
// `taps` recorded taps (default 10,000,000; ~95 s and ~6.5 GiB here), for repeated growth runs:
//   BENCH_PRELOADED_DB=<ledger.db> npm run bench -- --only=growth
// `npm run bench` builds (and deletes) its own; this is for iterating without paying the preload
// each time. The file is refused if it exists. Delete it when done.
import { existsSync } from 'node:fs'
import { buildFleet, FLEET_FULL } from './lib/fleet.js'
import { preloadTaps } from './lib/preload.js'
import { provisionFleet } from './lib/provision.js'

const TAPS_DEFAULT = 10_000_000
const TAPS_MAX = 100_000_000

async function main (): Promise<void> {
  const path = process.argv[2]
  const taps = Number(process.argv[3] ?? TAPS_DEFAULT)
  if (path === undefined) throw new Error('usage: npm run bench:preload -- <ledger.db> [taps]')
  if (!Number.isInteger(taps) || taps < 1 || taps > TAPS_MAX) throw new Error(`taps must be 1..${TAPS_MAX}`)
  if (existsSync(path)) throw new Error(`${path} exists: give a new file`)
  const fleet = buildFleet(FLEET_FULL)
  const provisioned = await provisionFleet(path, fleet)
  const preload = preloadTaps(path, fleet, taps)
  process.stdout.write(JSON.stringify({ path, provisioned, preload }, null, 2) + '\n')
}

main().catch((error: unknown) => {
  process.stderr.write(`preload failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
