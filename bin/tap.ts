// `npm run tap -- [options]`: sends one signed demo tap to a running service and prints the answer.
//   --terminal jinan-bus-01   terminal id (demo terminals: <city>-<scenario>-01, secret demo-secret-<id>)
//   --card JN0000001          demo card number (issuer looked up in fixtures/demo.json)
//   --issuer 370100           issuer area code, when the card is not a demo card
//   --qr                      present the card's electronic QR instead (needs ADMIN_TOKEN to mint it)
//   --amount 1234             fen, for scenarios priced at the terminal
//   --context '{"direction":"in"}'
//   --atc 7                   the physical card proves it is present: its counter 7 and the cryptogram
//                             it computes over this tap with its key (derived from --issuer-keys,
//                             default ISSUER_KEYS_FILE or data/issuer-keys.json: the deployment's own)
//   --forge                   with --atc: a made-up cryptogram instead, to see CARD_AUTH_FAILED
//                             (once the tap pipeline calls verifyCardProof: docs/security.md)
//   --secret S      the terminal secret (default demo-secret-<terminal>)
//   --url URL       the service (default http://127.0.0.1:8080, or YIKATONG_URL / PORT)
//   --tap-id ID     default <terminal>-<ms>; the same id again replays the recorded answer
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { signedHeaders } from '../src/auth/signature.js'
import { computeCryptogram, deriveCardKey } from '../src/cards/card-auth.js'
import { issuerKeysFromFile } from '../src/cards/issuer-keys.js'
import { loadFixtures } from '../src/fixtures.js'
import { demoSecret } from '../src/service/demo-seed.js'
import { exitOnHelp, usageFromHeader } from '../src/ops/cli-help.js'
import { readFileSync } from 'node:fs'

exitOnHelp(process.argv.slice(2), usageFromHeader(readFileSync(new URL(import.meta.url), 'utf8')))

const { values } = parseArgs({
  options: {
    terminal: { type: 'string', default: 'jinan-bus-01' },
    card: { type: 'string', default: 'JN0000001' },
    issuer: { type: 'string' },
    qr: { type: 'boolean', default: false },
    amount: { type: 'string' },
    context: { type: 'string' },
    atc: { type: 'string' },
    forge: { type: 'boolean', default: false },
    'issuer-keys': { type: 'string', default: process.env.ISSUER_KEYS_FILE ?? 'data/issuer-keys.json' },
    secret: { type: 'string' },
    url: { type: 'string', default: process.env.YIKATONG_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8080}` },
    'tap-id': { type: 'string' }
  }
})

function localNow (): string {
  return new Date(Date.now() + 8 * 3_600_000).toISOString().replace('Z', '+08:00')
}

async function mintQr (url: string, cardNo: string): Promise<string> {
  const token = process.env.ADMIN_TOKEN
  if (token === undefined) throw new Error('--qr needs ADMIN_TOKEN in the environment to mint the QR')
  const target = `${url}/v1/admin/cards/${cardNo}/qr`
  const response = await fetch(target, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}', signal: AbortSignal.timeout(5_000)
  }).catch((error: Error) => { throw new Error(`cannot reach ${target}: ${(error.cause as Error | undefined)?.message ?? error.message}`) })
  const body = await response.json() as { qr?: string }
  if (body.qr === undefined) throw new Error(`QR mint failed: ${response.status} ${JSON.stringify(body)}`)
  return body.qr
}

async function main (): Promise<void> {
  const terminalId = values.terminal
  const cardNo = values.card
  const issuer = values.issuer ?? loadFixtures().demo.cards.find(c => c.cardNo === cardNo)?.issuer
  if (issuer === undefined && !values.qr) throw new Error(`unknown demo card ${cardNo}: pass --issuer`)
  const card: Record<string, unknown> = values.qr ? { type: 'qr', qr: await mintQr(values.url, cardNo) } : { type: 'physical', cardNo, issuer }
  const tap: Record<string, unknown> = { tapId: values['tap-id'] ?? `${terminalId}-${Date.now()}`, at: localNow(), card }
  if (values.amount !== undefined) tap.amount = Number(values.amount)
  if (values.atc !== undefined && !values.qr) {
    const atc = Number(values.atc)
    const fixtures = loadFixtures()
    const masterKey = issuerKeysFromFile(values['issuer-keys'], fixtures.cities.map(c => c.issuer)).cardAuth.get(String(issuer))?.masterKey
    if (masterKey === undefined) throw new Error(`no card master key for issuer ${String(issuer)} in ${values['issuer-keys']}`)
    card.atc = atc
    card.cryptogram = values.forge
      ? randomBytes(8).toString('hex')
      : computeCryptogram({ cardKey: deriveCardKey(masterKey, cardNo, String(issuer)), atc, cardNo, issuer: String(issuer), fields: { terminalId, tapId: String(tap.tapId), at: String(tap.at), amount: tap.amount as number | undefined } })
  }
  if (values.context !== undefined) tap.context = JSON.parse(values.context)
  const body = JSON.stringify(tap)
  const headers = signedHeaders({ terminalId, secret: values.secret ?? demoSecret(terminalId), method: 'POST', path: '/v1/taps', body })
  const started = performance.now()
  const target = `${values.url}/v1/taps`
  const response = await fetch(target, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(5_000) })
    .catch((error: Error) => { throw new Error(`cannot reach ${target}: ${(error.cause as Error | undefined)?.message ?? error.message} (start the service with npm start, or pass --url)`) })
  const text = await response.text()
  const ms = (performance.now() - started).toFixed(1)
  process.stdout.write(`POST /v1/taps as ${terminalId} → ${response.status} in ${ms} ms\n${JSON.stringify(JSON.parse(text), null, 2)}\n`)
  if (!response.ok) process.exitCode = 1
}

main().catch((error: unknown) => {
  process.stderr.write(`tap failed: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
