// Maps every failure to the spec's error body {"error": {"code", "message"}} with a stable code.
// Anything unexpected is a 500 INTERNAL and logged: by api-v1 a 5xx other than 503 is a defect.
import type { FastifyError, FastifyInstance } from 'fastify'
import { ApiError, errorBody, ErrorCode } from '../errors.js'
import { CommitFailedError, QueueFullError } from '../ledger/group-commit.js'

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

export function toApiError (error: FastifyError | Error): ApiError | undefined {
  if (error instanceof ApiError) return error
  if (error instanceof QueueFullError || error instanceof CommitFailedError) return new ApiError(ErrorCode.OVERLOADED, error.message)
  const fe = error as FastifyError
  if (fe.validation !== undefined) return new ApiError(ErrorCode.BAD_REQUEST, fe.message)
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new ApiError(ErrorCode.PAYLOAD_TOO_LARGE, 'body is over the limit')
  const status = fe.statusCode
  if (status !== undefined && status >= 400 && status < 500) {
    return new ApiError(CODE_BY_STATUS[status] ?? ErrorCode.BAD_REQUEST, fe.message)
  }
  return undefined
}

export function registerErrorHandling (app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const apiError = toApiError(error)
    if (apiError === undefined) {
      request.log.error({ err: error, url: request.routeOptions.url }, 'unexpected error')
      return reply.code(500).send(errorBody(ErrorCode.INTERNAL, 'internal error'))
    }
    return reply.code(apiError.statusCode).send(errorBody(apiError.code, apiError.message))
  })
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(errorBody(ErrorCode.NOT_FOUND, 'no such route')))
}
