// The contract between the rule engine and scenario rule modules.
//
// A rule module is a pure function of (tap, card state, the per-card history it asks for, terminal,
// tariff, policies, time) → decision + payments + state writes. It performs no I/O: the ledger reads
// what the module asks for through `state.get` inside the tap's write transaction, and applies the
// returned payments (as one balanced transfer) and state writes in that same transaction.
// So every module is tested by tables of cases with an in-memory StateReader.

export type CityCode = 'jinan' | 'qingdao' | 'zhengzhou'
export type AccountKind = 'bank' | 'medical'
export const ACCOUNT_KINDS: readonly AccountKind[] = ['bank', 'medical']

export interface Message { zh: string, en: string }

/** A moment in the terminal city's local time (China: UTC+8, no DST). Derived once per tap. */
export interface LocalTime {
  epochMs: number
  /** `YYYY-MM-DD` in the city's local time. */
  date: string
  /** `YYYY-MM` in the city's local time: the key of monthly counters. */
  month: string
  year: number
  /** 1..12 */
  monthOfYear: number
  /** 1..31 */
  day: number
  hour: number
  minute: number
  /** minutes since local midnight, 0..1439 */
  minuteOfDay: number
  /** ISO weekday: 1 = Monday .. 7 = Sunday */
  weekday: number
}

export interface TapFacts {
  tapId: string
  at: LocalTime
  /** Amount priced at the terminal (fen), or null when the tariff prices the tap. */
  amount: number | null
  /** Scenario-specific context, already validated against the module's context schema. */
  context: Record<string, unknown>
  cardType: 'physical' | 'qr'
  /** Epoch ms the service received the tap, when the caller passes it: lets a module bound how far
   *  back `at` may move its risk counters (terminal-payment `backdateMinutesMax`). Optional. */
  receivedAtMs?: number
  /** The terminal already let the holder through without asking (api-v1.1 offline batch item):
   *  a module must not decline it for money (the ledger turns what the card cannot pay into debt). */
  offline?: boolean
}

export interface CardFacts {
  cardNo: string
  issuer: string
  issuerCity: CityCode
  /** `YYYY-MM-DD` or null when unknown. */
  birthDate: string | null
  categories: string[]
  balances: Record<AccountKind, number>
}

export interface TerminalLocation { station?: string, line?: string, venue?: string }

export interface TerminalFacts {
  terminalId: string
  city: CityCode
  scenario: string
  operator: string
  location: TerminalLocation
}

/** Read-only view of per-card state, keyed by strings the module chooses (e.g. `metro:open`). */
export interface StateReader {
  get (key: string): unknown
}

export interface StateWrite {
  key: string
  /** JSON-serialisable value; null deletes the key. */
  value: unknown
  /** When the value stops mattering (a daily total after its day, a monthly counter after its
   *  month): the ledger deletes it then. Unset: kept at most the ledger's STATE_TTL_MS_MAX. */
  expiresAtMs?: number
}

export interface Payment { account: AccountKind, amount: number }

export interface ApprovedDecision {
  decision: 'approved'
  /** At least one entry; the first is the part "paid first" (the answer's account/balance).
   *  A free ride is `[{account: 'bank', amount: 0}]`. Amounts are integer fen ≥ 0. */
  payments: Payment[]
  message: Message
  stateWrites?: StateWrite[]
  /** Extra facts recorded with the tap and returned to the terminal (e.g. fare, distanceKm). */
  details?: Record<string, unknown>
}

export interface DeclinedDecision {
  decision: 'declined'
  reason: string
  message: Message
  details?: Record<string, unknown>
}

export type RuleDecision = ApprovedDecision | DeclinedDecision

/** The scenario's row in fixtures/scenarios.json, as the engine hands it to the module. */
export interface ScenarioFacts {
  code: string
  domain: string
  module: string
  pricedAtTerminal: boolean
  /** Accounts this scenario may charge. */
  accounts: AccountKind[]
}

export interface RuleInput<Tariff = unknown, Policies = unknown, CityData = unknown> {
  tap: TapFacts
  card: CardFacts
  terminal: TerminalFacts
  scenario: ScenarioFacts
  /** The scenario's tariff for the terminal's city (fixtures/tariffs/<scenario>.json[city]). */
  tariff: Tariff
  /** Shared policies (fixtures/policies.json): concessions, calendars, limits. */
  policies: Policies
  /** The terminal city's fixture (metro network, venues). */
  city: CityData
  state: StateReader
}

export interface RuleModule<Tariff = unknown> {
  /** Module code, referenced by scenarios.json `module`. */
  code: string
  /** JSON Schema (draft-07, ajv) for the tap's `context`. Unknown fields should be rejected. */
  contextSchema: Record<string, unknown>
  /** Reason codes this module may decline with, documented for terminals. */
  reasons: Record<string, Message>
  /** Whether an approved tap of this module may be reversed (e.g. pharmacy settlement cancel). */
  reversible: boolean
  /** The terminal only needs to know the card proved its holder (an HR or government counter):
   *  its answers carry no account, balance or payments (tap-machine.ts), and the module's details
   *  name no holder category. A counter that never takes money has no business reading a balance. */
  identityOnly?: boolean
  /** Request-shape checks JSON Schema cannot express (a basket's amount = the sum of its items).
   *  A message here is a 400 BAD_REQUEST: the tap is bad input, not a decision, and nothing is recorded. */
  checkRequest?: (tap: { amount: number | null, context: Record<string, unknown> }) => string | undefined
  decide (input: RuleInput<Tariff>): RuleDecision
  /** An offline tap declined with `awaitsReason` may be settled when an earlier tap of the same
   *  card arrives later (a metro exit uploaded before its entry): the ledger charges the module's
   *  provisional amount (`details.maxFareFen`) now and re-prices when a tap of `pairsWithScenario`
   *  dated before it arrives, replaying the module with the earlier tap's `journeyStateKey` write
   *  (src/ledger/late-entry.ts). */
  lateEntry?: { awaitsReason: string, journeyStateKey: string, isEntry: (context: Record<string, unknown>) => boolean }
}
