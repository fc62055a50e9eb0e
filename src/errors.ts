// One place for the error codes (api-v1 "Errors"). Every non-2xx answer is
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

/** A failure the domain names: a stable `code`, a human message. Only `src/api/` knows which HTTP
 *  status a code is (`src/api/error-status.ts`). Crosses the writer thread as {code, message}. */
export class DomainError extends Error {
  readonly code: ErrorCode
  constructor (code: ErrorCode, message: string) {
    super(message)
    this.name = 'DomainError'
    this.code = code
  }
}

export function isErrorCode (code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ErrorCode, code)
}

export const badRequest = (message: string): DomainError => new DomainError(ErrorCode.BAD_REQUEST, message)
export const unauthenticated = (message: string): DomainError => new DomainError(ErrorCode.UNAUTHENTICATED, message)
export const forbidden = (message: string): DomainError => new DomainError(ErrorCode.FORBIDDEN, message)
export const notFound = (message: string): DomainError => new DomainError(ErrorCode.NOT_FOUND, message)
export const conflict = (message: string, code: ErrorCode = ErrorCode.CONFLICT): DomainError => new DomainError(code, message)
export const overloaded = (message: string): DomainError => new DomainError(ErrorCode.OVERLOADED, message)
/** A ledger transaction that did not commit, whatever the engine: 503, and safe to retry. */
export const ledgerCommitFailed = (what: string): DomainError =>
  overloaded(`the ledger could not commit (${what}): nothing was recorded, retry with the same tapId`)

export function errorBody (code: string, message: string): { error: { code: string, message: string } } {
  return { error: { code, message } }
}
