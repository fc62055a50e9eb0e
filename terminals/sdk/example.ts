// Terminal SDK example: `npm run sdk:example -- --url http://127.0.0.1:8080`
// Asks the service who this terminal is, taps a demo card, retries the same tap (same tapId, same
// bytes: the recorded answer comes back, nothing is charged twice), and shows the offline seam.
import { parseArgs } from 'node:util'
import { MemoryOfflineStore, TerminalClient } from './terminal-client.js'

const HELP = `usage: npm run sdk:example -- [--url URL] [--terminal ID] [--secret S] [--card CARDNO --issuer CODE]
  --url       the service (default http://127.0.0.1:8080, or YIKATONG_URL)
  --terminal  terminal id (default qingdao-bus-01; demo secrets are demo-secret-<id>)
  --card, --issuer  the card tapped (default QD0000001, 370200)`

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: process.env.YIKATONG_URL ?? 'http://127.0.0.1:8080' },
    terminal: { type: 'string', default: 'qingdao-bus-01' },
    secret: { type: 'string' },
    card: { type: 'string', default: 'QD0000001' },
    issuer: { type: 'string', default: '370200' },
    help: { type: 'boolean', short: 'h', default: false }
  }
})
if (values.help) { process.stdout.write(HELP + '\n'); process.exit(0) }

const offline = new MemoryOfflineStore(1000)
const client = new TerminalClient({ baseUrl: values.url, terminalId: values.terminal, secret: values.secret ?? `demo-secret-${values.terminal}`, timeoutMs: 2000, attemptsMax: 3, offline })

const me = await client.me()
if (me.kind !== 'ok') {
  process.stderr.write(`GET ${values.url}/v1/terminal/me failed: ${me.kind === 'error' ? `${me.status} ${me.code} ${me.message}` : me.reason}\n`)
  process.exit(1)
}
process.stdout.write(`terminal ${me.body.terminalId}: ${me.body.scenario} in ${me.body.city}\n`)

const at = new Date(Date.now() + 8 * 3_600_000).toISOString().replace('Z', '+08:00')
const request = { tapId: `sdk-example-${Date.now()}`, at, card: { type: 'physical' as const, cardNo: values.card, issuer: values.issuer } }
const first = await client.tap(request)
process.stdout.write(`tap ${request.tapId}: ${JSON.stringify(first)}\n`)
const again = await client.tap(request)
process.stdout.write(`same tap again: ${again.kind === 'decision' ? again.answer.decision : again.kind} (recorded answer, no second charge)\n`)
const drained = await client.drainOffline()
process.stdout.write(`offline store: ${offline.size} kept; drain: ${JSON.stringify(drained)}\n`)
if (first.kind !== 'decision') process.exitCode = 1
