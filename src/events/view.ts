import { EventEmitter } from 'node:events'
import { DASHBOARD_HISTORY_JOBS, TASK_DURATION_SAMPLES, TASK_RATE_WINDOW_MS } from '../constants.js'
import type { NodeRecord } from '../registry/record.js'
import type { Activity } from './activity.js'
import { EVENT_ROUTES } from './protocol.js'
import type { JobRecord, JobState, TaskEvent } from './types.js'
import { checkEvent, checkSnapshot } from './validate.js'

/** What the view needs from its node (MeshNode gives it). */
export interface ViewHost {
  peerId: string
  activity: Activity
  /** This node's own record with its current load (undefined before it has one). */
  self: () => NodeRecord | undefined
  peers: () => NodeRecord[]
  onRegistryChange: (listener: (peer: string, record: NodeRecord | undefined) => void) => () => void
  /** A long-lived internal call to `peer`; progress frames go to onProgress; the function returned abandons it. */
  stream: (peer: string, route: string, onProgress: (data: unknown) => void) => { done: Promise<unknown>, cancel: () => void }
}

export interface NodeView {
  peerId: string
  name: string
  self: boolean
  up: boolean
  draining: boolean
  tasks: string[]
  objects: string[]
  workers: number
  busy: number
  queued: number
  served: number
  failed: number
  steals: number
}

export interface TaskView {
  name: string
  providers: number
  calls: number
  callsPerSec: number
  p50Ms?: number
  p99Ms?: number
  failures: number
}

export interface JobFilter { state?: string, task?: string, node?: string }

/** Events read from one frame: a node sends one frame per turn of its loop; more than this is not an honest batch. */
const MAX_EVENTS_PER_FRAME = 10_000

interface NodeState { record?: NodeRecord, up: boolean, synced?: boolean, served: number, failed: number, steals: number, seenTasks: Set<string>, cancel?: () => void }
interface TaskStats { calls: number, failures: number, durations: number[], next: number, times: number[] }

/** Where a view keeps finished jobs across restarts (src/dashboard/history.ts). */
export interface JobHistory {
  load: () => JobRecord[]
  append: (job: JobRecord) => void
}

export interface MeshViewEvents {
  event: [event: TaskEvent]
  /** Nodes or jobs changed (coalesce before redrawing). */
  change: []
}

/**
 * The whole mesh as one node sees it, with no central server: the nodes
 * from the registry, and the jobs and totals from the task events each node
 * streams to it (`@mesh/events`). The dashboard, `mesh top` and
 * `mesh events` are views of it.
 */
export class MeshView extends EventEmitter<MeshViewEvents> {
  private readonly nodes = new Map<string, NodeState>()
  /** Jobs by node and id; running ones and the last DASHBOARD_HISTORY_JOBS finished. */
  private readonly jobs = new Map<string, JobRecord>()
  private finished = 0
  private readonly tasks = new Map<string, TaskStats>()
  private readonly cleanups: Array<() => void> = []
  private running = false

  constructor (private readonly host: ViewHost, private readonly history?: JobHistory) {
    super()
  }

  start (): void {
    this.running = true
    for (const job of this.history?.load() ?? []) this.putJob(job, false)
    this.nodes.set(this.host.peerId, this.newState(true))
    const local = this.host.activity
    this.applySnapshot(this.host.peerId, local.snapshot())
    this.cleanups.push(local.subscribe((event) => { this.apply(event) }))
    for (const record of this.host.peers()) this.join(record)
    this.cleanups.push(this.host.onRegistryChange((peer, record) => {
      if (record !== undefined) this.join(record)
      else this.leave(peer)
    }))
  }

  stop (): void {
    this.running = false
    for (const cleanup of this.cleanups.splice(0)) cleanup()
    for (const state of this.nodes.values()) state.cancel?.()
  }

  private newState (up: boolean): NodeState {
    return { up, served: 0, failed: 0, steals: 0, seenTasks: new Set() }
  }

  private join (record: NodeRecord): void {
    let state = this.nodes.get(record.peerId)
    if (state === undefined) {
      state = this.newState(true)
      this.nodes.set(record.peerId, state)
    }
    state.record = record
    for (const t of record.tasks) state.seenTasks.add(t.name)
    if (!state.up || state.cancel === undefined) {
      state.up = true
      this.subscribe(record.peerId, state)
    }
    this.emit('change')
  }

