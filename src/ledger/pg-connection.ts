// Connections to the PostgreSQL ledger: DATABASE_URL parsing (one host, or a comma-separated list
// of hosts libpq style), connecting to the host that takes writes, and what an error means.
//
// pg's own connection string parser takes one host. With a list, the engine tries each in turn
// and keeps the first whose session is read-write (libpq's target_session_attrs=read-write): after
// a failover the promoted standby is found without any proxy in between.
import pg from 'pg'
import { PG_CONNECT_MS_MAX, PG_LOCK_WAIT_MS_MAX, PG_STATEMENT_MS_MAX } from '../constants.js'

// bigint (int8) and numeric come back as strings by default. Every number the ledger keeps (fen,
// ids, counts) is an integer far inside 2^53; a value outside it is refused, never rounded.
function safeInteger (text: string): number {
  const value = Number(text)
  if (!Number.isSafeInteger(value)) throw new RangeError(`a ledger integer out of range: ${text}`)
  return value
}
pg.types.setTypeParser(pg.types.builtins.INT8, safeInteger)
pg.types.setTypeParser(pg.types.builtins.NUMERIC, safeInteger)

export interface PgTarget {
  hosts: Array<{ host: string, port: number }>
  user?: string
  password?: string
  database?: string
  ssl: boolean
  /** 'read-write' (default): only a primary is used; 'any': the first host that answers. */
  targetSessionAttrs: 'read-write' | 'any'
}

export class PgUnavailableError extends Error {
  readonly code = 'PG_UNAVAILABLE'
}

const URL_PATTERN = /^postgres(?:ql)?:\/\/(?:([^@/]*)@)?([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/

/** Never echoes the password: errors name the hosts only. */
export function parseDatabaseUrl (url: string): PgTarget {
  const match = URL_PATTERN.exec(url.trim())
  if (match === null) throw new Error('DATABASE_URL must look like postgres://user:pass@host:port/db (hosts may be a comma-separated list)')
  const [, userInfo, hostList, database, query] = match
  const hosts = (hostList ?? '').split(',').filter(h => h !== '').map(entry => {
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry)
    const [host, port] = bracketed !== null ? [bracketed[1]!, bracketed[2]] : entry.split(':') as [string, string | undefined]
    const portNumber = port === undefined || port === '' ? 5432 : Number(port)
    if (!Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535) throw new Error(`DATABASE_URL: bad port in ${host}:${port}`)
    return { host: decodeURIComponent(host), port: portNumber }
  })
  if (hosts.length === 0) throw new Error('DATABASE_URL names no host')
  const params = new URLSearchParams(query ?? '')
  const attrs = params.get('target_session_attrs') ?? 'read-write'
  if (attrs !== 'read-write' && attrs !== 'any') throw new Error('DATABASE_URL: target_session_attrs must be read-write or any')
  const [user, password] = (userInfo ?? '').split(':').map(decodeURIComponent)
  return {
    hosts,
    ...(user === undefined || user === '' ? {} : { user }),
    ...(password === undefined ? {} : { password }),
    ...(database === undefined || database === '' ? {} : { database: decodeURIComponent(database) }),
    ssl: params.get('sslmode') === 'require' || params.get('ssl') === 'true',
    targetSessionAttrs: attrs
  }
}

/** The URL with its password replaced: for logs and errors. */
export function redactDatabaseUrl (url: string): string {
  return url.replace(/(:\/\/[^:@/]*:)[^@/]*@/, '$1***@')
}

export interface ConnectOptions {
  pipeline?: boolean
  applicationName: string
  statementTimeoutMs?: number
}

/** A client connected to the first host that takes writes (or answers, with 'any'). */
export async function connectReadWrite (target: PgTarget, options: ConnectOptions): Promise<pg.Client> {
  const failures: string[] = []
  for (const { host, port } of target.hosts) {
    const client = new pg.Client({
      host,
      port,
      user: target.user,
      password: target.password,
      database: target.database,
      ssl: target.ssl ? { rejectUnauthorized: false } : undefined,
      connectionTimeoutMillis: PG_CONNECT_MS_MAX,
      statement_timeout: options.statementTimeoutMs ?? PG_STATEMENT_MS_MAX,
      lock_timeout: PG_LOCK_WAIT_MS_MAX,
      application_name: options.applicationName,
      keepAlive: true,
      ...(options.pipeline === true ? { pipeline: true } : {})
    } as pg.ClientConfig)
    // An error event without a listener would crash the process (a server killed under us).
    client.on('error', () => {})
    try {
      await client.connect()
      if (target.targetSessionAttrs === 'read-write') {
        const readOnly = await client.query<{ transaction_read_only: string }>('SHOW transaction_read_only')
        if (readOnly.rows[0]?.transaction_read_only !== 'off') {
          failures.push(`${host}:${port} is read-only (a standby)`)
          await client.end().catch(() => {})
          continue
        }
      }
      return client
    } catch (error) {
      failures.push(`${host}:${port}: ${(error as Error).message}`)
      await client.end().catch(() => {})
    }
  }
  throw new PgUnavailableError(`no PostgreSQL host takes writes (${failures.join('; ')})`)
}

/** SQLSTATEs after which the same batch is run again (it changed nothing): serialization failure,
 *  deadlock, and a unique key another process inserted first (a QR nonce, a new card). */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01', '23505'])

export function isRetryable (error: unknown): boolean {
  return RETRYABLE_SQLSTATES.has(String((error as { code?: unknown }).code))
}

/** The connection is unusable (server gone, failover, admin shutdown, read-only after demotion). */
export function isConnectionLoss (error: unknown): boolean {
  const code = String((error as { code?: unknown }).code ?? '')
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '25006') return true
  if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'PG_UNAVAILABLE'].includes(code)) return true
  const message = (error as Error)?.message ?? ''
  return /Connection terminated|connection is closed|Client has encountered a connection error|not queryable/i.test(message)
}

export function describePgError (error: unknown): string {
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? `${code} ${(error as Error).message}` : (error as Error).message
}
