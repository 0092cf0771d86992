import { DEFAULT_PRIORITY, MAX_PRIORITY, MIN_PRIORITY } from '../constants.js'
import { BadArgumentError, CancelledError, ConfigError, MeshError } from '../errors.js'

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000 }

/**
 * A task's rate limit, Celery's form: `'100/m'` (per second, minute or hour;
 * a bare number is per second). Returns the interval between starts, in ms.
 */
export function parseRate (spec: unknown, task: string): number {
  const m = typeof spec === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*([smh]))?\s*$/.exec(spec) : null
  const count = m !== null ? Number(m[1]) : NaN
  if (m === null || !(count > 0)) throw new ConfigError(`task "${task}": rateLimit must look like "100/m", "10/s" or "5/h", got ${JSON.stringify(spec)}`)
  return UNIT_MS[m[2] ?? 's'] / count
}

/** A call's priority as it arrived: 0..9, higher first; absent means DEFAULT_PRIORITY. */
export function checkPriority (value: unknown): number {
  if (value === undefined || value === null) return DEFAULT_PRIORITY
  if (!Number.isInteger(value) || (value as number) < MIN_PRIORITY || (value as number) > MAX_PRIORITY) {
    throw new BadArgumentError(`priority must be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}, got ${String(value)}`)
  }
  return value as number
}

interface Waiter { priority: number, seq: number, resolve: () => void, reject: (err: Error) => void, signal: AbortSignal, onAbort: () => void }

/** Waiters, highest priority first, first come first within one priority. */
class WaitQueue {
  private readonly items: Waiter[] = []
  get size (): number { return this.items.length }
  push (w: Waiter): void {
    let lo = 0
    let hi = this.items.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      const x = this.items[mid]
      if (x.priority > w.priority || (x.priority === w.priority && x.seq < w.seq)) lo = mid + 1
      else hi = mid
    }
    this.items.splice(lo, 0, w)
  }

  shift (): Waiter | undefined { return this.items.shift() }
  remove (w: Waiter): boolean {
    const i = this.items.indexOf(w)
    if (i >= 0) this.items.splice(i, 1)
    return i >= 0
  }
}

/**
 * The provider's queue: calls wait here, highest priority first, for a
 * rate-limit slot of their task (Celery's semantics: per node, a token bucket
 * of one, so starts are spaced evenly; calls are delayed, never dropped) and
 * then, for pool tasks, for a free worker thread. Admission (BUSY beyond the
 * queue limit) happens before, in the WorkGuard; the worker pool then never
 * queues, so the order here is the order work starts.
 */
export class TaskGate {
  private running = 0
  private seq = 0
  private readonly slots = new WaitQueue()
  private readonly rates = new Map<string, { interval: number, nextAt: number, queue: WaitQueue, timer?: NodeJS.Timeout }>()

  constructor (private readonly workers: number, rateLimits: Map<string, string>) {
    for (const [task, spec] of rateLimits) this.rates.set(task, { interval: parseRate(spec, task), nextAt: 0, queue: new WaitQueue() })
  }

  /** Calls waiting here (for a rate slot or a worker). */
  get waiting (): number {
    let n = this.slots.size
    for (const r of this.rates.values()) n += r.queue.size
    return n
  }

  /**
   * Wait for the call's turn. Undefined when it may start at once (no
   * promise on the hot path); otherwise a promise that resolves at its turn
   * or rejects when the call's signal aborts (asked for only then: a signal
   * per call is measurable on the round trip). Call `leave(pooled)` when the call is done.
   */
  enter (task: string, priority: unknown, pooled: boolean, signalOf: () => AbortSignal): Promise<void> | undefined {
    const p = checkPriority(priority)
    const rate = this.rates.get(task)
    if (rate === undefined || (rate.queue.size === 0 && performance.now() >= rate.nextAt)) {
      if (rate !== undefined) rate.nextAt = performance.now() + rate.interval
      return pooled ? this.takeSlot(p, signalOf) : undefined
    }
    return this.wait(rate.queue, p, signalOf(), () => { this.armRate(rate) }).then(async () => pooled ? this.takeSlot(p, signalOf) : undefined)
  }

  leave (pooled: boolean): void {
    if (!pooled) return
    this.running--
    const next = this.slots.shift()
    if (next !== undefined) { this.running++; this.start(next) }
  }

  private takeSlot (priority: number, signalOf: () => AbortSignal): Promise<void> | undefined {
    if (this.running < this.workers && this.slots.size === 0) { this.running++; return undefined }
    return this.wait(this.slots, priority, signalOf())
  }

  private async wait (queue: WaitQueue, priority: number, signal: AbortSignal, queued?: () => void): Promise<void> {
    if (signal.aborted) throw new CancelledError('the call was cancelled while queued')
    await new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        priority,
        seq: this.seq++,
        resolve,
        reject,
        signal,
        onAbort: () => { if (queue.remove(w)) reject(signal.reason instanceof MeshError ? signal.reason : new CancelledError('the call was cancelled while queued')) }
      }
      signal.addEventListener('abort', w.onAbort, { once: true })
      queue.push(w)
      queued?.()
    })
  }

  private start (w: Waiter): void {
    w.signal.removeEventListener('abort', w.onAbort)
    w.resolve()
  }

  /** Release a task's rate-limited waiters one per interval, highest priority first. */
  private armRate (rate: { interval: number, nextAt: number, queue: WaitQueue, timer?: NodeJS.Timeout }): void {
    if (rate.timer !== undefined || rate.queue.size === 0) return
    rate.timer = setTimeout(() => {
      rate.timer = undefined
      const next = rate.queue.shift()
      if (next !== undefined) {
        rate.nextAt = performance.now() + rate.interval
        this.start(next)
      }
      this.armRate(rate)
    }, Math.max(0, rate.nextAt - performance.now()))
  }
}
