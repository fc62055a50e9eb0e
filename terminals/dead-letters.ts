// The offline agent's dead letters (docs/offline-agent.md): taps the service refused for good or that
// ran out of sends, kept with their bytes. Lists them (never the card number: the body is not
// printed, the card is its log token) and puts chosen ones back in the queue once what refused them
// is fixed; the agent's next upload sends them again, idempotently.
// Usage: node --import tsx terminals/dead-letters.ts --queue-file /var/lib/ykt/agent.db
//          [--requeue TAP_ID ... | --requeue-all]
// Run it while the agent is stopped or running: SQLite's lock and busy timeout keep the file whole.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { AT_PAST_MS_MAX_UPLOAD } from '../src/constants.js'
import { exitOnHelp, usageFromHeader } from '../src/ops/cli-help.js'
import { openAgentDb } from './agent/agent-db.js'
import { OfflineQueue } from './agent/offline-queue.js'

exitOnHelp(process.argv.slice(2), usageFromHeader(readFileSync(new URL(import.meta.url), 'utf8')))
const { values } = parseArgs({ options: { 'queue-file': { type: 'string' }, requeue: { type: 'string', multiple: true }, 'requeue-all': { type: 'boolean', default: false } }, strict: true })
if (values['queue-file'] === undefined) {
  process.stderr.write('dead-letters: --queue-file is required\n')
  process.exit(2)
}
// The queue bound only matters for requeueing: an oversized queue refuses ("full"), nothing is lost.
const queue = new OfflineQueue(openAgentDb(values['queue-file']), 1_000_000)
try {
  const dead = queue.deadLetters(100_000)
  const chosen = values['requeue-all'] === true ? dead.map(d => d.tapId) : values.requeue ?? []
  if (chosen.length === 0) {
    for (const d of dead) {
      process.stdout.write(`${JSON.stringify({ tapId: d.tapId, at: new Date(d.atMs).toISOString(), reason: d.reason, status: d.status, code: d.code, attempts: d.attempts })}\n`)
    }
    process.stderr.write(`${dead.length} dead letter(s); ${queue.depth} tap(s) queued\n`)
  } else {
    let failed = 0
    for (const tapId of chosen) {
      const result = queue.requeueDeadLetter(tapId, AT_PAST_MS_MAX_UPLOAD)
      if (result !== 'requeued') failed++
      process.stdout.write(`${JSON.stringify({ tapId, result })}\n`)
    }
    process.exitCode = failed === 0 ? 0 : 1
  }
} finally {
  queue.db.close()
}
