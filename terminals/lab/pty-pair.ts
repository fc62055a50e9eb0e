// A virtual serial cable: socat joins two ptys, one end for the (virtual) reader, one for the agent.
//   socat -d -d pty,raw,echo=0,link=<dir>/ttyV0 pty,raw,echo=0,link=<dir>/ttyV1
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { killOnExit } from './json-child.js'

export interface PtyPair {
  /** The reader's end. */
  device: string
  /** The host's (agent's) end. */
  host: string
  stop: () => Promise<void>
}

export const SOCAT_MISSING = 'socat is not installed: the serial tests need it for a pty pair ' +
  '(Debian/Ubuntu: apt-get install -y socat; CI installs it in .ci/run)'

export async function startPtyPair (dir: string, readyMsMax = 5000): Promise<PtyPair> {
  const device = join(dir, 'ttyV0')
  const host = join(dir, 'ttyV1')
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${device}`, `pty,raw,echo=0,link=${host}`], { stdio: ['ignore', 'ignore', 'pipe'] })
  killOnExit(child)
  let log = ''
  child.stderr.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-10_000) })
  // A failed spawn (ENOENT) emits 'error' and never 'exit'.
  const exited = new Promise<void>(resolve => { child.once('exit', () => resolve()); child.once('error', () => resolve()) })
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
  }
  await new Promise<void>((resolve, reject) => {
    child.once('error', err => reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? new Error(SOCAT_MISSING) : err))
    void exited.then(() => reject(new Error(`socat exited early:\n${log}`)))
    const started = Date.now()
    const check = (): void => {
      if (/starting data transfer loop/.test(log) && existsSync(device) && existsSync(host)) return resolve()
      if (Date.now() - started > readyMsMax) return reject(new Error(`socat not ready in ${readyMsMax} ms:\n${log}`))
      setTimeout(check, 10)
    }
    check()
  }).catch(async err => { await stop(); throw err })
  return { device, host, stop }
}
