import { RECENT_JOBS } from '../constants.js'
import { CancelledError, MeshError } from '../errors.js'
import type { IncomingCall } from '../rpc/channel.js'
import { shortArgs } from './short.js'
import type { ActivitySnapshot, ActivityTotals, ChunkShare, JobRecord, JobState, TaskEvent, TaskEventType } from './types.js'

/** What metrics (src/metrics) count, called on the hot path: keep implementations cheap. */
export interface CallObserver {
  started: (task: string) => void
  ended: (task: string, outcome: JobState, seconds: number) => void
  stole: (count: number) => void
  retried: (task: string, reason: string) => void
}

/** The caller-side job as the activity log sees it (src/jobs/job.ts). */
export interface ObservedJob {
  readonly id: string
  readonly task: string
  readonly args: unknown[]
  readonly attempts: number
  readonly provider?: string
  on: (event: 'status', listener: (status: string, error?: Error) => void) => unknown
}

interface Running {
  id: string
  task: string
  from: string
  started: number
  t0: number
  args: unknown[]
  controller?: AbortController
  cancelled?: Error
  unlink?: () => void
  chunks?: ChunkShare[]
  done?: number
  total?: number
  steals: number
}

/**
 * This node's task activity: the calls it runs now, the last RECENT_JOBS it
 * finished, and its totals; every change is a TaskEvent for local listeners
 * (the `@mesh/events` protocol forwards them to subscribers elsewhere). It
 * wraps each call it runs, so a call can be cancelled here (the dashboard)
 * and a split job's progress shows which peers ran its chunks.
 */
export class Activity {
  private readonly running = new Map<string, Running>()
  private readonly recent: JobRecord[] = []
  private recentNext = 0
  private readonly listeners = new Set<(event: TaskEvent) => void>()
  private readonly prefix: string
  private seq = 0
  readonly totals: ActivityTotals = { served: 0, failed: 0, steals: 0 }
  /** Metrics, when the node has them. */
  observer?: CallObserver

  constructor (readonly peerId: string) {
    this.prefix = peerId.slice(-6) + '-'
  }

