// Friendly names for the generated contract types (contract-types.ts is regenerated, this is not).
export type { TapRequest, TapResponse, TapBatchRequest, TapBatchResponse, Terminal as TerminalRegistration, ReversalResponse, CardRef, Message } from './contract-types.js'
export type { Error as ErrorBody } from './contract-types.js'
