// Every bound the service puts on an HTTP client, in one place, with the relations between them
// checked when the module loads (issue #13 item 6: 300 connections trickling a body were held 95 s).
//
// A client can hold the service's resources three ways, each bounded here:
//   - slowly: headers or a body trickled byte by byte → headersTimeoutMs / requestTimeoutMs, checked
//     every connectionsCheckingIntervalMs (Node only checks them on that tick; its default is 30 s);
//   - silently: an open socket sending nothing → connectionTimeoutMs (socket inactivity) and, between
//     requests on a kept-alive socket, keepAliveTimeoutMs;
//   - in numbers: connectionsMax sockets at once (Node drops the ones over it at accept).
// An answer given before the body is read (401 from the header checks, 413 from a declared length)
// closes the connection, but first reads and discards what the client is still sending, up to
// lingerBytesMax or lingerMs: closing with unread bytes makes the kernel send a reset, and the client
// sees EPIPE/ECONNRESET instead of the answer (measured: a 50 MB body to an admin path, see
// test/api/http-limits.test.ts). Past those bounds the connection is simply closed.

export interface HttpLimits {
  headersTimeoutMs: number
  requestTimeoutMs: number
  connectionsCheckingIntervalMs: number
  connectionTimeoutMs: number
  keepAliveTimeoutMs: number
  connectionsMax: number
  headerBytesMax: number
  lingerBytesMax: number
  lingerMs: number
  /** The largest body any route takes (a batch upload). */
  bodyBytesMax: number
  /** main.ts gives in-flight requests this long on SIGTERM. */
  shutdownMs: number
}

export const HTTP_LIMITS: HttpLimits = Object.freeze({
  // The header block of a terminal call is < 1 KiB: seconds are plenty even on a poor mobile link.
  headersTimeoutMs: 5_000,
  // A full 512 KiB offline batch at 1 Mbit/s takes ~4.2 s on the wire; 10 s leaves room for a worse link.
  requestTimeoutMs: 10_000,
  connectionsCheckingIntervalMs: 1_000,
  connectionTimeoutMs: 30_000,
  // Terminals tap every few seconds and keep their connection; an idle one is let go after 20 s.
  keepAliveTimeoutMs: 20_000,
  // The bench's 3,000 taps/s runs on 256 connections; a fleet behind a proxy uses far fewer.
  connectionsMax: 4_096,
  // Node's default; a signed tap needs well under 1 KiB of headers.
  headerBytesMax: 16 * 1024,
  lingerBytesMax: 8 * 1024 * 1024,
  lingerMs: 5_000,
  bodyBytesMax: 512 * 1024,
  shutdownMs: 15_000
})

export class HttpLimitsError extends Error {
  readonly code = 'HTTP_LIMITS_INVALID'
}

/** Throws when the limits contradict each other; returns them otherwise. */
export function checkHttpLimits (l: HttpLimits): HttpLimits {
  const rules: Array<[boolean, string]> = [
    [l.headersTimeoutMs <= l.requestTimeoutMs, 'headersTimeoutMs ≤ requestTimeoutMs (Node refuses otherwise)'],
    [l.connectionsCheckingIntervalMs < l.headersTimeoutMs, 'connectionsCheckingIntervalMs < headersTimeoutMs (else the timeouts are enforced late)'],
    [l.keepAliveTimeoutMs < l.connectionTimeoutMs, 'keepAliveTimeoutMs < connectionTimeoutMs (the idle socket is closed as kept-alive, not as dead)'],
    [l.requestTimeoutMs + l.connectionsCheckingIntervalMs < l.shutdownMs, 'a request cut at its timeout is over before the shutdown deadline'],
    [l.lingerMs <= l.requestTimeoutMs, 'lingerMs ≤ requestTimeoutMs (discarding an answered body costs no more than reading one)'],
    [l.lingerBytesMax >= 2 * 1024 * 1024, 'lingerBytesMax ≥ 2 MiB (a 2 MB body still gets its 401/413)'],
    [l.bodyBytesMax < l.lingerBytesMax, 'bodyBytesMax < lingerBytesMax'],
    [Number.isInteger(l.connectionsMax) && l.connectionsMax > 0, 'connectionsMax a positive integer']
  ]
  const broken = rules.filter(([ok]) => !ok).map(([, rule]) => rule)
  if (broken.length > 0) throw new HttpLimitsError(`HTTP limits contradict: ${broken.join('; ')}`)
  return l
}

checkHttpLimits(HTTP_LIMITS)
