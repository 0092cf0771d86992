/**
 * A token bucket per peer: each call takes one token; tokens come back at
 * `perSecond`, up to `burst`. Buckets of peers that have been quiet long
 * enough to be full again are dropped, so the map stays as small as the set
 * of recently active peers.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number, at: number }>()
  private lastSweep = 0

  constructor (readonly perSecond: number, readonly burst: number, private readonly now: () => number = performance.now.bind(performance)) {}

  /** Take a token for `peer`; false if its bucket is empty (the call is refused). */
  take (peer: string): boolean {
    const now = this.now()
    this.sweep(now)
    const bucket = this.buckets.get(peer)
    if (bucket === undefined) {
      this.buckets.set(peer, { tokens: this.burst - 1, at: now })
      return this.burst >= 1
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.perSecond / 1000)
    bucket.at = now
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  private sweep (now: number): void {
    const fullAfter = this.burst / this.perSecond * 1000
    if (now - this.lastSweep < Math.max(1000, fullAfter)) return
    this.lastSweep = now
    for (const [peer, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.perSecond / 1000 >= this.burst) this.buckets.delete(peer)
    }
  }
}