  /** Listen to every event of this node; returns the unsubscribe function. */
  subscribe (listener: (event: TaskEvent) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  get subscribers (): number { return this.listeners.size }

  /**
   * A call this node starts running for `from`: returns the call to run in
   * its place (same arguments; its signal also aborts on cancel(id)) and the
   * function to call when it settles.
   */
  begin (task: string, call: IncomingCall, from: string): { call: IncomingCall, end: (err?: unknown) => void } {
    const id = call.meta?.job ?? this.prefix + (this.seq++).toString(36)
    const run: Running = { id, task, from, started: Date.now(), t0: performance.now(), args: call.args, steals: 0 }
    this.running.set(id, run)
    this.observer?.started(task)
    if (this.listeners.size > 0) this.emit('started', run)
    const tracked = new TrackedCall(this, run, call)
    return { call: tracked, end: (err) => { this.end(run, err) } }
  }

  /** Cancel a call this node runs; false if it is not running here. */
  cancel (id: string, reason = 'cancelled from the dashboard'): boolean {
    const run = this.running.get(id)
    if (run === undefined) return false
    if (run.cancelled === undefined) {
      run.cancelled = new CancelledError(reason)
      run.controller?.abort(run.cancelled)
    }
    return true
  }

  /** Events of jobs this node submits (as a caller): sent, retried, cancelled. */
  observeJob (job: ObservedJob): void {
    if (this.listeners.size === 0 && this.observer === undefined) return
    job.on('status', (status, error) => {
      const type: TaskEventType | undefined = status === 'STARTED' ? (job.attempts === 1 ? 'sent' : undefined) : status === 'RETRY' ? 'retried' : status === 'CANCELLED' ? 'cancelled' : undefined
      if (type === undefined) return
      if (type === 'retried') this.observer?.retried(job.task, error instanceof MeshError ? error.code : 'ERROR')
      if (this.listeners.size === 0) return
      const event: TaskEvent = { type, id: job.id, task: job.task, node: this.peerId, peer: job.provider ?? '', from: this.peerId, time: Date.now(), args: shortArgs(job.args) }
      if (error !== undefined) event.error = errorOf(error)
      this.dispatch(event)
    })
  }

  /** Jobs running here now, and the last ones finished (newest last). */
  snapshot (): ActivitySnapshot {
    const recent = this.recent.length < RECENT_JOBS ? [...this.recent] : [...this.recent.slice(this.recentNext), ...this.recent.slice(0, this.recentNext)]
    return { node: this.peerId, running: [...this.running.values()].map(r => this.record(r, 'running')), recent, totals: { ...this.totals } }
  }

  /** @internal (TrackedCall) */
  progress (run: Running, data: unknown): void {
    if (!isJobProgress(data)) return
    run.chunks = data.peers.map(p => ({ peer: String(p.peer), name: String(p.name), chunks: Number(p.chunks), steals: Number(p.steals) }))
    run.done = data.done
    run.total = data.total
    const steals = run.chunks.reduce((n, p) => n + p.steals, 0)
    if (steals > run.steals) {
      this.totals.steals += steals - run.steals
      this.observer?.stole(steals - run.steals)
      run.steals = steals
    }
    if (this.listeners.size > 0) this.emit('progress', run)
  }

  private end (run: Running, err?: unknown): void {
    this.running.delete(run.id)
    run.unlink?.()
    const ms = performance.now() - run.t0
    const cancelled = run.cancelled !== undefined || (err instanceof MeshError && err.code === 'CANCELLED')
    const state: JobState = err === undefined ? 'succeeded' : cancelled ? 'cancelled' : 'failed'
    this.totals.served++
    if (state === 'failed') this.totals.failed++
    this.observer?.ended(run.task, state, ms / 1000)
    const record = this.record(run, state, ms, err)
    if (this.recent.length < RECENT_JOBS) this.recent.push(record)
    else this.recent[this.recentNext] = record
    this.recentNext = (this.recentNext + 1) % RECENT_JOBS
    if (this.listeners.size > 0) this.dispatch({ ...eventOf(record, this.peerId), type: state })
  }

  private record (run: Running, state: JobState, ms?: number, err?: unknown): JobRecord {
    const record: JobRecord = { id: run.id, task: run.task, state, peer: this.peerId, from: run.from, started: run.started, args: shortArgs(run.args) }
    record.ms = ms ?? performance.now() - run.t0
    if (err !== undefined) record.error = errorOf(err)
    if (run.chunks !== undefined) {
      record.chunks = run.chunks
      record.done = run.done
      record.total = run.total
    }
    return record
  }

  private emit (type: TaskEventType, run: Running): void {
    this.dispatch({ ...eventOf(this.record(run, 'running'), this.peerId), type })
  }

  private dispatch (event: TaskEvent): void {
    for (const listener of this.listeners) {
      try { listener(event) } catch { /* a listener's failure is its own */ }
    }
  }
}

/**
 * The call as the task runs it: the same arguments; progress is noted on the
 * way (split jobs' chunks and steals); the signal, made only when read (pool
 * tasks: an AbortSignal per inline call is measurable), also aborts on
 * Activity.cancel(). A class, not an object literal with a getter, so every
 * call has the same shape.
 */
class TrackedCall implements IncomingCall {
  readonly task: string
  readonly args: unknown[]
  readonly meta: IncomingCall['meta']

  constructor (private readonly activity: Activity, private readonly run: Running, private readonly call: IncomingCall) {
    this.task = call.task
    this.args = call.args
    this.meta = call.meta
  }

  get signal (): AbortSignal {
    const { run, call } = this
    if (run.controller === undefined) {
      const controller = new AbortController()
      run.controller = controller
      if (run.cancelled !== undefined) controller.abort(run.cancelled)
      else if (call.signal.aborted) controller.abort(call.signal.reason)
      else {
        const onAbort = (): void => { controller.abort(call.signal.reason) }
        call.signal.addEventListener('abort', onAbort, { once: true })
        run.unlink = () => { call.signal.removeEventListener('abort', onAbort) }
      }
    }
    return run.controller.signal
  }

  progress (data: unknown): void {
    this.activity.progress(this.run, data)
    this.call.progress(data)
  }
}

function eventOf (r: JobRecord, node: string): Omit<TaskEvent, 'type'> {
  const event: Omit<TaskEvent, 'type'> = { id: r.id, task: r.task, node, peer: r.peer, from: r.from, time: Date.now(), ms: r.ms, args: r.args }
  if (r.error !== undefined) event.error = r.error
  if (r.chunks !== undefined) { event.chunks = r.chunks; event.done = r.done; event.total = r.total }
  return event
}

function errorOf (err: unknown): { code: string, message: string } {
  if (err instanceof MeshError) return { code: err.code, message: err.message }
  return { code: 'TASK_FAILED', message: err instanceof Error ? err.message : String(err) }
}

function isJobProgress (d: unknown): d is { done: number, total: number, peers: Array<Record<string, unknown>> } {
  return d != null && typeof d === 'object' && Array.isArray((d as { peers?: unknown }).peers) &&
    typeof (d as { done?: unknown }).done === 'number' && typeof (d as { total?: unknown }).total === 'number'
}
