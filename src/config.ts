// Service configuration from the environment (api-v1 "Starting the service"), parsed once and
// passed explicitly to everything that needs it.
import { randomBytes } from 'node:crypto'

export interface ServiceConfig {
  port: number
  host: string
  dbPath: string
  adminToken: string
  adminTokenGenerated: boolean
  seed: 'demo' | 'none'
  logLevel: string
  /** ISSUER_KEYS_FILE: the issuers' QR verifying keys and card master keys (src/cards/issuer-keys.ts). */
  issuerKeysFile?: string
  /** Read-only ops role (console, settlement, ledger check); unset: no ops role. */
  opsToken: string | undefined
  /** CARD_TOKEN_KEY; unset: a key file beside the ledger (src/ops/card-token-key.ts). */
  cardTokenKey: string | undefined
  /** TERMINAL_SECRETS_KEY; unset: a key file beside the ledger (src/ops/card-token-key.ts). */
  terminalSecretsKey: string | undefined
  /** DENYLIST_TOKEN_KEY; unset: a key file beside the ledger (src/ops/card-token-key.ts). */
  denylistTokenKey: string | undefined
  /** CARD_DATA_KEY; unset: a key file beside the ledger (src/ops/card-token-key.ts). */
  cardDataKey: string | undefined
  /** DATABASE_URL (api-v1.1): the PostgreSQL ledger; unset: the embedded SQLite ledger at dbPath. */
  databaseUrl: string | undefined
  /** SERVICE_PROCESSES: how many processes share the ledger; each enforces 1/N of a terminal's
   *  rate limit, so N of them together allow what one would (default 1). */
  serviceProcesses: number
}

export function configFromEnv (env: NodeJS.ProcessEnv): ServiceConfig {
  const port = env.PORT === undefined || env.PORT === '' ? 8080 : Number(env.PORT)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be 0..65535, got ${env.PORT}`)
  const seed = env.SEED ?? 'demo'
  if (seed !== 'demo' && seed !== 'none') throw new Error(`SEED must be demo or none, got ${seed}`)
  const adminTokenGenerated = env.ADMIN_TOKEN === undefined || env.ADMIN_TOKEN === ''
  const opsToken = env.OPS_TOKEN === undefined || env.OPS_TOKEN === '' ? undefined : env.OPS_TOKEN
  if (opsToken !== undefined && (opsToken.length < 16 || opsToken === env.ADMIN_TOKEN)) {
    throw new Error('OPS_TOKEN must be at least 16 characters and differ from ADMIN_TOKEN')
  }
  return {
    port,
    host: env.HOST === undefined || env.HOST === '' ? '127.0.0.1' : env.HOST,
    dbPath: env.DB_PATH === undefined || env.DB_PATH === '' ? 'data/ledger.db' : env.DB_PATH,
    adminToken: adminTokenGenerated ? randomBytes(24).toString('base64url') : String(env.ADMIN_TOKEN),
    adminTokenGenerated,
    seed,
    logLevel: env.LOG_LEVEL ?? 'info',
    issuerKeysFile: env.ISSUER_KEYS_FILE === undefined || env.ISSUER_KEYS_FILE === '' ? undefined : env.ISSUER_KEYS_FILE,
    opsToken,
    cardTokenKey: env.CARD_TOKEN_KEY,
    terminalSecretsKey: env.TERMINAL_SECRETS_KEY,
    denylistTokenKey: env.DENYLIST_TOKEN_KEY,
    cardDataKey: env.CARD_DATA_KEY,
    databaseUrl: env.DATABASE_URL === undefined || env.DATABASE_URL === '' ? undefined : env.DATABASE_URL,
    serviceProcesses: serviceProcesses(env.SERVICE_PROCESSES)
  }
}

function serviceProcesses (value: string | undefined): number {
  if (value === undefined || value === '') return 1
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`SERVICE_PROCESSES must be 1..64, got ${value}`)
  return n
}
