// The terminals, kept on the event loop for authentication (every request looks one up). Filled
// from the ledger at start and changed only after the ledger committed the change, so it never
// holds a terminal or a status the ledger does not.
// Secrets here are in clear (opened by the service from the ledger's sealed values, secret-box.ts).
import type { AuthTerminal } from '../auth/terminal-auth.js'

export class TerminalRegistry {
  private readonly byId = new Map<string, AuthTerminal>()

  constructor (records: AuthTerminal[]) {
    for (const record of records) this.byId.set(record.terminalId, record)
  }

  get (terminalId: string): AuthTerminal | undefined { return this.byId.get(terminalId) }
  has (terminalId: string): boolean { return this.byId.has(terminalId) }
  get size (): number { return this.byId.size }

  /** After the ledger committed it. */
  committed (record: AuthTerminal): void { this.byId.set(record.terminalId, record) }

  /** A record this process can no longer trust (its sealed secret did not open). */
  forget (terminalId: string): void { this.byId.delete(terminalId) }
}
