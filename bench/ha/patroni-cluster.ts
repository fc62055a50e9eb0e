// A two-node PostgreSQL 15 cluster under Patroni with one etcd, on loopback ports, in a temporary
// folder: the failover run's lab (bench/failover.ts). Debian's packages: postgresql-15, patroni,
// etcd-server. Synchronous replication (Patroni's synchronous_mode), so a COMMIT returns only once
// the standby has the WAL: "approved" means on two machines. Everything stops with the lab.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { killOnExit } from '../../terminals/lab/json-child.js'

export const PG_BIN = '/usr/lib/postgresql/15/bin'
const ETCD_CLIENT_PORT = 23790
const ETCD_PEER_PORT = 23800
/** Patroni's leader key lives this long without renewal: the bound on detecting a dead primary. */
export const PATRONI_TTL_S = 10

export interface NodeInfo { name: string, pgPort: number, restPort: number, dataDir: string }

export interface Cluster {
  nodes: NodeInfo[]
  /** libpq-style host list for DATABASE_URL. */
  databaseUrl: (database: string) => string
  leader: () => Promise<NodeInfo | undefined>
  waitForLeader: (o?: { not?: string, timeoutMs?: number }) => Promise<NodeInfo>
  waitForSyncStandby: (timeoutMs?: number) => Promise<void>
  /** SIGKILL the node's Patroni and its PostgreSQL together: the machine is gone. */
  killNode: (name: string) => void
  /** SIGKILL PostgreSQL alone: its Patroni is still there and restarts it. */
  killPostgres: (name: string) => void
  startNode: (name: string) => void
  stop: () => Promise<void>
  log: (name: string) => string
}

export function clusterPackagesMissing (): string[] {
  const missing: string[] = []
  if (!existsSync(join(PG_BIN, 'postgres'))) missing.push('postgresql-15')
  for (const [command, pkg] of [['patroni', 'patroni'], ['etcd', 'etcd-server']]) {
    try { execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }) } catch { missing.push(pkg!) }
  }
  return missing
}

