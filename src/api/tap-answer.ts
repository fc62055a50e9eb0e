// The 200 answer to a tap (schemas/tap-response.json), as both the service and terminals see it.

export interface TapAnswer {
  tapId: string
  decision: 'approved' | 'declined'
  /** Present exactly when declined. */
  reason?: string
  amount: number
  account?: string
  balance?: number
  /** When a tap is paid from more than one account (a pharmacy basket), medical first. */
  payments?: Array<{ account: string, amount: number }>
  authCode?: string
  message: { zh: string, en: string }
  details?: Record<string, unknown>
}
