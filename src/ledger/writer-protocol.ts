// Messages between the event loop and the ledger's writer and reader threads. One request is one
// message; taps travel as one message per event-loop turn holding every tap of that turn, and the
// answers of a committed batch come back as one message.
import type { ErrorCode } from '../errors.js'
import type { QrResolution, TapJob, TapResult, TerminalFacts } from './engine.js'
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
  /** The audit trail's bound (AUDIT_ROWS_MAX unless a test lowers it). */
  auditRowsMax?: number
  /** The deny list's token key (hex): the writer lists cards by token, never by number. */
  denylistKeyHex: string
  /** The card data key material (src/cards/card-vault.ts), hex. */
  cardDataKeyHex: string
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

// Taps cross the thread boundary packed into flat arrays of primitives: measured with v8's
// serializer (what postMessage uses), 5.5 µs of CPU a tap for the job as objects (terminal record,
// tap, hash) against 1.3 µs for [terminalId, tap JSON, hash, nowMs]. The writer knows the terminals.

const JOB_SLOTS = 8
const RESULT_SLOTS = 7

export function packJobs (jobs: TapJob[]): unknown[] {
  const packed: unknown[] = new Array(jobs.length * JOB_SLOTS)
  jobs.forEach((job, i) => {
    const at = i * JOB_SLOTS
    packed[at] = job.terminal.terminalId
    packed[at + 1] = JSON.stringify(job.tap)
    packed[at + 2] = job.bodyHash
    packed[at + 3] = job.nowMs
    packed[at + 4] = job.precheck?.code ?? null
    packed[at + 5] = job.precheck?.message ?? null
    packed[at + 6] = job.qr ?? null
    packed[at + 7] = job.cardProof ?? null
  })
  return packed
}

export function packedJobCount (packed: unknown[]): number {
  return packed.length / JOB_SLOTS
}

export function unpackJobs (packed: unknown[], terminalOf: (terminalId: string) => TerminalFacts | undefined): Array<TapJob | { missingTerminal: string }> {
  const jobs: Array<TapJob | { missingTerminal: string }> = []
  for (let at = 0; at < packed.length; at += JOB_SLOTS) {
    const terminalId = packed[at] as string
    const terminal = terminalOf(terminalId)
    if (terminal === undefined) {
      jobs.push({ missingTerminal: terminalId })
      continue
    }
    const job: TapJob = { terminal, tap: JSON.parse(packed[at + 1] as string), bodyHash: packed[at + 2] as string, nowMs: packed[at + 3] as number }
    if (packed[at + 4] !== null) job.precheck = { code: packed[at + 4] as ErrorCode, message: packed[at + 5] as string }
    if (packed[at + 6] !== null) job.qr = packed[at + 6] as QrResolution
    if (packed[at + 7] !== null) job.cardProof = packed[at + 7] as NonNullable<TapJob['cardProof']>
    jobs.push(job)
  }
  return jobs
}

export function packResults (results: TapResult[]): unknown[] {
  const packed: unknown[] = new Array(results.length * RESULT_SLOTS)
  results.forEach((result, i) => {
    const at = i * RESULT_SLOTS
    if (result.ok) {
      const o = result.outcome
      packed[at] = o.replay ? 2 : 1
      packed[at + 1] = o.payload
      packed[at + 2] = o.decision
      packed[at + 3] = o.reason
      packed[at + 4] = o.amount
      packed[at + 5] = o.scenario
      packed[at + 6] = o.cardNo
    } else {
      packed[at] = 0
      packed[at + 1] = result.error.code
      packed[at + 2] = result.error.message
    }
  })
  return packed
}

export function unpackResults (packed: unknown[]): TapResult[] {
  const results: TapResult[] = []
  for (let at = 0; at < packed.length; at += RESULT_SLOTS) {
    if (packed[at] === 0) {
      results.push({ ok: false, error: { code: packed[at + 1] as ErrorCode, message: packed[at + 2] as string } })
      continue
    }
    results.push({
      ok: true,
      outcome: {
        replay: packed[at] === 2,
        payload: packed[at + 1] as string,
        decision: packed[at + 2] as 'approved' | 'declined',
        reason: packed[at + 3] as string | null,
        amount: packed[at + 4] as number,
        scenario: packed[at + 5] as string,
        cardNo: packed[at + 6] as string | null
      }
    })
  }
  return results
}
