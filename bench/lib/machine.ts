// What the numbers were measured on: they mean nothing without it.
import Database from 'better-sqlite3'
import { readFileSync } from 'node:fs'
import { cpus, release, totalmem, tmpdir } from 'node:os'
import { execFileSync } from 'node:child_process'

export interface MachineInfo {
  cpuModel: string
  cores: number
  memoryGiB: number
  os: string
  node: string
  sqlite: string
  betterSqlite3: string
  fastify: string
  tmpdirFilesystem: string
  note: string
}

function packageVersion (name: string): string {
  try {
    const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url)
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

function filesystemOf (path: string): string {
  try {
    return execFileSync('df', ['-T', path], { encoding: 'utf8' }).trim().split('\n').pop()?.split(/\s+/).slice(0, 2).join(' ') ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

export function machineInfo (): MachineInfo {
  const db = new Database(':memory:')
  const sqlite = db.prepare('SELECT sqlite_version()').pluck().get() as string
  db.close()
  const cores = cpus().length
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${process.platform} ${release()} ${process.arch}`,
    node: process.version,
    sqlite,
    betterSqlite3: packageVersion('better-sqlite3'),
    fastify: packageVersion('fastify'),
    tmpdirFilesystem: filesystemOf(tmpdir()),
    note: `the load generator runs on the same ${cores} cores as the server it measures: every CPU second it spends is taken from the server; its own CPU use is reported with each run`
  }
}
