import { connect } from 'node:net'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../src/app.js'

const { app } = await buildApp({ dbPath: join(mkdtempSync(join(tmpdir(), 'probe-')), 'l.db'), adminToken: 'tok', seed: 'demo', logLevel: 'warn' })
await app.listen({ port: 0, host: '127.0.0.1' })
const port = (app.server.address() as any).port

function raw (head: string, bodyBytes: number): Promise<string> {
  return new Promise(resolve => {
    const s = connect(port, '127.0.0.1')
    let d = ''
    const events: string[] = []
    s.on('data', c => { d += c })
    s.on('error', e => events.push(`error ${(e as any).code}`))
    s.on('close', () => resolve(`${events.join(',')} | ${JSON.stringify(d.slice(0, 160))}`))
    s.pause() // read nothing until the body is written, like a client that sends first
    s.write(head)
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    let sent = 0
    const pump = (): void => {
      while (sent < bodyBytes) {
        sent += chunk.length
        if (!s.write(chunk)) { s.once('drain', pump); return }
      }
      events.push('written')
      s.resume()
      s.end()
    }
    pump()
  })
}
const n = Number(process.env.N ?? 2_000_000)
console.log('admin noauth', await raw(`POST /v1/admin/terminals HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${n + 30000}\r\n\r\n`, n))
console.log('admin auth 413', await raw(`POST /v1/admin/terminals HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nContent-Type: application/json\r\nContent-Length: ${n + 30000}\r\n\r\n`, n))
try {
  const r = await fetch(`http://127.0.0.1:${port}/v1/admin/terminals`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(n, 0x20) })
  console.log('fetch', r.status, await r.text())
} catch (e) { console.log('fetch error', (e as any).cause?.code ?? e) }
try {
  const r = await fetch(`http://127.0.0.1:${port}/v1/admin/terminals`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer tok' }, body: Buffer.alloc(n, 0x20) })
  console.log('fetch auth', r.status, await r.text())
} catch (e) { console.log('fetch auth error', (e as any).cause?.code ?? e) }
await app.close()
