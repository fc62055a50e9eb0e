// npm run bench:offline-day [-- --cards N --seed S --out FILE]: a generated day of traffic in the
// three cities with offline bursts, an agent killed mid-upload, a metro exit gate uploading before
// its entry gate, the day closed and a late upload after (bench/lib/offline-day.ts). Prints the
// report; exits 1 when a tap is missing or doubled, debts and the deny list disagree, the day does
// not reconcile to the fen, or the late upload changed the closed day. Loopback only, bounded.
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { runOfflineDay, type DayReport } from './lib/offline-day.js'

const { values } = parseArgs({ options: { cards: { type: 'string', default: '200' }, seed: { type: 'string', default: '20261206' }, out: { type: 'string' } } })
const cardsPerIssuer = Number(values.cards)
if (!Number.isInteger(cardsPerIssuer) || cardsPerIssuer < 1 || cardsPerIssuer > 5_000) throw new Error('--cards must be 1..5000 (cards per issuer)')
const report = await runOfflineDay({ cardsPerIssuer, seed: Number(values.seed), databaseUrl: process.env.DATABASE_URL, log: line => process.stderr.write(`${line}\n`) })
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
if (values.out !== undefined) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`)
process.exit(passes(report) ? 0 : 1)

export function passes (r: DayReport): boolean {
  return r.taps.recordedOnce === r.taps.generated && r.taps.recordedTwiceOrMore === 0 && r.taps.missing === 0 &&
    r.denylist.agreesWithCards && r.settlement.reconciles && r.settlement.unchangedAfterLateUpload && r.ledgerCheck.ok
}
