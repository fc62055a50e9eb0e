// Shared by every module: a decline with its reason's zh/en message from the module's table,
// and the context schema of scenarios whose tap carries only a reference number.
import type { DeclinedDecision, Message } from './types.js'

export function declineWith (reasons: Record<string, Message>): (reason: string, details?: Record<string, unknown>) => DeclinedDecision {
  return (reason, details) => {
    const message = reasons[reason]
    if (message === undefined) throw new Error(`reason ${reason} has no message`)
    return details === undefined ? { decision: 'declined', reason, message } : { decision: 'declined', reason, message, details }
  }
}

/** Bill, order, case or ticket number: recorded with the tap. */
export const REFERENCE_PROPERTY = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,64}$' }

export const REFERENCE_CONTEXT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: { reference: REFERENCE_PROPERTY }
}
