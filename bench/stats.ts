/** Timing helpers shared by every benchmark group. All times are in microseconds unless named otherwise. */

export interface Latency {
  p50: number
  p99: number
  min: number
  n: number
}

export interface Throughput {
  callsPerSec: number
  calls: number
}

export function nowUs (): number {
  return Number(process.hrtime.bigint()) / 1000
}

export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}

export function summarize (samples: number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b)
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), min: sorted[0], n: sorted.length }
}

/** Sequential round trips: one call at a time, after `warmup` unmeasured calls. */
export async function measureLatency (call: () => Promise<unknown>, iterations: number, warmup = Math.ceil(iterations / 4)): Promise<Latency> {
  for (let i = 0; i < warmup; i++) await call()
  const samples: number[] = []
  for (let i = 0; i < iterations; i++) {
    const t0 = nowUs()
    await call()
    samples.push(nowUs() - t0)
  }
  return summarize(samples)
}

/**
 * Closed loop with `inFlight` calls outstanding at all times: each completion
 * starts the next call, until `durationMs` has passed (after `warmupMs`).
 */
export async function measureThroughput (call: () => Promise<unknown>, inFlight: number, durationMs: number, warmupMs = 300): Promise<Throughput> {
  const run = async (ms: number): Promise<Throughput> => {
    const start = nowUs()
    const end = start + ms * 1000
    let calls = 0
    const lane = async (): Promise<void> => {
      while (nowUs() < end) {
        await call()
        calls++
      }
    }
    await Promise.all(Array.from({ length: inFlight }, lane))
    const elapsed = (nowUs() - start) / 1e6
    return { callsPerSec: calls / elapsed, calls }
  }
  await run(warmupMs)
  return run(durationMs)
}

/** Time `fn` `runs` times, one after another; returns each wall time in ms. */
export async function repeatMs (runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = nowUs()
    await fn()
    times.push((nowUs() - t0) / 1000)
  }
  return times
}

export function median (values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50)
}
