// One place for the API's error codes (api-v1 "Errors"). Every non-2xx answer is
// {"error": {"code", "message"}}; codes are stable, messages are for humans.

export const ErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  TAP_ID_CONFLICT: 'TAP_ID_CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  RATE_LIMITED: 'RATE_LIMITED',
  OVERLOADED: 'OVERLOADED',
  INTERNAL: 'INTERNAL'
} as const
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode]

const STATUS_BY_CODE: Record<ErrorCode, number> = {
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

export class ApiError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  constructor (code: ErrorCode, message: string) {
    super(message)
    this.name = 'ApiError'
    this.code = code
    this.statusCode = STATUS_BY_CODE[code]
  }
}

export const badRequest = (message: string): ApiError => new ApiError(ErrorCode.BAD_REQUEST, message)
export const unauthenticated = (message: string): ApiError => new ApiError(ErrorCode.UNAUTHENTICATED, message)
export const forbidden = (message: string): ApiError => new ApiError(ErrorCode.FORBIDDEN, message)
export const notFound = (message: string): ApiError => new ApiError(ErrorCode.NOT_FOUND, message)
export const conflict = (message: string, code: ErrorCode = ErrorCode.CONFLICT): ApiError => new ApiError(code, message)
export const overloaded = (message: string): ApiError => new ApiError(ErrorCode.OVERLOADED, message)

export function errorBody (code: string, message: string): { error: { code: string, message: string } } {
  return { error: { code, message } }
}
