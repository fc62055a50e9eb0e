import type { LocalTime } from './types.js'

const MINUTE_MS = 60_000

/** The moment `epochMs` in a zone `utcOffsetMinutes` east of UTC (fixed offset: China has no DST). */
export function localTime (epochMs: number, utcOffsetMinutes: number): LocalTime {
  const shifted = new Date(epochMs + utcOffsetMinutes * MINUTE_MS)
  const year = shifted.getUTCFullYear()
  const monthOfYear = shifted.getUTCMonth() + 1
  const day = shifted.getUTCDate()
  const hour = shifted.getUTCHours()
  const minute = shifted.getUTCMinutes()
  const weekdaySundayZero = shifted.getUTCDay()
  const mm = String(monthOfYear).padStart(2, '0')
  const month = `${year}-${mm}`
  return {
    epochMs,
    date: `${month}-${String(day).padStart(2, '0')}`,
    month,
    year,
    monthOfYear,
    day,
    hour,
    minute,
    minuteOfDay: hour * 60 + minute,
    weekday: weekdaySundayZero === 0 ? 7 : weekdaySundayZero
  }
}

/** Whole years of age on local date `onDate` (YYYY-MM-DD) for someone born on `birthDate`. */
export function ageOn (birthDate: string, onDate: string): number {
  const by = Number(birthDate.slice(0, 4))
  const bmd = birthDate.slice(5)
  const oy = Number(onDate.slice(0, 4))
  const omd = onDate.slice(5)
  return oy - by - (omd < bmd ? 1 : 0)
}
