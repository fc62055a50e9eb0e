// Reading the admin audit trail (admin_audit, ledger-ddl.ts): one SQL text for both engines, as
// check.ts and settlement.ts do, with each engine's placeholders. Newest first, a page at a time,
// the cursor an id: ids only rise, so a page never shifts under a reader while rows are added.
import type { AuditQuery, AuditRecord } from './engine.js'

const COLUMNS = `id, at_ms AS "atMs", actor, action, target_kind AS "targetKind", target, request_id AS "requestId",
  client_ip AS "clientIp", detail`

/** `placeholder(n)` is the engine's n-th parameter: `?` (SQLite) or `$n` (PostgreSQL). */
export function auditPageSql (placeholder: (n: number) => string, byTarget: boolean): string {
  const target = byTarget ? ` AND target = ${placeholder(2)}` : ''
  return `SELECT ${COLUMNS} FROM admin_audit WHERE id < ${placeholder(1)}${target} ORDER BY id DESC LIMIT ${placeholder(byTarget ? 3 : 2)}`
}

/** The parameters of auditPageSql, in its order. */
export function auditPageArgs (query: AuditQuery): unknown[] {
  const before = query.before ?? Number.MAX_SAFE_INTEGER
  return query.target === undefined ? [before, query.limit] : [before, query.target, query.limit]
}

export function toAuditRecord (row: Omit<AuditRecord, 'detail'> & { detail: string }): AuditRecord {
  return { ...row, id: Number(row.id), atMs: Number(row.atMs), detail: JSON.parse(row.detail) as Record<string, unknown> }
}
