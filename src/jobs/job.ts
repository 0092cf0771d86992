import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { DEFAULT_CALL_TIMEOUT_MS, DEFAULT_RETRIES, RETRY_BACKOFF_BASE_MS, RETRY_BACKOFF_MAX_MS } from '../constants.js'
import { CancelledError, ConfigError, MeshError, TimeoutError, retryKind } from '../errors.js'

/**
 * PENDING: created, no provider chosen yet. STARTED: sent to a provider (it
 * may still be queued there). PROGRESS: the provider reported progress.
 * RETRY: an attempt failed in a retryable way; the job is being re-dispatched.
 * SUCCESS, FAILURE, CANCELLED: final.
 */
export type JobStatus = 'PENDING' | 'STARTED' | 'PROGRESS' | 'SUCCESS' | 'FAILURE' | 'RETRY' | 'CANCELLED'

export interface SubmitOptions {
  /** Total time for the job over all attempts, in ms; also sent to the provider, which stops the work after it. */
  timeout?: number
  /** Re-dispatches after retryable failures; default DEFAULT_RETRIES (3). 0: one attempt only. */
  retries?: number
  /** Aborting it cancels the job, as `job.cancel()` does. */
  signal?: AbortSignal
  /**
   * Whether the task may run twice. By default the provider's registry
   * record says (a task definition's `idempotent`; the built-ins are). A
   * call that was refused (BUSY, draining) never started and is always
   * retried; one whose provider died or hung mid-call is retried only if
   * idempotent.
   */
  idempotent?: boolean
  onProgress?: (data: unknown) => void
  /**
   * Start no sooner than `countdown` ms from now, or at `eta`. Held in this
   * process's memory until then (not durable: the job store is issue 13);
   * the timeout counts from the start.
   */
  countdown?: number
  eta?: Date | number
  /** 0..9, higher first in the provider's queue; default DEFAULT_PRIORITY. */
  priority?: number
  /** See MeshCallOptions.unknownAfter. */
  unknownAfter?: number
}

/** What a Job needs from its node: kept narrow so jobs can drive other units of work (stolen chunks) later. */
export interface JobHost {
  /** The best provider of `task` not in `avoid`, if any is known now. */
  choose: (task: string, avoid: ReadonlySet<string>) => string | undefined
  /** Wait for any provider of `task`. */
  waitForProvider: (task: string, options: { timeout: number, signal: AbortSignal, unknownAfter?: number }) => Promise<string>
  /**
   * One attempt on one provider. A remote attempt registers its abandon
   * function through `cancelHook`; a local one takes `signal()` (created on
   * demand: an AbortSignal per call is measurable on the round trip).
   */
  run: (provider: string, task: string, args: unknown[], options: AttemptOptions) => Promise<unknown>
  /** Whether `provider` advertises `task` as safe to run twice. */
  idempotent: (task: string, provider: string) => boolean
}

export interface AttemptOptions {
  timeout: number
  /** Set on re-dispatches only: the job id, so a provider can tell a repeat. */
  job?: string
  onProgress: (data: unknown) => void
  cancelHook: (abandon: () => void) => void
  signal: () => AbortSignal
  priority?: number
}

export interface JobEvents {
  status: [status: JobStatus, error?: Error]
  progress: [data: unknown]
}

/**
 * A submitted call: `node.submit(task, args, options)`. It picks a provider,
 * re-dispatches on retryable failures (another provider first, backoff when
 * none is free) and settles exactly once, whatever late answers arrive from
 * abandoned attempts: each attempt has its own request id, and an abandoned
 * attempt's channel entry is gone before the next one starts.
 */
