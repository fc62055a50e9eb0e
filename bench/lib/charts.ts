// SVG charts next to the bench tables (written by bench/run.ts and bench/report.ts):
//   latency-cdf.svg  the latency distribution of each fixed-rate run, as a CDF through the measured
//                    points (p50, p90, p99, p99.9, max) on a log time axis: the tail is what matters
//   throughput.svg   throughput of each run (max-rate and fixed-rate), one bar per run
// Plain SVG text, no chart library: reviewable in a diff and shown by any browser or GitHub.
import type { BenchResults, RunSummary } from '../run.js'

const W = 860
const H = 360
const M = { left: 70, right: 250, top: 30, bottom: 50 }
const COLORS = ['#2f6db3', '#e0675f', '#4caf7d', '#9c6ade', '#d9a32b', '#5b6778']
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

function runs (r: BenchResults, mode: 'rate' | 'max'): Array<[string, RunSummary]> {
  const list: Array<[string, RunSummary | undefined]> = [
    ['empty-route baseline', r.baseline.empty[mode]],
    ['verify baseline', r.baseline.verify[mode]],
    ['service', r.service[mode]],
    ...(mode === 'rate' ? [['growth: empty ledger', r.growth.empty], ['growth: preloaded', r.growth.preloaded]] as Array<[string, RunSummary | undefined]> : [])
  ]
  return list.filter((x): x is [string, RunSummary] => x[1] !== undefined && x[1].mode === mode)
}

export function latencyCdfSvg (r: BenchResults): string {
  const series = runs(r, 'rate')
  const points = (s: RunSummary): Array<[number, number]> => {
    const l = s.latencyMs
    return [[l.p50, 0.5], [l.p90, 0.9], [l.p99, 0.99], [l.p999, 0.999], [l.max, 1]]
  }
  const all = series.flatMap(([, s]) => points(s).map(p => p[0])).filter(x => x > 0)
  const lo = Math.log10(Math.max(0.01, Math.min(...all, 1) / 1.5))
  const hi = Math.log10(Math.max(...all, 1) * 1.5)
  const x = (ms: number): number => M.left + (Math.log10(Math.max(ms, 10 ** lo)) - lo) / (hi - lo) * (W - M.left - M.right)
  // y is the "nines" scale: 0.5 → 1 nine... so p99 and p99.9 are not squashed against the top.
  const nines = (q: number): number => q >= 1 ? 3.5 : -Math.log10(1 - q)
  const y = (q: number): number => H - M.bottom - (nines(q) - nines(0.5)) / (nines(1) - nines(0.5)) * (H - M.top - M.bottom)
  const parts: string[] = [header('Tap latency CDF at the fixed rate (ms, log scale)')]
  for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) {
    parts.push(`<line x1="${x(10 ** d)}" y1="${M.top}" x2="${x(10 ** d)}" y2="${H - M.bottom}" stroke="#e3e6ea"/>`,
      `<text x="${x(10 ** d)}" y="${H - M.bottom + 16}" text-anchor="middle">${10 ** d}</text>`)
  }
  for (const [q, label] of [[0.5, 'p50'], [0.9, 'p90'], [0.99, 'p99'], [0.999, 'p99.9'], [1, 'max']] as Array<[number, string]>) {
    parts.push(`<line x1="${M.left}" y1="${y(q)}" x2="${W - M.right}" y2="${y(q)}" stroke="#e3e6ea"/>`, `<text x="${M.left - 6}" y="${y(q) + 4}" text-anchor="end">${label}</text>`)
  }
  series.forEach(([name, s], i) => {
    const pts = points(s).map(([ms, q]) => `${x(ms).toFixed(1)},${y(q).toFixed(1)}`).join(' ')
    // Dashed every other line: runs with the same numbers (service and growth: empty) stay visible.
    parts.push(`<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="2"${i % 2 === 1 ? ' stroke-dasharray="6 4"' : ''} points="${pts}"/>`,
      ...points(s).map(([ms, q]) => `<circle cx="${x(ms).toFixed(1)}" cy="${y(q).toFixed(1)}" r="3" fill="${COLORS[i % COLORS.length]}"><title>${esc(name)}: ${ms} ms at ${q}</title></circle>`),
      legend(i, `${name} (${s.ratePerSecond ?? '?'}/s)`))
  })
  parts.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">latency, ms</text>`, '</svg>\n')
  return parts.join('\n')
}

export function throughputSvg (r: BenchResults): string {
  const series = [...runs(r, 'max').map(([n, s]) => [`${n} (max)`, s] as [string, RunSummary]), ...runs(r, 'rate').map(([n, s]) => [`${n} (fixed rate)`, s] as [string, RunSummary])]
  const max = Math.max(1, ...series.map(([, s]) => s.throughputPerS))
  const slot = (H - M.top - M.bottom) / Math.max(1, series.length)
  const x = (v: number): number => 230 + v / max * (W - 230 - 90)
  const parts: string[] = [header('Throughput per run (taps/s)')]
  series.forEach(([name, s], i) => {
    const top = M.top + i * slot + 4
    parts.push(`<text x="222" y="${top + slot / 2}" text-anchor="end">${esc(name)}</text>`,
      `<rect x="230" y="${top}" width="${(x(s.throughputPerS) - 230).toFixed(1)}" height="${(slot - 8).toFixed(1)}" fill="${COLORS[i % COLORS.length]}"/>`,
      `<text x="${x(s.throughputPerS) + 6}" y="${top + slot / 2}">${Math.round(s.throughputPerS).toLocaleString('en')}</text>`)
  })
  parts.push('</svg>\n')
  return parts.join('\n')
}

function header (title: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12" fill="#1d2330">\n` +
    `<rect width="${W}" height="${H}" fill="#fff"/>\n<text x="${M.left}" y="18" font-size="14" font-weight="600">${esc(title)}</text>`
}

function legend (i: number, label: string): string {
  const y = M.top + 10 + i * 18
  return `<rect x="${W - M.right + 14}" y="${y - 9}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/><text x="${W - M.right + 32}" y="${y + 1}">${esc(label)}</text>`
}

/** File names for a profile: the full run's are committed, the quick run's are not (gitignored). */
export function resultFiles (profile: 'full' | 'quick'): { json: string, md: string, cdf: string, throughput: string } {
  const base = profile === 'quick' ? 'quick' : 'latest'
  return { json: `${base}.json`, md: `${base}.md`, cdf: `${base}-latency-cdf.svg`, throughput: `${base}-throughput.svg` }
}
