// Working days, public holidays and peak windows, judged in the terminal city's local time.
// The calendar is data (fixtures/policies.json `calendar`): China moves weekend days around
// public holidays every year (调休), so "is it a weekday" is a lookup, never `weekday <= 5` alone.
import type { LocalTime } from './types.js'

export interface CalendarPolicy {
  /** Days off for public holidays, `YYYY-MM-DD` (the whole break, including moved days). */
  holidays: string[]
  /** Weekend days that are official working days because a holiday borrowed them (调休上班). */
  workdays: string[]
}

/** `HH:MM` local; `from` inclusive, `to` exclusive (07:00–09:00 covers 07:00:00 to 08:59:59). */
export interface TimeWindow { from: string, to: string }

interface CalendarIndex { holidays: Set<string>, workdays: Set<string> }
interface WindowMinutes { fromMinute: number, toMinute: number }

// Policies are loaded once and never mutated, so parsed forms are cached by object identity.
const calendarIndexes = new WeakMap<CalendarPolicy, CalendarIndex>()
const parsedWindows = new WeakMap<TimeWindow[], WindowMinutes[]>()

function indexOf (calendar: CalendarPolicy): CalendarIndex {
  let index = calendarIndexes.get(calendar)
  if (index === undefined) {
    index = { holidays: new Set(calendar.holidays), workdays: new Set(calendar.workdays) }
    calendarIndexes.set(calendar, index)
  }
  return index
}

export function isPublicHoliday (date: string, calendar: CalendarPolicy): boolean {
  return indexOf(calendar).holidays.has(date)
}

/** A working day: Monday–Friday that is not a holiday, or a weekend day moved to work. */
export function isWorkingDay (at: LocalTime, calendar: CalendarPolicy): boolean {
  const index = indexOf(calendar)
  if (index.workdays.has(at.date)) return true
  if (index.holidays.has(at.date)) return false
  return at.weekday <= 5
}

export function minuteOfDayOf (hhmm: string): number {
  const match = /^(\d{2}):(\d{2})$/.exec(hhmm)
  if (match === null) throw new Error(`bad time of day ${hhmm}, want HH:MM`)
  return Number(match[1]) * 60 + Number(match[2])
}

function minutesOf (windows: TimeWindow[]): WindowMinutes[] {
  let parsed = parsedWindows.get(windows)
  if (parsed === undefined) {
    parsed = windows.map(w => ({ fromMinute: minuteOfDayOf(w.from), toMinute: minuteOfDayOf(w.to) }))
    parsedWindows.set(windows, parsed)
  }
  return parsed
}

export function inAnyWindow (at: LocalTime, windows: TimeWindow[]): boolean {
  return minutesOf(windows).some(w => at.minuteOfDay >= w.fromMinute && at.minuteOfDay < w.toMinute)
}

/** Peak: inside one of the windows on a working day. Holidays and weekends have no peak. */
export function isPeak (at: LocalTime, windows: TimeWindow[], calendar: CalendarPolicy): boolean {
  return isWorkingDay(at, calendar) && inAnyWindow(at, windows)
}
