// Two bearer roles: ADMIN_TOKEN may do everything under /v1/admin; OPS_TOKEN (optional) is the
// read-only ops role: the console, the ledger check, settlement figures, terminal registrations and
// the admin audit trail, never a mutation and never a card (a card shows its holder). Both
// compared in constant time (both sides hashed first so lengths never leak), as admin-auth.ts does.
import { createHash, timingSafeEqual } from 'node:crypto'
import { forbidden, unauthenticated } from '../errors.js'

export type Role = 'admin' | 'ops'

/** Admin routes the ops role may read (Fastify route patterns). */
export const OPS_READABLE_ROUTES = new Set([
  // The audit trail: ops is the role that watches, and its rows name no card number, holder or
  // secret (cards by token); an auditor needs no admin token to ask who changed what.
  '/v1/admin/audit',
  // Terminals' offline queues: counts and times, no card.
  '/v1/admin/heartbeats',
  '/v1/admin/ledger/check',
  '/v1/admin/settlement',
  '/v1/admin/settlement/days/:date',
  '/v1/admin/terminals/:terminalId'
])

const BEARER = /^Bearer (\S{1,512})$/

function digest (value: string): Buffer {
  return createHash('sha256').update(value).digest()
}

/** Which role a presented Authorization header holds; 401 when none. */
export function roleChecker (o: { adminToken: string, opsToken?: string }): (authorization: string | undefined) => Role {
  const admin = digest(o.adminToken)
  const ops = o.opsToken === undefined ? undefined : digest(o.opsToken)
  return (authorization) => {
    const match = BEARER.exec(authorization ?? '')
    const presented = digest(match?.[1] ?? '')
    // Both comparisons always run: which one matched must not show in the timing.
    const isAdmin = timingSafeEqual(admin, presented)
    const isOps = ops !== undefined && timingSafeEqual(ops, presented)
    if (match !== null && isAdmin) return 'admin'
    if (match !== null && isOps) return 'ops'
    throw unauthenticated('bad or missing admin token')
  }
}

/** The guard of /v1/admin/*: admin anything, ops only GET of OPS_READABLE_ROUTES (403 otherwise). */
export function adminRouteGuard (o: { adminToken: string, opsToken?: string }): (request: { headers: { authorization?: string }, method: string, routeOptions: { url?: string } }) => Role {
  const check = roleChecker(o)
  return (request) => {
    const role = check(request.headers.authorization)
    if (role === 'ops' && !((request.method === 'GET' || request.method === 'HEAD') && OPS_READABLE_ROUTES.has(request.routeOptions.url ?? ''))) {
      throw forbidden('the ops token is read-only: this needs the admin token')
    }
    return role
  }
}
