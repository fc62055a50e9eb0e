// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function, and total (inclusive)
// time for a few named frames, so a profile can be read without a GUI and quoted in reports.
import { readFileSync } from 'node:fs'

interface CallFrame { functionName: string, url: string, lineNumber: number }
interface ProfileNode { id: number, callFrame: CallFrame, children?: number[] }
interface CpuProfile { nodes: ProfileNode[], samples: number[], timeDeltas: number[], startTime: number, endTime: number }

export interface FunctionCost { name: string, where: string, selfPercent: number, selfMs: number }

export interface ProfileSummary {
  durationMs: number
  /** Share of samples in (idle) and (garbage collector), and in (program) (native work outside JS). */
  idlePercent: number
  gcPercent: number
  programPercent: number
  topSelf: FunctionCost[]
  /** Inclusive share of frames whose name matches each key (e.g. "commit" → GroupCommitter.commit). */
  inclusive: Record<string, number>
}

function shortUrl (url: string): string {
  const i = url.lastIndexOf('/node_modules/')
  if (i >= 0) return url.slice(i + '/node_modules/'.length)
  const src = url.search(/\/(src|bench)\//)
  if (src >= 0) return url.slice(src + 1)
  return url.replace(/^node:/, 'node:')
}

export function summariseProfile (path: string, topN = 25, inclusiveNames: string[] = []): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map(n => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const selfUs = new Map<number, number>()
  let totalUs = 0
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0
    totalUs += dt
    selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + dt)
  }
  const byFunction = new Map<string, { name: string, where: string, us: number }>()
  const inclusiveUs = new Map<string, number>(inclusiveNames.map(n => [n, 0]))
  let idle = 0
  let gc = 0
  let program = 0
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!
    const f = node.callFrame
    if (f.functionName === '(idle)') idle += us
    if (f.functionName === '(garbage collector)') gc += us
    if (f.functionName === '(program)') program += us
    const where = f.url === '' ? '' : `${shortUrl(f.url)}:${f.lineNumber + 1}`
    const key = `${f.functionName}|${where}`
    const entry = byFunction.get(key) ?? { name: f.functionName === '' ? '(anonymous)' : f.functionName, where, us: 0 }
    entry.us += us
    byFunction.set(key, entry)
    // Inclusive: walk up once per distinct matching name on the stack.
    if (inclusiveNames.length > 0) {
      const seen = new Set<string>()
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const name = byId.get(cur)!.callFrame.functionName
        for (const wanted of inclusiveNames) {
          if (name === wanted && !seen.has(wanted)) { seen.add(wanted); inclusiveUs.set(wanted, inclusiveUs.get(wanted)! + us) }
        }
      }
    }
  }
  const pct = (us: number): number => Math.round(us * 1000 / totalUs) / 10
  return {
    durationMs: Math.round(totalUs / 1000),
    idlePercent: pct(idle),
    gcPercent: pct(gc),
    programPercent: pct(program),
    topSelf: [...byFunction.values()].sort((a, b) => b.us - a.us).slice(0, topN)
      .map(e => ({ name: e.name, where: e.where, selfPercent: pct(e.us), selfMs: Math.round(e.us / 1000) })),
    inclusive: Object.fromEntries([...inclusiveUs].map(([k, v]) => [k, pct(v)]))
  }
}
