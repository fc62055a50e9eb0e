// Maps every failure to the spec's error body {"error": {"code", "message"}} with a stable code.
// The domain throws DomainError with a code; this module alone knows which HTTP status a code is.
// Anything unexpected is a 500 INTERNAL and logged: by api-v1 a 5xx other than 503 is a defect.
import type { FastifyError, FastifyInstance } from 'fastify'
import { DomainError, errorBody, ErrorCode } from '../errors.js'

export const STATUS_BY_CODE: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TAP_ID_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  METHOD_NOT_ALLOWED: 405,
  RATE_LIMITED: 429,
  OVERLOADED: 503,
  INTERNAL: 500
}

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: ErrorCode.BAD_REQUEST,
  401: ErrorCode.UNAUTHENTICATED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  405: ErrorCode.METHOD_NOT_ALLOWED,
  409: ErrorCode.CONFLICT,
  413: ErrorCode.PAYLOAD_TOO_LARGE,
  415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  429: ErrorCode.RATE_LIMITED
}

export interface ApiFailure { statusCode: number, code: ErrorCode, message: string }

/** Storage errors (disk full, I/O error, busy, a dead writer) are the service being unable to
 *  serve now: 503, never 500. better-sqlite3 names them SQLITE_*. */
function isStorageError (error: { code?: unknown }): boolean {
  return typeof error.code === 'string' && error.code.startsWith('SQLITE_')
}

export function toApiFailure (error: FastifyError | Error): ApiFailure | undefined {
  if (error instanceof DomainError) return { statusCode: STATUS_BY_CODE[error.code], code: error.code, message: error.message }
  const fe = error as FastifyError
  if (isStorageError(fe)) return { statusCode: 503, code: ErrorCode.OVERLOADED, message: 'the ledger cannot be written now: retry' }
  if (fe.validation !== undefined) return { statusCode: 400, code: ErrorCode.BAD_REQUEST, message: fe.message }
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { statusCode: 413, code: ErrorCode.PAYLOAD_TOO_LARGE, message: 'body is over the limit' }
  const status = fe.statusCode
  if (status !== undefined && status >= 400 && status < 500) {
    return { statusCode: status, code: CODE_BY_STATUS[status] ?? ErrorCode.BAD_REQUEST, message: fe.message }
  }
  return undefined
}

export function registerErrorHandling (app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const failure = toApiFailure(error)
    if (failure === undefined) {
      request.log.error({ err: error, url: request.routeOptions.url }, 'unexpected error')
      return reply.code(500).send(errorBody(ErrorCode.INTERNAL, 'internal error'))
    }
    return reply.code(failure.statusCode).send(errorBody(failure.code, failure.message))
  })
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(errorBody(ErrorCode.NOT_FOUND, 'no such route')))
}
