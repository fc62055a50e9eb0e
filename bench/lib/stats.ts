// Percentiles over recorded samples (exact: samples are kept, sorted once at the end).

export interface Percentiles {
  count: number
  mean: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000

/** Nearest-rank percentiles of the first `count` samples (milliseconds in, milliseconds out). */
export function percentiles (samples: Float64Array, count: number): Percentiles {
  if (count === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 }
  const sorted = samples.slice(0, count).sort()
  let sum = 0
  for (let i = 0; i < count; i++) sum += sorted[i]!
  const at = (q: number): number => sorted[Math.min(count - 1, Math.max(0, Math.ceil(q * count) - 1))]!
  return { count, mean: round3(sum / count), p50: round3(at(0.5)), p90: round3(at(0.9)), p99: round3(at(0.99)), p999: round3(at(0.999)), max: round3(sorted[count - 1]!) }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); undefined elsewhere. */
export function processCpuSeconds (pid: number, readStat: (path: string) => string): number | undefined {
  try {
    const stat = readStat(`/proc/${pid}/stat`)
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return ticks / CLOCK_TICKS_PER_S
  } catch {
    return undefined
  }
}

/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS_PER_S = 100

/** CPU seconds all cores have spent busy so far (user, nice, system, irq, softirq, steal), from
 *  /proc/stat; undefined elsewhere. With the server's and the generator's own CPU subtracted, what
 *  is left over a run is everything else on the machine (other users' processes, the kernel's
 *  writeback): the bench reports it so a disturbed run can be seen as one. */
export function machineBusySeconds (readStat: (path: string) => string): number | undefined {
  try {
    const fields = readStat('/proc/stat').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_S
  } catch {
    return undefined
  }
}
