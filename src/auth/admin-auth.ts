// Admin authentication: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time
// (both sides hashed first so lengths never leak).
import { createHash, timingSafeEqual } from 'node:crypto'
import { unauthenticated } from '../errors.js'

export function adminTokenChecker (adminToken: string): (authorization: string | undefined) => void {
  const expected = createHash('sha256').update(adminToken).digest()
  return (authorization) => {
    const match = /^Bearer (\S{1,512})$/.exec(authorization ?? '')
    const presented = createHash('sha256').update(match?.[1] ?? '').digest()
    if (match === null || !timingSafeEqual(expected, presented)) throw unauthenticated('bad or missing admin token')
  }
}