  private leave (peer: string): void {
    const state = this.nodes.get(peer)
    if (state === undefined) return
    state.up = false
    state.cancel?.()
    state.cancel = undefined
    // A client (mesh call, mesh top) that offered nothing is forgotten when it leaves; a server stays, shown down.
    if (state.seenTasks.size === 0 && (state.record?.objects.length ?? 0) === 0) this.nodes.delete(peer)
    this.emit('change')
  }

  private subscribe (peer: string, state: NodeState): void {
    let first = true
    const { done, cancel } = this.host.stream(peer, EVENT_ROUTES.subscribe, (data) => {
      if (data == null || typeof data !== 'object') return
      const frame = data as { snapshot?: unknown, events?: unknown }
      if (first && frame.snapshot !== undefined) {
        first = false
        const snapshot = checkSnapshot(frame.snapshot, peer)
        state.synced = true
        if (snapshot !== undefined) this.applySnapshot(peer, snapshot)
        return
      }
      if (!Array.isArray(frame.events)) return
      for (const raw of frame.events.slice(0, MAX_EVENTS_PER_FRAME)) {
        const event = checkEvent(raw, peer)
        if (event !== undefined) this.apply(event)
      }
    })
    state.cancel = cancel
    // Ended (the peer left, refused, or is an older node without events): the registry says when it is back.
    done.catch(() => {}).finally(() => {
      if (state.cancel === cancel) state.cancel = undefined
      if (!state.synced) { state.synced = true; this.emit('change') }
    })
  }

  private applySnapshot (peer: string, snapshot: NonNullable<ReturnType<typeof checkSnapshot>>): void {
    const state = this.nodes.get(peer)
    if (state !== undefined) {
      state.served = snapshot.totals.served
      state.failed = snapshot.totals.failed
      state.steals = snapshot.totals.steals
    }
    for (const job of snapshot.recent) this.putJob(job, false)
    for (const job of snapshot.running) this.putJob(job, false)
    this.emit('change')
  }

  /** One event, from this node or a peer. */
  private apply (event: TaskEvent): void {
    if (!this.running) return
    this.emit('event', event)
    if (event.type === 'sent' || event.type === 'retried') return
    const key = `${event.node}/${event.id}`
    const before = this.jobs.get(key)
    const state: JobState = event.type === 'started' || event.type === 'progress' ? 'running' : event.type === 'succeeded' ? 'succeeded' : event.type === 'failed' ? 'failed' : 'cancelled'
    const job: JobRecord = {
      id: event.id, task: event.task, state, peer: event.node, from: event.from,
      started: before?.started ?? event.time - (event.ms ?? 0), args: event.args ?? before?.args ?? ''
    }
    if (event.ms !== undefined) job.ms = event.ms
    if (event.error !== undefined) job.error = event.error
    const chunks = event.chunks ?? before?.chunks
    if (chunks !== undefined) { job.chunks = chunks; job.done = event.done ?? before?.done; job.total = event.total ?? before?.total }
    const node = this.nodes.get(event.node)
    if (node !== undefined) {
      const steals = (job.chunks ?? []).reduce((n, c) => n + c.steals, 0) - (before?.chunks ?? []).reduce((n, c) => n + c.steals, 0)
      if (steals > 0) node.steals += steals
      if (state !== 'running' && before?.state === 'running') {
        node.served++
        if (state === 'failed') node.failed++
      } else if (state !== 'running' && before === undefined) {
        node.served++
        if (state === 'failed') node.failed++
      }
    }
    this.putJob(job, state !== 'running' && before?.state !== job.state)
    this.emit('change')
  }

  private putJob (job: JobRecord, fresh: boolean): void {
    const key = `${job.peer}/${job.id}`
    const before = this.jobs.get(key)
    // Finished is final: a late progress, or a snapshot re-sent after a reconnect, changes nothing.
    if (before !== undefined && before.state !== 'running') return
    if (before !== undefined) this.jobs.delete(key) // re-insert: newest last
    this.jobs.set(key, job)
    if (job.state === 'running') return
    this.finished++
    this.count(job)
    if (fresh) this.history?.append(job)
    // Keep the last DASHBOARD_HISTORY_JOBS finished jobs; running ones always.
    for (const [k, j] of this.jobs) {
      if (this.finished <= DASHBOARD_HISTORY_JOBS) break
      if (j.state === 'running') continue
      this.jobs.delete(k)
      this.finished--
    }
  }

