// Reads the service's /metrics (Prometheus text): histograms and labelled counters.

export interface HistogramSummary {
  count: number
  sum: number
  mean: number
  /** Upper bound of the bucket holding the given quantile (Prometheus buckets: ≤ le). */
  p50Le: number | null
  p99Le: number | null
  buckets: Array<{ le: string, count: number }>
}

export function histogram (text: string, name: string): HistogramSummary {
  const buckets: Array<{ le: string, count: number }> = []
  let count = 0
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}_bucket{`)) {
      const le = /le="([^"]+)"/.exec(line)?.[1] ?? ''
      buckets.push({ le, count: Number(line.slice(line.lastIndexOf(' ') + 1)) })
    } else if (line.startsWith(`${name}_sum`)) {
      sum = Number(line.slice(line.lastIndexOf(' ') + 1))
    } else if (line.startsWith(`${name}_count`)) {
      count = Number(line.slice(line.lastIndexOf(' ') + 1))
    }
  }
  const quantileLe = (q: number): number | null => {
    const target = q * count
    for (const b of buckets) if (b.count >= target && count > 0) return b.le === '+Inf' ? Infinity : Number(b.le)
    return null
  }
  return { count, sum, mean: count === 0 ? 0 : sum / count, p50Le: quantileLe(0.5), p99Le: quantileLe(0.99), buckets }
}

/** Counter samples of `name` as label objects and values. */
export function counters (text: string, name: string): Array<{ labels: Record<string, string>, value: number }> {
  const out: Array<{ labels: Record<string, string>, value: number }> = []
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue
    const labels: Record<string, string> = {}
    for (const m of line.slice(name.length + 1, line.lastIndexOf('}')).matchAll(/(\w+)="([^"]*)"/g)) labels[m[1]!] = m[2]!
    out.push({ labels, value: Number(line.slice(line.lastIndexOf(' ') + 1)) })
  }
  return out
}
