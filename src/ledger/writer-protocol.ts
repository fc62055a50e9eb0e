// Messages between the event loop and the ledger's writer and reader threads. One request is one
// message; taps travel as one message per event-loop turn holding every tap of that turn, and the
// answers of a committed batch come back as one message.
import type { FaultPlan } from './fault-injection.js'

export interface WorkerRequest { id: number, op: string, args: unknown[] }

export type WorkerResponse =
  | { id: number, ok: true, value: unknown, batch?: { size: number, commitMs: number } }
  | { id: number, ok: false, error: { code: string, message: string } }

export type WorkerEvent = { type: 'ready' } | { type: 'fatal', message: string }

export interface WriterData {
  dbPath: string
  fixturesDir: string
  schemasDir: string
  faultInjection: boolean
}

export interface ReaderData {
  dbPath: string
  /** Issuer area code → city, for settlement rows. */
  issuerCities: Record<string, string>
}

export type { FaultPlan }

/** A worker's entry file next to this one, as .ts under tsx (tests, `npm start`) or .js when compiled. */
export function siblingModule (name: string): URL {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js'
  return new URL(`./${name}${extension}`, import.meta.url)
}
