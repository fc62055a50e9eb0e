// Rule state that is dated (daily payment totals, monthly ride counters, annual medical totals)
// lives under ONE key per counter as an object `{ <period>: value }`, where a period is a local
// `YYYY-MM-DD`, `YYYY-MM` or `YYYY` string (they sort as they should). Each write keeps only the
// newest `keepMax` periods, so the state of a card stays bounded and old periods expire by
// themselves, without a sweeper.
//
// Pure: read → new object → the caller returns it as a state write.

export type DatedEntries<T> = Record<string, T>

/** Matches `YYYY`, `YYYY-MM` or `YYYY-MM-DD`. */
const PERIOD_PATTERN = /^\d{4}(-\d{2}(-\d{2})?)?$/

export function assertKeepMax (keepMax: number): void {
  if (!Number.isSafeInteger(keepMax) || keepMax < 1 || keepMax > 400) throw new Error(`dated entries: keepMax ${keepMax} must be an integer 1..400`)
}

/** The stored entries, keeping only well-formed periods whose value passes `isValue`. */
export function readDatedEntries<T> (stored: unknown, isValue: (value: unknown) => value is T): DatedEntries<T> {
  const entries: DatedEntries<T> = {}
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) return entries
  for (const [period, value] of Object.entries(stored)) {
    if (PERIOD_PATTERN.test(period) && isValue(value)) entries[period] = value
  }
  return entries
}

/** The latest period on record, or null when there is none. */
export function newestPeriod (entries: DatedEntries<unknown>): string | null {
  let newest: string | null = null
  for (const period of Object.keys(entries)) if (newest === null || period > newest) newest = period
  return newest
}

/** `entries` with `period` set to `value`, pruned to the newest `keepMax` periods. */
export function withDatedEntry<T> (entries: DatedEntries<T>, period: string, value: T, keepMax: number): DatedEntries<T> {
  assertKeepMax(keepMax)
  if (!PERIOD_PATTERN.test(period)) throw new Error(`dated entries: bad period ${period}`)
  const periods = [...new Set([...Object.keys(entries), period])].sort().slice(-keepMax)
  const kept: DatedEntries<T> = {}
  for (const keptPeriod of periods) kept[keptPeriod] = keptPeriod === period ? value : entries[keptPeriod] as T
  return kept
}

export function isCountFen (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}
