import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { CALL_DURATION_BUCKETS } from '../constants.js'
import type { CallObserver } from '../events/activity.js'
import type { JobState } from '../events/types.js'

/** What the gauges read at scrape time: nothing is counted on the hot path for them. */
export interface MetricsHost {
  /** Calls executing on workers now, and waiting for one. */
  load: () => { running: number, queued: number, workers: number }
  /** Connected peers whose registry record is known. */
  peers: () => number
}

/**
 * Retry reasons become a label: only codes from this set are kept as they
 * are, so a peer answering with made-up error codes cannot grow the label
 * set without bound (Prometheus: no high-cardinality labels).
 */
const RETRY_REASONS = new Set(['BUSY', 'NOT_RUNNING', 'PEER_GONE', 'RATE_LIMITED', 'TIMEOUT'])

/**
 * mesh's own Prometheus metrics, in a registry of their own (never
 * prom-client's global one, which belongs to the app embedding mesh).
 * Prometheus conventions: prefix `mesh_`, base units (seconds), `_total`
 * counters, and labels that are bounded sets: task names this node serves,
 * outcomes, retry reasons. Never a job id.
 */
export class MeshMetrics implements CallObserver {
  private readonly calls: Counter<'task' | 'outcome'>
  private readonly duration: Histogram<'task'>
  private readonly inFlight: Gauge<'task'>
  private readonly steals: Counter
  private readonly retries: Counter<'reason'>
  private readonly leases: Counter
  // prom-client hashes the label values on every inc(): children are looked up once per task.
  private readonly callChildren = new Map<string, ReturnType<Counter<'task' | 'outcome'>['labels']>>()
  private readonly durationChildren = new Map<string, ReturnType<Histogram<'task'>['labels']>>()
  private readonly inFlightChildren = new Map<string, ReturnType<Gauge<'task'>['labels']>>()

  constructor (host: MetricsHost, readonly registry: Registry = new Registry()) {
    const registers = [this.registry]
    this.calls = new Counter({ name: 'mesh_calls_total', help: 'Calls this node ran, by task and outcome (succeeded, failed, cancelled)', labelNames: ['task', 'outcome'], registers })
    this.duration = new Histogram({ name: 'mesh_call_duration_seconds', help: 'Run time of the calls this node ran, by task', labelNames: ['task'], buckets: CALL_DURATION_BUCKETS, registers })
    this.inFlight = new Gauge({ name: 'mesh_calls_in_flight', help: 'Calls this node is running now, by task', labelNames: ['task'], registers })
    this.steals = new Counter({ name: 'mesh_steals_total', help: 'Chunk batches idle peers stole from split jobs this node owns', registers })
    this.retries = new Counter({ name: 'mesh_retries_total', help: 'Re-dispatches of jobs this node submitted, by the failure that caused them', labelNames: ['reason'], registers })
    this.leases = new Counter({ name: 'mesh_leases_expired_total', help: 'RPC channel leases that lapsed: a peer went silent while this node waited on it', registers })
    new Gauge({ name: 'mesh_queue_depth', help: 'Calls waiting here for a worker thread', registers, collect () { this.set(host.load().queued) } })
    new Gauge({ name: 'mesh_workers_busy', help: 'Worker threads running a call now', registers, collect () { this.set(host.load().running) } })
    new Gauge({ name: 'mesh_workers', help: 'Worker threads of this node', registers, collect () { this.set(host.load().workers) } })
    new Gauge({ name: 'mesh_peers', help: 'Peers whose registry record this node holds', registers, collect () { this.set(host.peers()) } })
  }

  started (task: string): void {
    let child = this.inFlightChildren.get(task)
    if (child === undefined) {
      child = this.inFlight.labels(task)
      this.inFlightChildren.set(task, child)
    }
    child.inc()
  }

  ended (task: string, outcome: JobState, seconds: number): void {
    this.inFlightChildren.get(task)?.dec()
    const key = task + '\0' + outcome
    let calls = this.callChildren.get(key)
    if (calls === undefined) {
      calls = this.calls.labels(task, outcome)
      this.callChildren.set(key, calls)
    }
    calls.inc()
    let duration = this.durationChildren.get(task)
    if (duration === undefined) {
      duration = this.duration.labels(task)
      this.durationChildren.set(task, duration)
    }
    duration.observe(seconds)
  }

  stole (count: number): void {
    this.steals.inc(count)
  }

  retried (_task: string, reason: string): void {
    this.retries.inc({ reason: RETRY_REASONS.has(reason) ? reason.toLowerCase() : 'other' })
  }

  leaseExpired (): void {
    this.leases.inc()
  }

  /** The Prometheus text exposition of mesh's and (when given to libp2p) libp2p's metrics. */
  async text (): Promise<string> {
    return this.registry.metrics()
  }

  get contentType (): string {
    return this.registry.contentType
  }
}
