// Tap ids and tap times as api-v1 wants them.
//   tapId: <terminalId>-<boot id>-<counter>, both base 36. The boot id (ms at start) keeps ids unique
//   across restarts, where a bare counter would repeat and collide (409) with taps already sent.

export const TAP_ID = /^[A-Za-z0-9._:-]{1,64}$/
/** terminalId + "-" + 8-char boot id + "-" + up to 7-char counter must fit in 64. */
export const TERMINAL_ID_CHARS_MAX = 47
const COUNTER_MAX = 36 ** 7 - 1

export function tapIdSource (terminalId: string, bootMs = Date.now()): () => string {
  if (terminalId.length > TERMINAL_ID_CHARS_MAX) throw new RangeError(`terminal id over ${TERMINAL_ID_CHARS_MAX} characters leaves no room for tap ids`)
  const boot = bootMs.toString(36)
  let counter = 0
  return () => {
    if (counter >= COUNTER_MAX) throw new RangeError('tap id counter exhausted: restart the agent')
    const id = `${terminalId}-${boot}-${(++counter).toString(36)}`
    if (!TAP_ID.test(id)) throw new RangeError(`tap id ${id} does not match ${TAP_ID}`)
    return id
  }
}

/** RFC 3339 local time with a fixed offset, e.g. 2026-07-01T08:15:30.123+08:00 (China: +08:00, no DST). */
export function rfc3339Local (epochMs: number, utcOffsetMinutes = 480): string {
  const shifted = new Date(epochMs + utcOffsetMinutes * 60_000).toISOString().slice(0, 23)
  const sign = utcOffsetMinutes < 0 ? '-' : '+'
  const abs = Math.abs(utcOffsetMinutes)
  const hh = String(Math.floor(abs / 60)).padStart(2, '0')
  const mm = String(abs % 60).padStart(2, '0')
  return `${shifted}${sign}${hh}:${mm}`
}
