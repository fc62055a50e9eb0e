// A child process that reports in JSON lines on stdout (the virtual reader, the agent's pino log),
// with a way to wait for a line and a stop that always ends it (SIGTERM, then SIGKILL).
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'

export type JsonLine = Record<string, unknown>

export interface JsonChild {
  child: ChildProcess
  lines: JsonLine[]
  output: () => string
  send: (line: string) => void
  /** The first line at index >= `from` matching `pred`; rejects after `ms` or if the child exits. */
  waitFor: (pred: (l: JsonLine) => boolean, opts?: { ms?: number, from?: number, what?: string }) => Promise<{ line: JsonLine, index: number }>
  stop: () => Promise<void>
}

const LINES_MAX = 20_000
const KILL_AFTER_MS = 2000

export function spawnJson (command: string, args: string[], opts: { cwd?: string, env?: NodeJS.ProcessEnv } = {}): JsonChild {
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] })
  killOnExit(child)
  const lines: JsonLine[] = []
  let text = ''
  const listeners = new Set<() => void>()
  let gone = false
  const ended = (): void => { gone = true; for (const l of listeners) l() }
  // 'close' comes after the last stdout line, and also after a failed spawn (which has no 'exit').
  const exited = new Promise<void>(resolve => child.once('close', () => { resolve(); ended() }))
  child.on('error', err => { text += `spawn failed: ${err.message}\n` })
  child.stderr?.on('data', (d: Buffer) => { text = (text + d.toString()).slice(-50_000) })
  child.stdin?.on('error', () => {})
  createInterface({ input: child.stdout! }).on('line', raw => {
    text = (text + raw + '\n').slice(-50_000)
    let line: JsonLine
    try {
      line = JSON.parse(raw) as JsonLine
    } catch {
      line = { raw }
    }
    if (lines.length < LINES_MAX) lines.push(line)
    for (const l of listeners) l()
  })
  return {
    child,
    lines,
    output: () => text,
    send: line => { child.stdin?.write(line + '\n') },
    waitFor: (pred, o = {}) => new Promise((resolve, reject) => {
      const ms = o.ms ?? 5000
      const check = (): void => {
        for (let i = o.from ?? 0; i < lines.length; i++) {
          if (pred(lines[i] as JsonLine)) { done(); return resolve({ line: lines[i] as JsonLine, index: i }) }
        }
        if (gone) { done(); reject(new Error(`${command} exited waiting for ${o.what ?? 'a line'}:\n${text}`)) }
      }
      const timer = setTimeout(() => { done(); reject(new Error(`timed out after ${ms} ms waiting for ${o.what ?? 'a line'}:\n${text.slice(-4000)}`)) }, ms)
      const done = (): void => { clearTimeout(timer); listeners.delete(check) }
      listeners.add(check)
      check()
    }),
    stop: async () => {
      if (gone) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS)
      await exited
      clearTimeout(timer)
    }
  }
}

/** Last line of defence: however the parent ends (short of SIGKILL), its children go with it. */
export function killOnExit (child: ChildProcess): void {
  const kill = (): void => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') }
  process.once('exit', kill)
  child.once('exit', () => process.off('exit', kill))
}
