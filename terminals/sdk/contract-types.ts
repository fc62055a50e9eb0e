// Generated from schemas/ by terminals/sdk/generate-types.ts (npm run sdk:types). Do not edit.
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "CardRef".
 */
export type CardRef = ({
type: "physical"
cardNo: string
issuer: string
atc?: number
cryptogram?: string
} | {
type: "qr"
qr: string
})
export type Payments = {
account: ("bank" | "medical")
amount: number
}[]

export interface Contract {

}
/**
 * One entry per admin change (and per card QR minted), written in the change's own transaction. Cards are named by their token (the logs' card_…), never their number. nextBefore is present when the page is full: pass it as ?before= for the next (older) page.
 * 
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "AuditResponse".
 */
export interface AuditResponse {
entries: {
/**
 * rises with every entry; the page cursor
 */
id: number
/**
 * when the change was made (RFC 3339, UTC)
 */
at: string
/**
 * the same instant in Unix ms
 */
atMs: number
/**
 * the bearer's role, never its token
 */
actor: ("admin" | "ops")
action: ("card.create" | "card.status" | "card.credit" | "card.qr" | "tap.refund" | "terminal.register" | "terminal.status" | "terminal.secret")
target: {
kind: ("card" | "terminal")
/**
 * a terminal id, or a card token
 */
id: string
}
/**
 * X-Request-Id of the request: its log lines carry it as reqId
 */
requestId: string
/**
 * the peer address of the request
 */
clientIp: string
/**
 * what changed: status from/to, credit account/amount/reference/repeat, opening balances, a terminal's registration (never its secret), a QR's ttlSeconds
 */
detail: {
[k: string]: unknown
}
}[]
nextBefore?: number
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "CardPatch".
 */
export interface CardPatch {
status: ("active" | "lost" | "frozen")
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "CardRegistration".
 */
export interface CardRegistration {
cardNo: string
issuer: string
holder?: {
birthDate?: string
/**
 * @maxItems 3
 */
categories?: []|[("student" | "disabled" | "veteran")]|[("student" | "disabled" | "veteran"), ("student" | "disabled" | "veteran")]|[("student" | "disabled" | "veteran"), ("student" | "disabled" | "veteran"), ("student" | "disabled" | "veteran")]
}
expiresOn?: string
accounts?: {
bank?: number
medical?: number
}
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "CardTapsResponse".
 */
export interface CardTapsResponse {
taps: {
terminalId: string
tapId: string
decision: string
reason?: string
amount: number
account?: string
at: string
scenario?: string
city?: string
recordedAt?: string
reversed?: boolean
}[]
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "Card".
 */
export interface Card {
cardNo: string
issuer: string
city?: string
status: ("active" | "lost" | "frozen")
expiresOn: (string | null)
holder: {
birthDate?: (string | null)
categories?: string[]
}
balances: {
bank: number
medical: number
}
/**
 * api-v1.1: what the card owes for offline taps it could not pay (fen); a credit repays it first
 */
debt?: number
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "CitiesResponse".
 */
export interface CitiesResponse {
cities: {
city: ("jinan" | "qingdao" | "zhengzhou")
issuer: string
name: Message
metro: {
lines: {
id: string
name: Message
stations: {
id: string
name: Message
/**
 * chainage along the line
 */
km?: number
[k: string]: unknown
}[]
[k: string]: unknown
}[]
[k: string]: unknown
}
venues: {
id: string
scenario: string
name: Message
[k: string]: unknown
}[]
[k: string]: unknown
}[]
[k: string]: unknown
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "Message".
 */
export interface Message {
zh: string
en: string
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "CreditRequest".
 */
export interface CreditRequest {
account: ("bank" | "medical")
amount: number
reference: string
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "DenylistResponse".
 */
export interface DenylistResponse {
version: number
/**
 * true: add is the whole list (since absent, unknown or too old); false: the changes after since
 */
full: boolean
add: {
token: string
reason: ("debt" | "lost" | "frozen")
}[]
remove: string[]
/**
 * extension: base64url of the 32-byte key; token = hex of the first 16 bytes of HMAC-SHA256(key, issuer + ':' + cardNo) (src/cards/denylist-token.ts)
 */
tokenKey?: string
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "Error".
 */
export interface Error {
error: Error1
}
export interface Error1 {
code: string
message: string
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "HealthResponse".
 */
export interface HealthResponse {
status: "ok"
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "HeartbeatsResponse".
 */
export interface HeartbeatsResponse {
summary: {
terminals: number
offline: number
queuedTaps: number
oldestQueuedAgeSMax: number
}
terminals: {
terminalId: string
receivedAt: string
queueDepth: number
oldestQueuedAt: (string | null)
denylistVersion: (number | null)
mode: ("online" | "offline")
}[]
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "QrRequest".
 */
export interface QrRequest {
ttlSeconds?: number
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "QrResponse".
 */
export interface QrResponse {
qr: string
expiresAt: string
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "RefundRequest".
 */
export interface RefundRequest {
/**
 * fen to refund; absent: all that is left of the charge
 */
amount?: number
/**
 * idempotency key of this refund
 */
reference: string
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "RefundResponse".
 */
export interface RefundResponse {
/**
 * fen refunded of this tap so far, this refund included
 */
refunded: number
/**
 * where this refund's money went back to
 */
payments: {
account: ("bank" | "medical")
amount: number
}[]
/**
 * extension: of this refund, what cancelled the card's unpaid offline debt instead of returning money
 */
debtCancelled?: number
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "ReversalResponse".
 */
export interface ReversalResponse {
tapId: string
reversed: true
amount: number
payments: Payments
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "ScenariosResponse".
 */
export interface ScenariosResponse {
domains: {
code: ("hr" | "medical" | "transport" | "culture" | "government" | "finance")
name: Message
[k: string]: unknown
}[]
scenarios: {
code: string
domain: ("hr" | "medical" | "transport" | "culture" | "government" | "finance")
name: Message
module: string
/**
 * true: the tap carries amount; false: the tariff prices it and amount must be absent
 */
pricedAtTerminal: boolean
accounts: ("bank" | "medical")[]
/**
 * what a terminal registration needs
 */
location: ("station" | "venue" | null)
/**
 * JSON Schema of the tap's context
 */
contextSchema: {
[k: string]: unknown
}
reasons: {
code: string
message: Message
[k: string]: unknown
}[]
reversible: boolean
[k: string]: unknown
}[]
[k: string]: unknown
}
/**
 * A settlement day is the Asia/Shanghai calendar day of each tap's recorded time (and of each reversal's or refund's transfer). operators: what each operator is owed, by (operator, tap city, scenario): approved charges recorded that day, less money given back by reversals and refunds made that day. positions: what each card-issuing city owes each city where its cards were used (same city included), net of that day's reversals and refunds. Amounts are integer fen; the sum of operators.net equals the sum of positions.amount. A closed day answers its report as it was when closed, never changed after. See docs/settlement.md.
 * 
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "SettlementDay".
 */
export interface SettlementDay {
date: string
status: ("open" | "closed")
/**
 * when the day was closed (RFC 3339, UTC); closed days only
 */
closedAt?: string
operators: {
operator: string
/**
 * the tap's (terminal's) city
 */
city: string
scenario: string
/**
 * approved taps with an amount, recorded that day
 */
taps: number
/**
 * their charges in full (any part that became debt included)
 */
amount: number
/**
 * given back by reversals and refunds made that day, whatever day their tap was recorded
 */
refunded: number
/**
 * amount - refunded
 */
net: number
}[]
positions: {
/**
 * the city of the card's issuer
 */
issuerCity: string
/**
 * the city of the tap
 */
acquirerCity: string
/**
 * net: charges that day less reversals and refunds made that day
 */
amount: number
}[]
/**
 * the same day from the ledger's postings alone: the legs the day's taps credited to operator accounts, plus the operator legs of the day's reversal and refund transfers
 */
reconciliation?: {
operatorLegsNet: number
/**
 * operatorLegsNet equals the sum of operators.net
 */
matches: boolean
}
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "TapBatchItem".
 */
export interface TapBatchItem {
tapId: string
at: string
card: CardRef
amount?: number
context?: {
[k: string]: unknown
}
/**
 * api-v1.1: the terminal decided offline and let the holder through; the server decides it by the rules at `at`, in `at` order per card, never declines it for money (the unpaid part becomes debt). Not part of the idempotency body: the same tap sent online first and uploaded offline later is the same tap.
 */
offline?: boolean
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "TapBatchRequest".
 */
export interface TapBatchRequest {
/**
 * @minItems 1
 * @maxItems 100
 */
taps: [TapBatchItem, ...(TapBatchItem)[]]
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "TapBatchResponse".
 */
export interface TapBatchResponse {
results: {
status: number
tap?: TapResponse
error?: Error1
}[]
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "TapResponse".
 */
export interface TapResponse {
tapId: string
decision: ("approved" | "declined")
/**
 * present exactly when declined
 */
reason?: string
amount: number
account?: ("bank" | "medical")
balance?: number
payments?: Payments
/**
 * api-v1.1: the part of an offline tap the card could not pay, now owed (absent when fully paid)
 */
debt?: number
authCode?: string
message: Message
/**
 * scenario facts: fare, distance, concession...
 */
details?: {
[k: string]: unknown
}
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "TapRequest".
 */
export interface TapRequest {
tapId: string
at: string
card: CardRef
amount?: number
context?: {
[k: string]: unknown
}
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "TerminalHeartbeat".
 */
export interface TerminalHeartbeat {
queueDepth: number
oldestQueuedAt: (string | null)
denylistVersion: (number | null)
mode: ("online" | "offline")
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "TerminalPatch".
 */
export interface TerminalPatch {
status: ("active" | "disabled")
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "TerminalRegistration".
 */
export interface TerminalRegistration {
terminalId: string
city: ("jinan" | "qingdao" | "zhengzhou")
scenario: string
operator: string
cardAuthentication?: ("optional" | "required")
location?: {
station?: string
line?: string
venue?: string
}
}
/**
 * Rotates the terminal's HMAC secret. The old secret is still accepted for overlapS seconds (0: no longer at once; default 86400, at most 604800).
 * 
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "TerminalSecretRotation".
 */
export interface TerminalSecretRotation {
overlapS?: number
}
/**
 * The new secret, answered once and stored sealed; until previousSecretValidUntil (RFC 3339, null when the overlap was 0) the old secret is accepted too.
 * 
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "TerminalSecret".
 */
export interface TerminalSecret {
terminalId: string
secret: string
previousSecretValidUntil: (string | null)
}
/**
 * This interface was referenced by `Contract`'s JSON-Schema
 * via the `definition` "Terminal".
 */
export interface Terminal {
terminalId: string
secret?: string
city: string
scenario: string
operator: string
cardAuthentication?: ("optional" | "required")
location: {
station?: string
line?: string
venue?: string
}
status: ("active" | "disabled")
createdAt: string
}
