// Bounded clients (issue #13 item 6), as the attacks over real sockets on loopback.
import t, { type Test } from 'tap'
import { connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { checkHttpLimits, HTTP_LIMITS, type HttpLimits } from '../../src/api/http-limits.js'
import { signedHeaders } from '../../src/auth/signature.js'
import { demoSecret } from '../../src/service/demo-seed.js'
import { ADMIN_TOKEN, buildTestApp, localAt, tapId } from '../helpers/app.js'

async function listening (t: Test, httpLimits: Partial<HttpLimits> = {}): Promise<number> {
  const h = await buildTestApp(t, { httpLimits })
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  return (h.app.server.address() as AddressInfo).port
}

interface RawAnswer { text: string, status: number | undefined, json: any, events: string[] }

function parse (text: string, events: string[]): RawAnswer {
  const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]
  const body = text.split('\r\n\r\n').slice(1).join('\r\n\r\n')
  let json: any
  try { json = JSON.parse(body) } catch { json = undefined }
  return { text, status: status === undefined ? undefined : Number(status), json, events }
}

/**
 * A client that sends its whole request before reading anything (as many simple clients do):
 * it only sees the answer if the server did not reset the connection under it.
 */
function writeThenRead (port: number, head: string, bodyBytes: number): Promise<RawAnswer> {
  return new Promise(resolve => {
    const s = connect(port, '127.0.0.1')
    let text = ''
    const events: string[] = []
    s.on('data', c => { text += c })
    s.on('error', e => events.push(`error:${(e as NodeJS.ErrnoException).code}`))
    s.on('close', () => resolve(parse(text, events)))
    s.pause()
    s.write(head)
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    let sent = 0
    const pump = (): void => {
      while (sent < bodyBytes) {
        const part = chunk.subarray(0, Math.min(chunk.length, bodyBytes - sent))
        sent += part.length
        if (!s.write(part)) { s.once('drain', pump); return }
      }
      events.push('body-written')
      s.resume()
      s.end()
    }
    pump()
  })
}

function rawOpen (port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s))
    s.on('error', reject)
  })
}

function answerOf (s: Socket): Promise<RawAnswer> {
  return new Promise(resolve => {
    let text = ''
    const events: string[] = []
    s.on('data', c => {
      text += c
      if (!events.includes('first-data')) events.push('first-data')
    })
    s.on('error', e => events.push(`error:${(e as NodeJS.ErrnoException).code}`))
    s.on('close', () => resolve(parse(text, events)))
  })
}

t.test('the limits hold together', async t => {
  t.same(checkHttpLimits(HTTP_LIMITS), HTTP_LIMITS)
  t.throws(() => checkHttpLimits({ ...HTTP_LIMITS, headersTimeoutMs: HTTP_LIMITS.requestTimeoutMs + 1 }), { code: 'HTTP_LIMITS_INVALID', message: /headersTimeoutMs/ })
  t.throws(() => checkHttpLimits({ ...HTTP_LIMITS, requestTimeoutMs: HTTP_LIMITS.shutdownMs }), { message: /shutdown/ })
  t.throws(() => checkHttpLimits({ ...HTTP_LIMITS, lingerBytesMax: 1024 * 1024 }), { message: /2 MB/ })
})

t.test('attack: a large body to an admin path gets its answer, not a reset', async t => {
  const port = await listening(t)
  for (const bytes of [2_000_000, 6_000_000]) {
    const noToken = await writeThenRead(port, `POST /v1/admin/terminals HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${bytes}\r\n\r\n`, bytes)
    t.equal(noToken.status, 401, `${bytes} B without a token: 401 arrives (${noToken.events.join(',')})`)
    t.equal(noToken.json?.error?.code, 'UNAUTHENTICATED')
    t.match(noToken.text, /connection: close/i, 'and the connection is closed after it')
    const tooLarge = await writeThenRead(port, `POST /v1/admin/terminals HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${bytes}\r\n\r\n`, bytes)
    t.equal(tooLarge.status, 413, `${bytes} B with a token: 413 arrives (${tooLarge.events.join(',')})`)
    t.equal(tooLarge.json?.error?.code, 'PAYLOAD_TOO_LARGE')
  }
})

