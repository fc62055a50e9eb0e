// Deterministic storage faults for the writer (TigerBeetle's VOPR is the model): tests tell the
// writer, through the engine, which fault to inject next, and the ledger must answer 503 for the
// batch it hit and stay exactly right for every batch after it.
//
//   failCommits     the next N COMMITs fail for real: SQLite refuses them (a deferred foreign-key
//                   violation on a temp probe table), the transaction stays open, the writer must
//                   roll it back.
//   failStatement   the Nth statement from now throws, as SQLite does on an I/O error or a full
//                   disk (SqliteError with code SQLITE_IOERR or SQLITE_FULL).
//   crash           the writer thread exits before its next COMMIT, or right after it (the batch is
//                   durable, its answers never sent).
// Only a writer started with fault injection enabled accepts these; production never does.
import Database from 'better-sqlite3'
import type { Db } from './schema.js'

export interface FaultPlan {
  failCommits?: number
  failStatement?: { afterStatements: number, code: 'SQLITE_IOERR' | 'SQLITE_FULL' }
  crash?: 'before-commit' | 'after-commit'
}

export class FaultInjector {
  private commitsToFail = 0
  private statementsUntilFailure = -1
  private statementCode: 'SQLITE_IOERR' | 'SQLITE_FULL' = 'SQLITE_IOERR'
  private crashAt: FaultPlan['crash']
  private probeReady = false

  plan (plan: FaultPlan): void {
    this.commitsToFail = plan.failCommits ?? 0
    this.statementsUntilFailure = plan.failStatement?.afterStatements ?? -1
    this.statementCode = plan.failStatement?.code ?? 'SQLITE_IOERR'
    this.crashAt = plan.crash
  }

  /** Called by every wrapped statement before it runs. */
  beforeStatement (): void {
    if (this.statementsUntilFailure < 0) return
    if (this.statementsUntilFailure-- === 0) {
      const message = this.statementCode === 'SQLITE_FULL' ? 'database or disk is full' : 'disk I/O error'
      throw new Database.SqliteError(message, this.statementCode)
    }
  }

  /** Called inside the transaction just before COMMIT: arms a real COMMIT failure if planned. */
  beforeCommit (db: Db): void {
    if (this.crashAt === 'before-commit') process.exit(70)
    if (this.commitsToFail <= 0) return
    this.commitsToFail--
    if (!this.probeReady) {
      db.exec(`CREATE TEMP TABLE IF NOT EXISTS fault_parent (id INTEGER PRIMARY KEY);
        CREATE TEMP TABLE IF NOT EXISTS fault_probe (ref INTEGER REFERENCES fault_parent(id) DEFERRABLE INITIALLY DEFERRED)`)
      this.probeReady = true
    }
    db.prepare('INSERT INTO temp.fault_probe (ref) VALUES (-1)').run()
  }

  afterCommit (): void {
    if (this.crashAt === 'after-commit') process.exit(71)
  }
}

/** The connection as the writer uses it, with every prepared statement counted by the injector. */
export function withFaults (db: Db, injector: FaultInjector): Db {
  return new Proxy(db, {
    get (target, property, receiver) {
      if (property !== 'prepare') {
        const value = Reflect.get(target, property, receiver) as unknown
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
      }
      return (sql: string) => wrapStatement(target.prepare(sql), injector)
    }
  })
}

const RUNNING_METHODS = new Set(['run', 'get', 'all', 'iterate'])

function wrapStatement (statement: Database.Statement, injector: FaultInjector): Database.Statement {
  const wrapped: Database.Statement = new Proxy(statement, {
    get (target, property) {
      const value = Reflect.get(target, property, target) as unknown
      if (typeof value !== 'function') return value
      const method = value as (...a: unknown[]) => unknown
      return (...args: unknown[]) => {
        if (RUNNING_METHODS.has(String(property))) injector.beforeStatement()
        const result = method.apply(target, args)
        return result === target ? wrapped : result // pluck(), raw(), expand() chain
      }
    }
  })
  return wrapped
}
