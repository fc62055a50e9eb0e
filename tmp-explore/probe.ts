import { request } from 'node:http'
import { connect } from 'node:net'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../src/app.js'

const { app } = await buildApp({ dbPath: join(mkdtempSync(join(tmpdir(), 'probe-')), 'l.db'), adminToken: 'tok', seed: 'demo', logLevel: 'warn' })
await app.listen({ port: 0, host: '127.0.0.1' })
const port = (app.server.address() as any).port

function post (path: string, headers: Record<string, string>, bytes: number, chunked = false): Promise<string> {
  return new Promise(resolve => {
    const body = Buffer.alloc(bytes, 0x20)
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': String(bytes) }), ...headers } }, res => {
      let data = ''
      res.on('data', d => { data += d })
      res.on('end', () => resolve(`${res.statusCode} ${res.headers.connection} ${data.slice(0, 120)}`))
      res.on('error', e => resolve(`res error ${e.message}`))
    })
    req.on('error', e => resolve(`req error ${(e as any).code} ${e.message}`))
    req.end(body)
  })
}
console.log('admin noauth 2MB', await post('/v1/admin/terminals', {}, 2_000_000))
console.log('admin auth 2MB', await post('/v1/admin/terminals', { authorization: 'Bearer tok' }, 2_000_000))
console.log('admin auth 2MB chunked', await post('/v1/admin/terminals', { authorization: 'Bearer tok' }, 2_000_000, true))
console.log('taps unknown 2MB', await post('/v1/taps', { 'x-terminal-id': 'nobody', 'x-timestamp': String(Date.now()), 'x-signature': 'a'.repeat(64) }, 2_000_000))
console.log('taps known stale 2MB chunked', await post('/v1/taps', { 'x-terminal-id': 'jinan-bus-01', 'x-timestamp': '1', 'x-signature': 'a'.repeat(64) }, 2_000_000, true))
// header too large
await new Promise<void>(resolve => {
  const s = connect(port, '127.0.0.1', () => { s.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`) })
  let d = ''
  s.on('data', c => { d += c })
  s.on('close', () => { console.log('431:', JSON.stringify(d.slice(0, 300))); resolve() })
  s.on('error', e => console.log('431 err', e.message))
})
console.log('timeouts', app.server.requestTimeout, app.server.headersTimeout, app.server.keepAliveTimeout, app.server.timeout, app.server.maxConnections)
await app.close()