export class Job<T = unknown> extends EventEmitter<JobEvents> {
  /** Stable over every attempt; sent to providers in the request meta. Made when first read: most calls never need it. */
  get id (): string { return (this.#id ??= randomUUID()) }
  #id?: string
  status: JobStatus = 'PENDING'
  /** Attempts made so far, and the provider of the latest. */
  attempts = 0
  provider?: string
  /** Every provider tried, in order. */
  readonly providers: string[] = []
  private controller?: AbortController
  private cancelled = false
  private abandonAttempt?: () => void
  private readonly outcome: Promise<T>

  constructor (private readonly host: JobHost, readonly task: string, readonly args: unknown[], private readonly options: SubmitOptions = {}) {
    super()
    const retries = options.retries ?? DEFAULT_RETRIES
    if (!Number.isSafeInteger(retries) || retries < 0) throw new ConfigError(`retries must be an integer ≥ 0, got ${String(retries)}`)
    const timeout = options.timeout ?? DEFAULT_CALL_TIMEOUT_MS
    if (!(timeout > 0)) throw new ConfigError(`timeout must be > 0 ms, got ${String(timeout)}`)
    const external = options.signal
    const onAbort = (): void => { this.abort() }
    if (external?.aborted === true) this.cancelled = true
    else external?.addEventListener('abort', onAbort, { once: true })
    const delay = startDelay(options)
    // Start on the next microtask (or after the countdown), so listeners attached right after submit() see every status.
    this.outcome = delay > 0
      ? sleep(delay, this.signal()).then(async () => await this.drive(retries, timeout))
      : Promise.resolve().then(async () => await this.drive(retries, timeout))
    // A long-lived signal shared by many jobs must not collect a listener per job.
    if (external !== undefined) this.outcome.then(() => { external.removeEventListener('abort', onAbort) }, () => { external.removeEventListener('abort', onAbort) })
    this.outcome.catch(() => {}) // observed through result()
  }

  /** The result; `timeout` bounds this wait only (the job goes on; cancel() stops it). */
  async result (options: { timeout?: number } = {}): Promise<T> {
    if (options.timeout === undefined) return this.outcome
    let timer: NodeJS.Timeout | undefined
    const waited = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new TimeoutError(`job ${this.id} (${this.task}) not done within ${options.timeout} ms`)) }, options.timeout)
    })
    try {
      return await Promise.race([this.outcome, waited])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Stop the job here and on its provider (which terminates the worker running it). Resolves once settled. */
  async cancel (): Promise<void> {
    this.abort()
    await this.outcome.catch(() => {})
  }

  private abort (): void {
    if (this.cancelled) return
    this.cancelled = true
    this.controller?.abort()
    this.abandonAttempt?.()
  }

  /** Aborted on cancel; made only when something needs a real signal (waiting, backoff, a local run). */
  private signal (): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      if (this.cancelled) this.controller.abort()
    }
    return this.controller.signal
  }

  get done (): boolean {
    return this.status === 'SUCCESS' || this.status === 'FAILURE' || this.status === 'CANCELLED'
  }

  private setStatus (status: JobStatus, error?: Error): void {
    if (this.done) return
    this.status = status
    this.emit('status', status, error)
  }

  private async drive (retries: number, timeout: number): Promise<T> {
    const deadline = performance.now() + timeout
    const avoid = new Set<string>()
    try {
      for (let attempt = 0; ; attempt++) {
        if (this.cancelled) throw new CancelledError('the call was cancelled')
        const remaining = Math.ceil(deadline - performance.now())
        if (remaining <= 0) throw new TimeoutError(`${this.task} did not finish within ${timeout} ms (${this.attempts} attempts)`)
        const provider = this.host.choose(this.task, avoid) ??
          await this.host.waitForProvider(this.task, { timeout: remaining, signal: this.signal(), unknownAfter: this.options.unknownAfter })
        this.provider = provider
        this.providers.push(provider)
        // Asked now: once the provider is gone, so is its registry record.
        const idempotent = this.options.idempotent ?? this.host.idempotent(this.task, provider)
        this.attempts++
        this.setStatus('STARTED')
        try {
          if (this.cancelled) throw new CancelledError('the call was cancelled')
          const value = await this.host.run(provider, this.task, this.args, {
            timeout: Math.max(1, Math.ceil(deadline - performance.now())),
            job: attempt > 0 ? this.id : undefined,
            priority: this.options.priority,
            signal: () => this.signal(),
            cancelHook: (abandon) => { if (this.cancelled) abandon(); else this.abandonAttempt = abandon },
            onProgress: (data) => {
              this.setStatus('PROGRESS')
              this.emit('progress', data)
              this.options.onProgress?.(data)
            }
          }) as T
          this.abandonAttempt = undefined
          if (this.cancelled) throw new CancelledError('the call was cancelled')
          this.setStatus('SUCCESS')
          return value
        } catch (err: any) {
          if (this.cancelled) throw new CancelledError('the call was cancelled')
          // Retried when the error says so (err.retryable, src/errors.ts); a
          // call that used up its whole deadline has nothing left to retry with.
          const retry = retryKind(err)
          if (retry === false || attempt >= retries || deadline - performance.now() <= 0) throw err
          if (retry === 'lost' && !idempotent) {
            throw new MeshError(err.code, `${err.message}; "${this.task}" is not idempotent, so it is not re-run (it may or may not have run)`, { retryable: false, data: err.data })
          }
          avoid.add(provider)
          this.setStatus('RETRY', err)
          // Another provider is free: go there at once. None: back off, then try anyone again.
          if (this.host.choose(this.task, avoid) === undefined) {
            avoid.clear()
            const cap = Math.min(RETRY_BACKOFF_MAX_MS, RETRY_BACKOFF_BASE_MS * 2 ** attempt)
            await sleep(Math.min(Math.random() * cap, deadline - performance.now()), this.signal())
          }
        }
      }
    } catch (err: any) {
      this.setStatus(this.cancelled ? 'CANCELLED' : 'FAILURE', err)
      throw err
    }
  }
}

/** Milliseconds until a job may start, from its countdown or eta. */
function startDelay (options: SubmitOptions): number {
  if (options.countdown !== undefined && options.eta !== undefined) throw new ConfigError('give countdown or eta, not both')
  if (options.countdown !== undefined) {
    if (!(options.countdown >= 0) || !Number.isFinite(options.countdown)) throw new ConfigError(`countdown must be a number of ms ≥ 0, got ${String(options.countdown)}`)
    return options.countdown
  }
  if (options.eta === undefined) return 0
  const at = options.eta instanceof Date ? options.eta.getTime() : options.eta
  if (!Number.isFinite(at)) throw new ConfigError(`eta must be a Date or epoch ms, got ${String(options.eta)}`)
  return Math.max(0, at - Date.now())
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms)
    function done (): void { clearTimeout(timer); signal.removeEventListener('abort', done); resolve() }
    signal.addEventListener('abort', done, { once: true })
  })
}