t.test('attack: terminal headers are judged before the body is read', async t => {
  const port = await listening(t)
  const unknown = await writeThenRead(port, `POST /v1/taps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Terminal-Id: nobody\r\nX-Timestamp: ${Date.now()}\r\nX-Signature: ${'a'.repeat(64)}\r\nContent-Length: 2000000\r\n\r\n`, 2_000_000)
  t.equal(unknown.status, 401, `unknown terminal with a 2 MB body: 401 (${unknown.events.join(',')})`)
  t.equal(unknown.json?.error?.code, 'UNAUTHENTICATED')

  // Headers only: the answer comes although not one byte of the announced body was sent.
  const cases: Array<[string, string]> = [
    ['unknown terminal', `X-Terminal-Id: nobody\r\nX-Timestamp: ${Date.now()}\r\nX-Signature: ${'a'.repeat(64)}`],
    ['missing terminal id', `X-Timestamp: ${Date.now()}\r\nX-Signature: ${'a'.repeat(64)}`],
    ['stale timestamp', `X-Terminal-Id: jinan-bus-01\r\nX-Timestamp: ${Date.now() - 301_000}\r\nX-Signature: ${'a'.repeat(64)}`],
    ['non-numeric timestamp', `X-Terminal-Id: jinan-bus-01\r\nX-Timestamp: soon\r\nX-Signature: ${'a'.repeat(64)}`]
  ]
  for (const [name, headers] of cases) {
    const s = await rawOpen(port)
    const answer = answerOf(s)
    s.write(`POST /v1/taps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}\r\nContent-Length: 1000\r\n\r\n`)
    const a = await answer
    t.equal(a.status, 401, `${name}: 401 before any body`)
    t.equal(a.json?.error?.code, 'UNAUTHENTICATED', name)
  }
  // A known terminal with a fresh timestamp is let through to send its body; a bad signature is still 401.
  const body = JSON.stringify({ tapId: tapId(), at: localAt(), card: { type: 'physical', cardNo: 'JN0000001', issuer: '370100' } })
  const signed = signedHeaders({ terminalId: 'jinan-bus-01', secret: 'wrong', method: 'POST', path: '/v1/taps', body })
  const bad = await writeThenRead(port, `POST /v1/taps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${Object.entries(signed).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 0)
  t.equal(bad.status, 401, 'signature checked once the body is in')
})

t.test('attack: a header block over the limit gets 431 with the JSON error body', async t => {
  const port = await listening(t)
  const s = await rawOpen(port)
  const answer = answerOf(s)
  s.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(HTTP_LIMITS.headerBytesMax + 1024)}\r\n\r\n`)
  const a = await answer
  t.equal(a.status, 431)
  t.same(a.json, { error: { code: 'HEADERS_TOO_LARGE', message: `request headers over ${HTTP_LIMITS.headerBytesMax} bytes` } })
})

const SHORT: Partial<HttpLimits> = { headersTimeoutMs: 300, requestTimeoutMs: 600, connectionsCheckingIntervalMs: 50, lingerMs: 300, keepAliveTimeoutMs: 300, connectionTimeoutMs: 2_000, shutdownMs: 5_000 }

t.test('attack: a body trickled byte by byte is cut off with 408, not held', async t => {
  const port = await listening(t, SHORT)
  const body = JSON.stringify({ tapId: tapId(), at: localAt(), card: { type: 'physical', cardNo: 'JN0000001', issuer: '370100' } })
  const signed = signedHeaders({ terminalId: 'jinan-bus-01', secret: demoSecret('jinan-bus-01'), method: 'POST', path: '/v1/taps', body })
  const s = await rawOpen(port)
  const answer = answerOf(s)
  s.write(`POST /v1/taps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${Object.entries(signed).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\nContent-Length: ${body.length}\r\n\r\n`)
  // One byte every 50 ms: the whole body would take body.length × 50 ms (several seconds).
  let sent = 0
  const trickle = setInterval(() => { if (sent < body.length && !s.destroyed) s.write(body[sent++]!) }, 50)
  const a = await answer
  clearInterval(trickle)
  t.ok(sent < body.length, `the server gave up before the body was complete (${sent}/${body.length} bytes)`)
  t.equal(a.status, 408)
  t.equal(a.json?.error?.code, 'REQUEST_TIMEOUT')
})

t.test('attack: a header block trickled forever is cut off too', async t => {
  const port = await listening(t, SHORT)
  const s = await rawOpen(port)
  const answer = answerOf(s)
  s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n')
  let lines = 0
  const trickle = setInterval(() => { if (!s.destroyed) { s.write(`X-${lines++}: y\r\n`) } }, 50)
  const a = await answer
  clearInterval(trickle)
  t.equal(a.status, 408, `cut after ${lines} header lines`)
  t.equal(a.json?.error?.code, 'REQUEST_TIMEOUT')
})

t.test('an idle kept-alive connection is let go; connections over the cap are refused at accept', async t => {
  const port = await listening(t, { ...SHORT, connectionsMax: 3 })
  const idle = await rawOpen(port)
  const idleAnswer = answerOf(idle)
  idle.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
  const first = await idleAnswer
  t.equal(first.status, 200, 'answered, then closed by the server once idle')
  const held = await Promise.all([rawOpen(port), rawOpen(port), rawOpen(port)])
  const extra = await rawOpen(port).catch(() => undefined)
  if (extra !== undefined) {
    const a = answerOf(extra)
    extra.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
    t.equal((await a).status, undefined, 'the fourth connection is dropped without an answer')
  } else t.pass('the fourth connection is dropped')
  held[0]!.destroy()
  await new Promise(resolve => held[0]!.once('close', resolve))
  // The server sees the close asynchronously: retry briefly until a slot is free.
  let status: number | undefined
  for (let i = 0; i < 50 && status !== 200; i++) {
    const s = await rawOpen(port)
    const a = answerOf(s)
    s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    status = (await a).status
  }
  t.equal(status, 200, 'a freed slot serves again')
  for (const s of held) s.destroy()
})