  private count (job: JobRecord): void {
    let stats = this.tasks.get(job.task)
    if (stats === undefined) {
      if (this.tasks.size >= 1000) return // names from the wire: bounded
      stats = { calls: 0, failures: 0, durations: [], next: 0, times: [] }
      this.tasks.set(job.task, stats)
    }
    stats.calls++
    if (job.state === 'failed') stats.failures++
    if (job.ms !== undefined && job.state === 'succeeded') {
      if (stats.durations.length < TASK_DURATION_SAMPLES) stats.durations.push(job.ms)
      else stats.durations[stats.next] = job.ms
      stats.next = (stats.next + 1) % TASK_DURATION_SAMPLES
    }
    const now = Date.now()
    stats.times.push(job.started + (job.ms ?? 0))
    while (stats.times.length > 0 && stats.times[0] < now - TASK_RATE_WINDOW_MS) stats.times.shift()
  }

  /** Every node seen: this one first, then peers (down ones last). */
  nodeViews (): NodeView[] {
    const out: NodeView[] = []
    for (const [peerId, state] of this.nodes) {
      const self = peerId === this.host.peerId
      const record = self ? this.host.self() : state.record
      out.push({
        peerId,
        name: record?.name ?? '',
        self,
        up: state.up,
        draining: self ? false : record !== undefined && record.tasks.length === 0 && state.seenTasks.size > 0,
        tasks: record?.tasks.map(t => t.name) ?? [],
        objects: record?.objects.map(o => o.name) ?? [],
        workers: record?.load.workers ?? 0,
        busy: record?.load.running ?? 0,
        queued: record?.load.queued ?? 0,
        served: state.served,
        failed: state.failed,
        steals: state.steals
      })
    }
    return out.sort((a, b) => Number(b.self) - Number(a.self) || Number(b.up) - Number(a.up) || a.name.localeCompare(b.name))
  }

  taskViews (): TaskView[] {
    const names = new Set<string>(this.tasks.keys())
    const providers = new Map<string, number>()
    for (const node of this.nodeViews()) {
      if (!node.up) continue
      for (const t of node.tasks) {
        names.add(t)
        providers.set(t, (providers.get(t) ?? 0) + 1)
      }
    }
    const now = Date.now()
    return [...names].sort().map(name => {
      const stats = this.tasks.get(name)
      const recent = stats?.times.filter(t => t >= now - TASK_RATE_WINDOW_MS).length ?? 0
      const sorted = [...(stats?.durations ?? [])].sort((a, b) => a - b)
      const view: TaskView = { name, providers: providers.get(name) ?? 0, calls: stats?.calls ?? 0, callsPerSec: recent / (TASK_RATE_WINDOW_MS / 1000), failures: stats?.failures ?? 0 }
      if (sorted.length > 0) {
        view.p50Ms = sorted[Math.floor((sorted.length - 1) * 0.5)]
        view.p99Ms = sorted[Math.floor((sorted.length - 1) * 0.99)]
      }
      return view
    })
  }

  /** Jobs, newest first, filtered by state, task and node (peer id or name). */
  jobViews (filter: JobFilter = {}): JobRecord[] {
    const names = new Map(this.nodeViews().map(n => [n.peerId, n.name]))
    const out: JobRecord[] = []
    for (const job of this.jobs.values()) {
      if (filter.state !== undefined && filter.state !== '' && job.state !== filter.state) continue
      if (filter.task !== undefined && filter.task !== '' && job.task !== filter.task) continue
      if (filter.node !== undefined && filter.node !== '' && job.peer !== filter.node && names.get(job.peer) !== filter.node) continue
      out.push(job)
    }
    return out.reverse()
  }

  /** True once every node that is up has sent its snapshot (or refused): a one-shot view is complete. */
  get synced (): boolean {
    for (const [peer, state] of this.nodes) if (peer !== this.host.peerId && state.up && state.synced !== true) return false
    return true
  }

  /** Resolves once synced, or after `timeout` ms. */
  async whenSynced (timeout: number): Promise<void> {
    if (this.synced) return
    await new Promise<void>((resolve) => {
      const done = (): void => { clearTimeout(timer); this.off('change', check); resolve() }
      const check = (): void => { if (this.synced) done() }
      const timer = setTimeout(done, timeout)
      this.on('change', check)
    })
  }

  /** The node running job `id` now, if any. */
  runningOn (id: string): string | undefined {
    for (const job of this.jobs.values()) if (job.id === id && job.state === 'running') return job.peer
    return undefined
  }
}
