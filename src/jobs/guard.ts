import { BusyError, NotRunningError, TaskTimeLimitError, TimeoutError } from '../errors.js'

export interface WorkGuardOptions {
  /** Worker threads of the node's pool (0 when it has none). */
  workers: number
  /** Calls that may wait for a worker beyond those running. */
  maxQueue: number
  /** Hard limit on one task's run time on this node, in ms; undefined: none. */
  taskTimeLimit?: number
}

/**
 * The provider's side of reliable calls: admission (draining, a bounded
 * queue answered BUSY beyond it), time limits that actually stop the work
 * (by aborting the signal the worker pool runs under, which terminates the
 * worker thread), and tracking of the calls held, for a graceful drain.
 */
export class WorkGuard {
  draining = false
  /** Calls admitted and not finished. */
  private held = 0
  /** Calls admitted to the worker pool and not finished (running or queued). */
  private pooled = 0
  private idleWaiters: Array<() => void> = []

  constructor (readonly options: WorkGuardOptions) {}

  get holding (): number { return this.held }

  /** Admit a call, or throw a retryable refusal. Call `release` when it is done. */
  admit (pool: boolean): void {
    if (this.draining) throw new NotRunningError('this node is draining: it takes no new work', { draining: true })
    if (pool && this.pooled >= this.options.workers + this.options.maxQueue) {
      throw new BusyError(`this node is at capacity: ${this.pooled} calls for ${this.options.workers} workers (queue limit ${this.options.maxQueue})`, { queued: this.pooled })
    }
    this.held++
    if (pool) this.pooled++
  }

  release (pool: boolean): void {
    this.held--
    if (pool) this.pooled--
    if (this.held === 0) {
      const waiters = this.idleWaiters
      this.idleWaiters = []
      for (const wake of waiters) wake()
    }
  }

  /**
   * The signal a task runs under: the call's own (caller cancelled, caller
   * gone), the caller's timeout and the node's hard limit, whichever first.
   * Its reason is the typed error to answer with.
   */
  limit (callSignal: AbortSignal, callTimeout: number | undefined): { signal: AbortSignal, dispose: () => void } {
    const limit = this.options.taskTimeLimit
    const useLimit = limit !== undefined && (callTimeout === undefined || limit <= callTimeout)
    const ms = useLimit ? limit : callTimeout
    if (ms === undefined) return { signal: callSignal, dispose: () => {} }
    const controller = new AbortController()
    const onAbort = (): void => { controller.abort(callSignal.reason) }
    callSignal.addEventListener('abort', onAbort, { once: true })
    const timer = setTimeout(() => {
      controller.abort(useLimit
        ? new TaskTimeLimitError(`the task ran past this node's time limit of ${ms} ms and was stopped`)
        : new TimeoutError(`the task ran past the caller's timeout of ${ms} ms and was stopped`))
    }, ms)
    return {
      signal: controller.signal,
      dispose: () => { clearTimeout(timer); callSignal.removeEventListener('abort', onAbort) }
    }
  }

  /** Resolves true once no call is held, or false after `timeout` ms. */
  async idle (timeout: number): Promise<boolean> {
    if (this.held === 0) return true
    return new Promise((resolve) => {
      const wake = (): void => { clearTimeout(timer); resolve(true) }
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter(w => w !== wake)
        resolve(false)
      }, timeout)
      this.idleWaiters.push(wake)
    })
  }
}
