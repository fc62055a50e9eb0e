// The terminals, kept on the event loop for authentication (every request looks one up). Filled
// from the ledger at start and changed only after the ledger committed the change, so it never
// holds a terminal or a status the ledger does not.
import type { TerminalRecord } from '../ledger/engine.js'

export class TerminalRegistry {
  private readonly byId = new Map<string, TerminalRecord>()

  constructor (records: TerminalRecord[]) {
    for (const record of records) this.byId.set(record.terminalId, record)
  }

  get (terminalId: string): TerminalRecord | undefined { return this.byId.get(terminalId) }
  has (terminalId: string): boolean { return this.byId.has(terminalId) }
  get size (): number { return this.byId.size }

  /** After the ledger committed it. */
  committed (record: TerminalRecord): void { this.byId.set(record.terminalId, record) }
}
