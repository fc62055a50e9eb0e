// Suites that need a system package (socat, PostgreSQL, Chromium, ...) call requires() first.
// Missing on a developer's machine: the suite is skipped and says plainly what is missing and how to
// install it. Missing with CI set: the suite FAILS with the same message (CI must run everything;
// .ci/run installs the packages).
import { spawnSync } from 'node:child_process'
import t from 'tap'

const COMMAND = /^[A-Za-z0-9._+-]{1,64}$/

export interface Requirement {
  /** What the suite needs it for, e.g. "a pty pair for the serial end-to-end test". */
  for: string
  /** How to install it, e.g. "apt-get install -y socat". */
  install: string
}

export function inCi (env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false'
}

export function commandExists (command: string): boolean {
  if (!COMMAND.test(command)) throw new RangeError(`not a command name: ${command}`)
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

/**
 * Returns a tap `skip` option: false when `command` is on PATH, else the reason. With CI set, a
 * missing command is also a failed assertion, so the run cannot pass.
 */
export function requires (command: string, r: Requirement): { skip: string | false } {
  if (commandExists(command)) return { skip: false }
  const message = `${command} is not installed: needed for ${r.for} (install: ${r.install})`
  if (inCi()) {
    t.fail(`CI is set and a required system package is missing: ${message}`)
    return { skip: `FAILED in CI: ${message}` }
  }
  t.comment(`SKIPPED: ${message}`)
  return { skip: message }
}
