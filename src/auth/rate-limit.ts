// Per-terminal token bucket: a terminal over its request rate gets 429 RATE_LIMITED.
// A gate sees one card every ~1–2 s; the default (50/s, burst 100) only stops a runaway device.

export interface RateLimitOptions { ratePerSecond: number, burst: number }

interface Bucket { tokens: number, updatedMs: number }

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>()
  private readonly o: RateLimitOptions
  constructor (options: RateLimitOptions) { this.o = options }

  /** Takes one token for `key`; false when the bucket is empty. Keys are registered terminals only, so the map is bounded. */
  take (key: string, nowMs: number): boolean {
    const bucket = this.buckets.get(key) ?? { tokens: this.o.burst, updatedMs: nowMs }
    const refilled = Math.min(this.o.burst, bucket.tokens + (nowMs - bucket.updatedMs) * this.o.ratePerSecond / 1000)
    bucket.updatedMs = nowMs
    bucket.tokens = refilled >= 1 ? refilled - 1 : refilled
    this.buckets.set(key, bucket)
    return refilled >= 1
  }
}
