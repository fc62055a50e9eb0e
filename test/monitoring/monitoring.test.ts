// The monitoring kit against the real service: `promtool check metrics` on a live /metrics answer,
// `promtool check rules` and `promtool test rules` on the alert rules, `promtool check config` on
// the scrape config, every Grafana expression parsed by promtool (as recording rules), and every
// metric the kit names exists on /metrics (or comes from node_exporter). Node's default metrics
// carry their standard names. No promtool: skipped with a message, failed when CI is set.
import t from 'tap'
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildTestApp, localAt, physical, tapId } from '../helpers/app.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const KIT = join(ROOT, 'monitoring')
const PROMTOOL = '/usr/bin/promtool'
/** Lint findings promtool reports on prom-client's own default metrics. Their names are the
 *  standard ones stock Node.js dashboards query, so they stay; nothing of ours may be listed. */
const UPSTREAM_LINT = [
  'nodejs_active_handles_total non-counter metrics should not have "_total" suffix',
  'nodejs_active_requests_total non-counter metrics should not have "_total" suffix',
  'nodejs_active_resources_total non-counter metrics should not have "_total" suffix'
]
const NODE_EXPORTER = new Set(['node_filesystem_avail_bytes', 'node_filesystem_size_bytes', 'up'])

function run (args: string[], input?: string): { status: number | null, out: string } {
  const r = spawnSync(PROMTOOL, args, { input, encoding: 'utf8', cwd: KIT, timeout: 60_000 })
  return { status: r.status, out: `${r.stdout}${r.stderr}` }
}

if (!existsSync(PROMTOOL)) {
  if (process.env.CI !== undefined) t.fail(`${PROMTOOL} is missing: .ci/run must install Debian's prometheus package`)
  else t.test('monitoring kit', { skip: `${PROMTOOL} is missing (apt-get install prometheus)` }, async () => {})
} else {
  t.test('promtool check metrics on the live /metrics', async t => {
    const h = await buildTestApp(t)
    await h.tap('jinan-bus-01', { tapId: tapId(), at: localAt(), card: physical('JN0000001', '370100') })
    const metrics = (await h.app.inject('/metrics')).body
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_p99_seconds', 'nodejs_heap_size_used_bytes', 'nodejs_gc_duration_seconds']) {
      t.match(metrics, new RegExp(`^# TYPE ${name} `, 'm'), `default metric ${name} under its standard name`)
    }
    const { out } = run(['check', 'metrics'], metrics)
    const findings = out.split('\n').map(l => l.trim()).filter(l => l !== '')
    t.same(findings.filter(f => !UPSTREAM_LINT.includes(f)), [], 'no lint findings beyond the known upstream names')
    t.notOk(findings.some(f => f.startsWith('yikatong_')), 'none about our metrics')

    // Every metric the kit names is served (or is node_exporter's).
    const served = new Set([...metrics.matchAll(/^# TYPE (\S+) (\S+)/gm)].flatMap(m => m[2] === 'histogram' ? [`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`] : [m[1]!]))
    const dashboard = JSON.parse(readFileSync(join(KIT, 'grafana-dashboard.json'), 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> }
    const exprs = dashboard.panels.flatMap(p => p.targets.map(x => x.expr))
    const named = new Set([...exprs, readFileSync(join(KIT, 'alerts.yml'), 'utf8')].flatMap(e => [...e.matchAll(/\b((?:yikatong|process|nodejs|node)_[a-z0-9_]+|up)\b(?=\s*[{[)]|\s*(?:==|>|<))/g)].map(m => m[1]!)))
    t.ok(named.size >= 10, `the kit names ${named.size} metrics`)
    for (const name of named) t.ok(served.has(name) || NODE_EXPORTER.has(name), `${name} exists`)
  })

  t.test('alert rules, their unit tests, scrape config and dashboard expressions', async t => {
    const rules = run(['check', 'rules', 'alerts.yml'])
    t.equal(rules.status, 0, rules.out)
    for (const alert of ['YikatongDeclineRateSpike', 'YikatongUnauthenticatedSpike', 'YikatongTapLatencyP99High', 'YikatongTapQueueDeep', 'YikatongCommitSlow', 'YikatongLedgerDiskSpaceLow']) {
      t.match(readFileSync(join(KIT, 'alerts.yml'), 'utf8'), `alert: ${alert}`)
    }
    const unit = run(['test', 'rules', 'alerts.test.yml'])
    t.equal(unit.status, 0, unit.out)
    const config = run(['check', 'config', 'prometheus.yml'])
    t.equal(config.status, 0, config.out)

    // promtool has no "parse this expression": as recording rules, check rules parses each one.
    const dir = mkdtempSync(join(tmpdir(), 'yikatong-promql-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const dashboard = JSON.parse(readFileSync(join(KIT, 'grafana-dashboard.json'), 'utf8')) as { panels: Array<{ title: string, targets: Array<{ expr: string }> }> }
    const exprs = dashboard.panels.flatMap(p => p.targets.map(x => x.expr.replaceAll('$job', 'yikatong')))
    writeFileSync(join(dir, 'dashboard-rules.yml'), 'groups:\n  - name: dashboard\n    rules:\n' +
      exprs.map((e, i) => `      - record: dashboard:expr_${i}\n        expr: ${JSON.stringify(e)}\n`).join(''))
    const parsed = spawnSync(PROMTOOL, ['check', 'rules', join(dir, 'dashboard-rules.yml')], { encoding: 'utf8' })
    t.equal(parsed.status, 0, `${exprs.length} dashboard expressions parse: ${parsed.stdout}${parsed.stderr}`)
    // And a broken one would not: the check can fail.
    writeFileSync(join(dir, 'broken.yml'), 'groups:\n  - name: x\n    rules:\n      - record: x:y\n        expr: "sum(rate(x[5m])"\n')
    t.not(spawnSync(PROMTOOL, ['check', 'rules', join(dir, 'broken.yml')]).status, 0, 'promtool rejects a broken expression')
    t.ok(execFileSync(PROMTOOL, ['--version'], { encoding: 'utf8' }).length > 0)
  })
}