export async function startCluster (o: { basePort?: number } = {}): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'yikatong-ha-'))
  const asPostgres = userInfo().uid === 0
  const ownership = (path: string): void => { if (asPostgres) execFileSync('chown', ['-R', 'postgres:postgres', path]) }
  const basePort = o.basePort ?? 54331
  const nodes: NodeInfo[] = [0, 1].map(i => ({ name: `node${i + 1}`, pgPort: basePort + i, restPort: 8101 + i, dataDir: join(dir, `node${i + 1}`, 'data') }))
  const children = new Map<string, ChildProcess>()
  const logs = new Map<string, string>()
  const spawnLogged = (name: string, command: string, args: string[]): ChildProcess => {
    const full = asPostgres ? ['runuser', ['-u', 'postgres', '--', command, ...args]] as const : [command, args] as const
    const child = spawn(full[0], [...full[1]], { stdio: ['ignore', 'pipe', 'pipe'], detached: false })
    killOnExit(child)
    const append = (d: Buffer): void => { logs.set(name, ((logs.get(name) ?? '') + d.toString()).slice(-100_000)) }
    child.stdout!.on('data', append)
    child.stderr!.on('data', append)
    children.set(name, child)
    return child
  }

  // A lab left over from a run that was killed would answer in place of this one.
  for (const port of [ETCD_CLIENT_PORT, ...nodes.map(n => n.restPort)]) {
    const taken = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) }).then(() => true, () => false)
    if (taken) throw new Error(`port ${port} is in use (a Patroni lab left running? pkill -f yikatong-ha-)`)
  }
  mkdirSync(join(dir, 'etcd'))
  ownership(dir)
  spawnLogged('etcd', 'etcd', [
    '--name', 'ykt-etcd', '--data-dir', join(dir, 'etcd'), '--enable-v2=true',
    '--listen-client-urls', `http://127.0.0.1:${ETCD_CLIENT_PORT}`, '--advertise-client-urls', `http://127.0.0.1:${ETCD_CLIENT_PORT}`,
    '--listen-peer-urls', `http://127.0.0.1:${ETCD_PEER_PORT}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${ETCD_PEER_PORT}`,
    '--initial-cluster', `ykt-etcd=http://127.0.0.1:${ETCD_PEER_PORT}`
  ])
  await until(async () => (await fetch(`http://127.0.0.1:${ETCD_CLIENT_PORT}/health`).then(r => r.ok, () => false)), 20_000, 'etcd')

  for (const node of nodes) {
    const nodeDir = join(dir, node.name)
    mkdirSync(nodeDir, { recursive: true })
    writeFileSync(join(nodeDir, 'patroni.yml'), patroniConfig(node, nodeDir))
    ownership(nodeDir)
  }
  const startNode = (name: string): void => {
    spawnLogged(name, 'patroni', [join(dir, name, 'patroni.yml')])
  }
  // The first node bootstraps the cluster; the second clones it once there is a leader.
  startNode('node1')
  const leader = async (): Promise<NodeInfo | undefined> => {
    for (const node of nodes) {
      const ok = await fetch(`http://127.0.0.1:${node.restPort}/primary`, { signal: AbortSignal.timeout(1_000) }).then(r => r.status === 200, () => false)
      if (ok) return node
    }
    return undefined
  }
  await until(async () => (await leader()) !== undefined, 60_000, 'the first Patroni node to bootstrap')
  startNode('node2')

  const waitForLeader = async (w: { not?: string, timeoutMs?: number } = {}): Promise<NodeInfo> => {
    let found: NodeInfo | undefined
    await until(async () => { found = await leader(); return found !== undefined && found.name !== w.not }, w.timeoutMs ?? 60_000, 'a Patroni leader')
    return found!
  }
  const waitForSyncStandby = async (timeoutMs = 60_000): Promise<void> => {
    await until(async () => {
      for (const node of nodes) {
        const ok = await fetch(`http://127.0.0.1:${node.restPort}/sync`, { signal: AbortSignal.timeout(1_000) }).then(r => r.status === 200, () => false)
        if (ok) return true
      }
      return false
    }, timeoutMs, 'a synchronous standby')
  }
  await waitForSyncStandby()

  const postgresPid = (node: NodeInfo): number | undefined => {
    try { return Number(readFileSync(join(node.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) } catch { return undefined }
  }
  /** Patroni itself and the runuser that started it (as root): both, or Patroni outlives the kill. */
  const patroniPids = (name: string): number[] => {
    try { return execFileSync('pgrep', ['-f', `patroni ${join(dir, name, 'patroni.yml')}`]).toString().trim().split('\n').map(Number) } catch { return [] }
  }
  const byName = (name: string): NodeInfo => nodes.find(n => n.name === name)!
  const kill = (pid: number | undefined): void => { if (pid !== undefined && pid > 0) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } } }

  return {
    nodes,
    databaseUrl: database => `postgres://postgres@${nodes.map(n => `127.0.0.1:${n.pgPort}`).join(',')}/${database}?target_session_attrs=read-write`,
    leader,
    waitForLeader,
    waitForSyncStandby,
    killNode: name => {
      const pgPid = postgresPid(byName(name))
      for (const pid of patroniPids(name)) kill(pid)
      kill(pgPid)
      // The postmaster's children die with it (they notice the postmaster is gone); make sure.
      try { execFileSync('pkill', ['-9', '-f', '--', `-D ${byName(name).dataDir}`]) } catch { /* none left */ }
      try { execFileSync('pkill', ['-9', '-f', `postgres: ykt: ${name}`]) } catch { /* none left */ }
    },
    killPostgres: name => { kill(postgresPid(byName(name))) },
    startNode,
    log: name => logs.get(name) ?? '',
    stop: async () => {
      for (const node of nodes) {
        for (const pid of patroniPids(node.name)) kill(pid)
        kill(postgresPid(node))
      }
      for (const child of children.values()) child.kill('SIGKILL')
      await sleep(300)
      try { execFileSync('pkill', ['-9', '-f', dir]) } catch { /* none left */ }
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

function patroniConfig (node: NodeInfo, nodeDir: string): string {
  return `scope: ykt
name: ${node.name}
restapi:
  listen: 127.0.0.1:${node.restPort}
  connect_address: 127.0.0.1:${node.restPort}
etcd:
  host: 127.0.0.1:${ETCD_CLIENT_PORT}
bootstrap:
  dcs:
    ttl: ${PATRONI_TTL_S}
    loop_wait: 1
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        synchronous_commit: 'on'
        max_connections: 200
        wal_level: replica
        hot_standby: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
        wal_log_hints: 'on'
  initdb:
    - encoding: UTF8
    - data-checksums
  pg_hba:
    - host replication replicator 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
    - local all all trust
postgresql:
  listen: 127.0.0.1:${node.pgPort}
  connect_address: 127.0.0.1:${node.pgPort}
  data_dir: ${node.dataDir}
  bin_dir: ${PG_BIN}
  pgpass: ${join(nodeDir, 'pgpass')}
  authentication:
    replication:
      username: replicator
      password: replicator
    superuser:
      username: postgres
      password: postgres
  parameters:
    unix_socket_directories: '${nodeDir}'
    fsync: 'on'
`
}

async function until (check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await sleep(200)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

