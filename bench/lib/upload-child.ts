// One terminal agent's upload, as a process of its own so the day run can kill it (SIGKILL, no
// handler runs) in the middle and start it again: the agent's real queue file and uploader
// (terminals/agent/), against the service on loopback. Argument: a JSON object (below). Prints one
// JSON line with the drain's result, then exits.
import { AT_PAST_MS_MAX_UPLOAD } from '../../src/constants.js'
import { openAgentDb } from '../../terminals/agent/agent-db.js'
import { LinkState } from '../../terminals/agent/link-state.js'
import { OfflineQueue } from '../../terminals/agent/offline-queue.js'
import { OfflineUploader } from '../../terminals/agent/offline-uploader.js'
import { signedCall } from '../../terminals/agent/signed-call.js'

interface ChildArgs { queueFile: string, terminalId: string, secret: string, url: string, clockMs: number, batchSize: number, queueMax: number }

const args = JSON.parse(process.argv[2] ?? '{}') as ChildArgs
const now = (): number => args.clockMs
const queue = new OfflineQueue(openAgentDb(args.queueFile), args.queueMax)
const quiet = { info () {}, warn () {}, error () {} }
const uploader = new OfflineUploader(signedCall({ serviceUrl: args.url, terminalId: args.terminalId, secret: args.secret, now }), queue, new LinkState(), quiet, {
  batchSize: args.batchSize,
  budgetMs: 10_000,
  retryDelayMs: 100,
  retryDelayMsMax: 1_000,
  attemptsMax: 20,
  expireAfterMs: AT_PAST_MS_MAX_UPLOAD,
  batchesPerDrainMax: 1_000,
  now
})
const result = await uploader.drain()
process.stdout.write(`${JSON.stringify({ ...result, depth: queue.depth, dead: queue.deadLetterCount })}\n`)
queue.db.close()
