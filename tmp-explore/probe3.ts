import { connect } from 'node:net'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApp } from '../src/app.js'

const { app } = await buildApp({ dbPath: join(mkdtempSync(join(tmpdir(), 'probe-')), 'l.db'), adminToken: 'tok', seed: 'demo', logLevel: 'warn' })
app.server.on('connection', (sock) => {
  const orig = sock.destroy.bind(sock)
  let n = 0
  sock.on('data', c => { n += c.length })
  ;(sock as any).destroy = (e?: Error) => { console.log('server destroy after', n, 'bytes', new Error().stack?.split('\n').slice(2, 6).join(' | ')); return orig(e) }
  sock.on('pause', () => console.log('paused at', n))
})
await app.listen({ port: 0, host: '127.0.0.1' })
const port = (app.server.address() as any).port
for (const [n, auth] of [[2_000_000, ''], [2_000_000, 'Authorization: Bearer tok\r\n'], [6_000_000, '']] as const) await new Promise<void>(resolve => {
  const s = connect(port, '127.0.0.1')
  let d = ''
  s.on('data', c => { d += c })
  s.on('error', e => console.log('client', (e as any).code))
  s.on('close', () => { console.log('client got', JSON.stringify(d.slice(0, 40))); resolve() })
  s.pause()
  s.write(`POST /v1/admin/terminals HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nContent-Length: ${n}\r\n\r\n`)
  const chunk = Buffer.alloc(65536, 0x20); let sent = 0
  const pump = (): void => { while (sent < n) { sent += chunk.length; if (!s.write(chunk)) { s.once('drain', pump); return } } console.log('client written'); s.resume(); s.end() }
  pump()
})
await app.close()
