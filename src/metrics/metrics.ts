import { Registry } from 'prom-client'
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

type Sample = { labels?: Record<string, string | number>, value: number, metricName?: string }

/**
 * A metric read at scrape time from plain counters: prom-client's own
 * inc()/observe() hash and validate the labels on every call (its label
 * "children" do too), which measured a few % of an `add` round trip.
 */
function scraped (registry: Registry, name: string, help: string, type: 'counter' | 'gauge' | 'histogram', values: () => Sample[]): void {
  registry.registerMetric({ name, help, type, get: async () => ({ name, help, type, aggregator: 'sum', values: values() }) } as any)
}

interface TaskCounters {
  inFlight: number
  outcomes: Record<JobState, number>
  /** Observations per bucket of CALL_DURATION_BUCKETS; the last is above them all. */
  buckets: number[]
  sum: number
  count: number
}

/**
 * mesh's own Prometheus metrics, in a registry of its own (never
 * prom-client's global one, which belongs to the app embedding mesh).
 * Prometheus conventions: prefix `mesh_`, base units (seconds), `_total`
 * counters, and labels that are bounded sets: task names this node serves,
 * outcomes, retry reasons. Never a job id. The hot path only adds to plain
 * numbers; the registry reads them when scraped.
 */
export class MeshMetrics implements CallObserver {
  private readonly tasks = new Map<string, TaskCounters>()
  private steals = 0
  private leases = 0
  private readonly retries = new Map<string, number>()

  constructor (host: MetricsHost, readonly registry: Registry = new Registry()) {
    const perTask = (pick: (name: string, t: TaskCounters) => Sample[]): () => Sample[] => () => [...this.tasks].flatMap(([name, t]) => pick(name, t))
    scraped(registry, 'mesh_calls_total', 'Calls this node ran, by task and outcome (succeeded, failed, cancelled)', 'counter',
      perTask((task, t) => Object.entries(t.outcomes).filter(([, v]) => v > 0).map(([outcome, value]) => ({ labels: { task, outcome }, value }))))
    scraped(registry, 'mesh_call_duration_seconds', 'Run time of the calls this node ran, by task', 'histogram', perTask((task, t) => {
      let acc = 0
      const out: Sample[] = CALL_DURATION_BUCKETS.map((le, i) => { acc += t.buckets[i]; return { labels: { le, task }, value: acc, metricName: 'mesh_call_duration_seconds_bucket' } })
      out.push({ labels: { le: '+Inf', task }, value: t.count, metricName: 'mesh_call_duration_seconds_bucket' })
      out.push({ labels: { task }, value: t.sum, metricName: 'mesh_call_duration_seconds_sum' }, { labels: { task }, value: t.count, metricName: 'mesh_call_duration_seconds_count' })
      return out
    }))
    scraped(registry, 'mesh_calls_in_flight', 'Calls this node is running now, by task', 'gauge', perTask((task, t) => [{ labels: { task }, value: t.inFlight }]))
    scraped(registry, 'mesh_steals_total', 'Chunk batches idle peers stole from split jobs this node owns', 'counter', () => [{ value: this.steals }])
    scraped(registry, 'mesh_retries_total', 'Re-dispatches of jobs this node submitted, by the failure that caused them', 'counter', () => [...this.retries].map(([reason, value]) => ({ labels: { reason }, value })))
    scraped(registry, 'mesh_leases_expired_total', 'RPC channel leases that lapsed: a peer went silent while this node waited on it', 'counter', () => [{ value: this.leases }])
    scraped(registry, 'mesh_queue_depth', 'Calls waiting here for a worker thread', 'gauge', () => [{ value: host.load().queued }])
    scraped(registry, 'mesh_workers_busy', 'Worker threads running a call now', 'gauge', () => [{ value: host.load().running }])
    scraped(registry, 'mesh_workers', 'Worker threads of this node', 'gauge', () => [{ value: host.load().workers }])
    scraped(registry, 'mesh_peers', 'Peers whose registry record this node holds', 'gauge', () => [{ value: host.peers() }])
  }

  private of (task: string): TaskCounters {
    let t = this.tasks.get(task)
    if (t === undefined) {
      t = { inFlight: 0, outcomes: { running: 0, succeeded: 0, failed: 0, cancelled: 0 }, buckets: new Array<number>(CALL_DURATION_BUCKETS.length + 1).fill(0), sum: 0, count: 0 }
      this.tasks.set(task, t)
    }
    return t
  }

  started (task: string): void {
    this.of(task).inFlight++
  }

  ended (task: string, outcome: JobState, seconds: number): void {
    const t = this.of(task)
    t.inFlight--
    t.outcomes[outcome]++
    t.sum += seconds
    t.count++
    let i = 0
    while (i < CALL_DURATION_BUCKETS.length && seconds > CALL_DURATION_BUCKETS[i]) i++
    t.buckets[i]++
  }

  stole (count: number): void {
    this.steals += count
  }

  retried (_task: string, reason: string): void {
    const key = RETRY_REASONS.has(reason) ? reason.toLowerCase() : 'other'
    this.retries.set(key, (this.retries.get(key) ?? 0) + 1)
  }

  leaseExpired (): void {
    this.leases++
  }

  /** The Prometheus text exposition of mesh's and (when given to libp2p) libp2p's metrics. */
  async text (): Promise<string> {
    return this.registry.metrics()
  }

  get contentType (): string {
    return this.registry.contentType
  }
}
