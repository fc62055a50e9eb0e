// The JSON body parser: keeps the SHA-256 of the raw bytes for request signing, bounds nesting
// depth before parsing (deep nesting would blow the stack later in JSON.stringify or validation),
// and refuses __proto__/constructor keys.
import sjson from 'secure-json-parse'
import type { FastifyInstance } from 'fastify'
import { bodySha256Hex } from '../auth/signature.js'
import { badRequest } from '../errors.js'

export const JSON_DEPTH_MAX = 16

const OPEN_BRACE = 0x7b
const OPEN_BRACKET = 0x5b
const CLOSE_BRACE = 0x7d
const CLOSE_BRACKET = 0x5d
const QUOTE = 0x22
const BACKSLASH = 0x5c

/** Maximum nesting depth of a JSON text, counting brackets outside strings. */
export function jsonDepth (bytes: Buffer): number {
  let depth = 0
  let depthMax = 0
  let inString = false
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    if (inString) {
      if (b === BACKSLASH) i++
      else if (b === QUOTE) inString = false
    } else if (b === QUOTE) inString = true
    else if (b === OPEN_BRACE || b === OPEN_BRACKET) { depth++; if (depth > depthMax) depthMax = depth } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) depth--
  }
  return depthMax
}

export function registerJsonBodyParser (app: FastifyInstance, bodyLimitBytes: number): void {
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: bodyLimitBytes }, (request, body, done) => {
    const bytes = body as Buffer
    request.rawBodySha256 = bodySha256Hex(bytes)
    if (bytes.length === 0) { done(badRequest('empty JSON body'), undefined); return }
    if (jsonDepth(bytes) > JSON_DEPTH_MAX) { done(badRequest(`JSON nested deeper than ${JSON_DEPTH_MAX} levels`), undefined); return }
    try {
      done(null, sjson.parse(bytes.toString('utf8'), undefined, { protoAction: 'error', constructorAction: 'error' }))
    } catch {
      done(badRequest('malformed JSON body'), undefined)
    }
  })
}
