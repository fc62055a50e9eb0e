// The virtual reader's control language, one command per line (stdin):
//   tap <cardNo> [<issuer> <expiresOn>]   put a card in the field (a fixture card, or one made up)
//   qr <payload>                          the scanner reads a QR code (rest of the line, verbatim)
//   remove                                take the card away
//   unplug [ms]                           close the serial device for ms (default 1000), then reopen
//   silent [ms]                           keep the device open but answer nothing for ms (default 1000)
//   quit
export type ControlCommand =
  | { op: 'tap', cardNo: string, issuer?: string, expiresOn?: string }
  | { op: 'qr', payload: string }
  | { op: 'remove' }
  | { op: 'unplug', ms: number }
  | { op: 'silent', ms: number }
  | { op: 'quit' }
  | { op: 'invalid', reason: string }

export const CONTROL_LINE_CHARS_MAX = 1024
export const OUTAGE_MS_MAX = 60_000
const OUTAGE_MS_DEFAULT = 1000

export function parseControl (line: string): ControlCommand | null {
  const text = line.replace(/\r?\n$/, '')
  if (text.length > CONTROL_LINE_CHARS_MAX) return { op: 'invalid', reason: `line over ${CONTROL_LINE_CHARS_MAX} characters` }
  if (text.trim() === '' || text.trimStart().startsWith('#')) return null
  const [op = '', ...args] = text.trim().split(/\s+/)
  switch (op) {
    case 'tap': return parseTap(args)
    case 'qr': {
      const payload = text.trimStart().slice(2).replace(/^ /, '')
      return payload === '' ? { op: 'invalid', reason: 'qr needs a payload' } : { op: 'qr', payload }
    }
    case 'remove': return { op: 'remove' }
    case 'unplug':
    case 'silent': return parseOutage(op, args[0])
    case 'quit': return { op: 'quit' }
    default: return { op: 'invalid', reason: `unknown command ${op}` }
  }
}

function parseTap (args: string[]): ControlCommand {
  const [cardNo, issuer, expiresOn] = args
  if (cardNo === undefined) return { op: 'invalid', reason: 'tap needs a card number' }
  if (issuer === undefined) return { op: 'tap', cardNo }
  if (expiresOn === undefined) return { op: 'invalid', reason: 'tap <cardNo> <issuer> <expiresOn>' }
  return { op: 'tap', cardNo, issuer, expiresOn }
}

function parseOutage (op: 'unplug' | 'silent', arg: string | undefined): ControlCommand {
  const ms = arg === undefined ? OUTAGE_MS_DEFAULT : Number(arg)
  if (!Number.isInteger(ms) || ms < 0 || ms > OUTAGE_MS_MAX) return { op: 'invalid', reason: `${op} ms must be 0..${OUTAGE_MS_MAX}` }
  return { op, ms }
}
