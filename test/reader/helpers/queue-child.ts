// Child process for the crash test: opens the agent's queue, commits one offline tap, says so on
// stdout, then waits to be killed (kill -9: no exit handler, no close, no checkpoint).
import { openAgentDb } from '../../../terminals/agent/agent-db.js'
import { OfflineQueue } from '../../../terminals/agent/offline-queue.js'

const [path, tapId, body] = process.argv.slice(2) as [string, string, string]
const queue = new OfflineQueue(openAgentDb(path), 100)
queue.enqueue({ tapId, atMs: 1_780_000_000_000, body: Buffer.from(body), cardToken: 'c:child', riskToken: null, riskAmountFen: 0 })
process.stdout.write('queued\n')
setInterval(() => {}, 60_000)
