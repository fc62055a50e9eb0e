// Prometheus metrics (GET /metrics). One registry per app instance so tests can build many apps.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export interface Metrics {
  registry: Registry
  requests: Counter<'route' | 'status'>
  decisions: Counter<'scenario' | 'decision' | 'reason'>
  tapLatency: Histogram<'scenario'>
  batchSize: Histogram
  commitSeconds: Histogram
}

/** What the terminals' heartbeats say of their offline queues (src/service/terminal-heartbeats.ts). */
export interface OfflineSummary { offline: number, queuedTaps: number, oldestQueuedAgeSMax: number }

export function createMetrics (queueDepth: () => number, offline?: () => OfflineSummary): Metrics {
  const registry = new Registry()
  // Standard names (process_cpu_seconds_total, nodejs_eventloop_lag_seconds, ...) so stock Node.js
  // dashboards and alerts work unchanged; the service's own metrics carry the yikatong_ prefix.
  collectDefaultMetrics({ register: registry })
  const metrics: Metrics = {
    registry,
    requests: new Counter({ name: 'yikatong_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'status'], registers: [registry] }),
    decisions: new Counter({ name: 'yikatong_tap_decisions_total', help: 'Tap decisions by scenario, decision and reason', labelNames: ['scenario', 'decision', 'reason'], registers: [registry] }),
    tapLatency: new Histogram({
      name: 'yikatong_tap_latency_seconds',
      help: 'Time from request received to answer ready, durable taps included',
      labelNames: ['scenario'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry]
    }),
    batchSize: new Histogram({ name: 'yikatong_group_commit_batch_size', help: 'Taps per group commit', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256], registers: [registry] }),
    commitSeconds: new Histogram({ name: 'yikatong_group_commit_seconds', help: 'Time to decide and commit one batch (fsync included)', buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1], registers: [registry] })
  }
  new Gauge({ name: 'yikatong_tap_queue_depth', help: 'Taps waiting for the next group commit', registers: [registry], collect () { this.set(queueDepth()) } })
  if (offline !== undefined) {
    // Per-process: each process knows the heartbeats that reached it.
    new Gauge({ name: 'yikatong_terminals_offline', help: 'Terminals whose last heartbeat said offline', registers: [registry], collect () { this.set(offline().offline) } })
    new Gauge({ name: 'yikatong_offline_queued_taps', help: 'Taps queued in terminals, as their last heartbeats said', registers: [registry], collect () { this.set(offline().queuedTaps) } })
    new Gauge({ name: 'yikatong_offline_oldest_queued_seconds', help: 'Age of the oldest tap any terminal said it had queued, at its heartbeat', registers: [registry], collect () { this.set(offline().oldestQueuedAgeSMax) } })
  }
  return metrics
}
