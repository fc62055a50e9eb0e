// Child processes of the bench: servers (the service, the baseline) and load-generator runs.
// Every child is tracked and killed when the bench exits, however it exits (error, Ctrl-C, SIGTERM),
// so a bench never leaves a server or generator running.
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { LoadConfig, LoadResult } from '../loadgen.js'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))

const live = new Set<ChildProcess>()
const exitActions: Array<() => void> = []
let hooksInstalled = false

/** Kills tracked children on any exit; `onExit` runs too (e.g. removing the bench's temp dir). */
export function installExitHooks (onExit?: () => void): void {
  if (onExit !== undefined) exitActions.push(onExit)
  if (hooksInstalled) return
  hooksInstalled = true
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL')
    for (const action of exitActions) action()
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const child of live) child.kill('SIGKILL')
      process.exit(130)
    })
  }
}

function track (child: ChildProcess): Promise<number | null> {
  installExitHooks()
  live.add(child)
  return new Promise(resolve => child.once('exit', code => { live.delete(child); resolve(code) }))
}

export interface Server {
  url: string
  pid: number
  logPath: string
  /** SIGTERM, wait for exit (SIGKILL after stopMsMax). */
  stop: () => Promise<number | null>
}

/**
 * Starts `node [nodeArgs] --import tsx <script>` with stdout and stderr going straight to a log file
 * (so the bench process spends no CPU relaying the service's log lines), and waits for its
 * `listening on http://...` line.
 */
export async function startServer (o: { script: string, env: Record<string, string>, logPath: string, nodeArgs?: string[], readyMsMax?: number }): Promise<Server> {
  writeFileSync(o.logPath, '')
  const fd = openSync(o.logPath, 'a')
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), '--import', 'tsx', o.script], {
    cwd: ROOT,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', fd, fd]
  })
  closeSync(fd)
  const exited = track(child)
  const readyMsMax = o.readyMsMax ?? 30_000
  const started = Date.now()
  let url: string | undefined
  let exitCode: number | null | undefined
  void exited.then(code => { exitCode = code })
  while (url === undefined) {
    if (exitCode !== undefined) throw new Error(`${o.script} exited (${exitCode}) before ready:\n${tail(o.logPath)}`)
    if (Date.now() - started > readyMsMax) {
      child.kill('SIGKILL')
      throw new Error(`${o.script} not ready in ${readyMsMax} ms:\n${tail(o.logPath)}`)
    }
    await sleep(50)
    url = /listening on (http:\/\/\S+)/.exec(readFileSync(o.logPath, 'utf8').slice(0, 100_000))?.[1]
  }
  return {
    url,
    pid: child.pid!,
    logPath: o.logPath,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      const code = await exited
      clearTimeout(timer)
      return code
    }
  }
}

export function tail (path: string, bytes = 2000): string {
  try {
    const text = readFileSync(path, 'utf8')
    return text.slice(-bytes)
  } catch {
    return ''
  }
}

export function fileBytes (path: string): number {
  try { return statSync(path).size } catch { return 0 }
}

export function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** Runs one load-generator process to completion (killed if it overstays its bound). */
export async function runLoadgen (config: Omit<LoadConfig, 'resultPath'>, workDir: string, name: string): Promise<LoadResult> {
  const configPath = join(workDir, `${name}.config.json`)
  const resultPath = join(workDir, `${name}.result.json`)
  writeFileSync(configPath, JSON.stringify({ ...config, resultPath }))
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'loadgen.ts'), configPath], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit']
  })
  const exited = track(child)
  // Pool building (~10 µs a request), warm-up, measured window, drain.
  const boundMs = 60_000 + config.poolSize * 0.02 + (config.warmupS + config.durationS) * 1000
  const timer = setTimeout(() => child.kill('SIGKILL'), boundMs)
  const code = await exited
  clearTimeout(timer)
  if (code !== 0) throw new Error(`load generator ${name} exited with ${code}`)
  return JSON.parse(readFileSync(resultPath, 'utf8')) as LoadResult
}
