import { randomBytes } from 'node:crypto'
import { logger } from '@libp2p/logger'
import {
  STEAL_ASSUMED_BYTES_PER_MS, STEAL_CHUNKS_PER_NODE, STEAL_HEARTBEAT_MS, STEAL_MAX_CACHED_JOBS, STEAL_MAX_CHUNKS, STEAL_SILENCE_MS,
  STEAL_PROGRESS_MS, STEAL_REFUSED_BACKOFF_MS, STEAL_RETRY_MS, STEAL_ROUND_TRIP_MS, STEAL_SHARED_TTL_MS, STEAL_WORK_WAIT_MS
} from '../constants.js'
import { BadArgumentError, CancelledError, ConfigError, ForbiddenError, TimeoutError, UnknownTaskError } from '../errors.js'
import type { Registry } from '../registry/registry.js'
import type { CallOptions, IncomingCall } from '../rpc/channel.js'
import type { LoadedTask, SplitSpec, TaskLimits } from '../tasks/types.js'
import type { WorkerPool } from './pool.js'

const log = logger('mesh:steal')

/** Internal call names of the stealing protocol; they ride the ordinary RPC channel. */
const STEAL_ROUTES = {
  /** thief → owner: "I am idle, give me chunks" → {granted, job}. */
  steal: '@mesh/steal',
  /** owner → thief: run these chunks; each partial comes back as a progress event. */
  work: '@mesh/work',
  /** owner → thief: give back up to `max` chunks you have not started. */
  reclaim: '@mesh/reclaim',
  /** owner → thief: the job is over, drop its shared data. */
  end: '@mesh/end',
  /** thief → owner: send me the job's shared data, or a stolen chunk's data. */
  fetch: '@mesh/fetch'
} as const

/**
 * Chunk data up to this size travels inside the work call; bigger data (and
 * the shared data, always) is pulled by the thief with `@mesh/fetch` when it
 * needs it. Big data then flows as replies to the thief's own calls, so the
 * caller waiting on a channel keeps hearing bytes (a pushed 48 MB request
 * left the owner waiting in silence long enough for its channel lease to
 * lapse), and a chunk reclaimed before it starts never moves its data.
 */
const INLINE_CHUNK_BYTES = 256 * 1024

export interface StealOptions {
  /** Cut every split job into this many chunks (tests use it for small, many chunks); default: by peers serving the task. */
  chunks?: number
  /** Split calls whose cost is at least this, instead of the task's own threshold (tests, benchmarks). */
  threshold?: number
  /** Split even when no peer serves the task (default: such a call runs whole, which is faster alone). */
  splitAlone?: boolean
  /** Run chunks at this fraction of full speed (0 < f ≤ 1) by sleeping after each: simulates a slow node. */
  throttle?: number
  /** Take chunks back from a thief silent this long, ms (default STEAL_SILENCE_MS; tests shorten it). */
  silenceMs?: number
}

/** One peer's share of a job, as progress and --stats report it. */
export interface PeerShare {
  peer: string
  name: string
  /** Chunks this peer computed. */
  chunks: number
  /** Successful steals by this peer from this job. */
  steals: number
  /** Compute time of its chunks, ms (as the peer measured it). */
  ms: number
  /** Chunks taken back because it died, stalled or failed: they were done elsewhere. */
  returned: number
  /** Unstarted chunks the owner took back from it to run itself (it was slower or had more left). */
  reclaimed: number
}

/** The data of a progress event of a split job. */
export interface JobProgress {
  job: string
  task: string
  done: number
  total: number
  elapsedMs: number
  peers: PeerShare[]
  final?: boolean
}

/** What the stealing service needs from its node. */
export interface StealHost {
  peerId: string
  tasks: Map<string, LoadedTask>
  pool: WorkerPool
  registry: Registry
  limits: TaskLimits
  call: (peer: string, name: string, args: unknown[], options: CallOptions) => Promise<unknown>
}

interface Assignment {
  id: number
  peer: string
  /** Chunks given to the peer and not yet returned, in the order it runs them. */
  pending: Set<number>
  /** When the work was sent, and the cost the peer has returned since: its effective speed. */
  sent: number
  doneCost: number
  /** When its first partial arrived, less that chunk's compute time: its speed is measured from there, not counting the start-up transfer. */
  firstStart?: number
}

interface StealRequest { tasks: string[], have: string[], slots: number }
interface WorkRequest {
  job: string
  work: number
  task: string
  /** The job has shared data: the thief pulls it once (`@mesh/fetch`) and caches it per job. */
  hasShared: boolean
  /** [index, data], data null when too big to inline: the thief pulls it when it is about to run it. */
  chunks: Array<[number, unknown]>
}
interface ChunkDone { idx: number, partial: unknown, ms: number }

class Job {
  readonly id = randomBytes(8).toString('hex')
  readonly deque: number[]
  readonly partials: unknown[]
  done = 0
  finished = false
  reclaiming = false
  readonly assignments = new Map<number, Assignment>()
  readonly shares = new Map<string, PeerShare>()
  readonly controller = new AbortController()
  readonly started = performance.now()
  lastReport = 0
  private waiters: Array<() => void> = []

  constructor (
    readonly call: IncomingCall,
    readonly task: LoadedTask,
    readonly spec: SplitSpec,
    readonly chunks: Array<{ data: unknown, cost: number }>,
    readonly shared: unknown,
    readonly localShared: unknown,
    readonly sharedBytes: number
  ) {
    this.deque = chunks.map((_, i) => i)
    this.partials = new Array(chunks.length)
  }

  get total (): number { return this.chunks.length }

  share (peer: string, name: string): PeerShare {
    let s = this.shares.get(peer)
    if (s === undefined) {
      s = { peer, name, chunks: 0, steals: 0, ms: 0, returned: 0, reclaimed: 0 }
      this.shares.set(peer, s)
    }
    return s
  }

  async wait (): Promise<void> {
    if (this.controller.signal.aborted) return
    await new Promise<void>((resolve) => { this.waiters.push(resolve) })
  }

  wake (): void {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }
}

const sleep = async (ms: number, signal?: AbortSignal): Promise<void> => {
  if (ms <= 0 || signal?.aborted === true) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms)
    function done (): void { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve() }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** Bytes a value takes on the wire, roughly: what a steal would move. */
export function byteSize (v: unknown): number {
  if (ArrayBuffer.isView(v)) return v.byteLength
  if (typeof v === 'bigint') return Math.ceil(v.toString(16).length / 2) + 2
  if (typeof v === 'string') return v.length + 2
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + byteSize(x), 2)
  if (v != null && typeof v === 'object') return Object.values(v).reduce((n: number, x) => n + byteSize(x), 2)
  return 9
}

/**
 * Typed arrays inside `v` (plain objects and arrays) copied once into
 * SharedArrayBuffers, so handing the job's shared data to a worker thread for
 * every chunk shares memory instead of copying megabytes each time.
 */
export function shareMemory (v: unknown): unknown {
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    if (v.byteLength < 64 * 1024 || v.buffer instanceof SharedArrayBuffer) return v
    const Ctor = v.constructor as new (buffer: SharedArrayBuffer) => ArrayBufferView
    const copy = new Ctor(new SharedArrayBuffer(v.byteLength))
    new Uint8Array(copy.buffer, 0, v.byteLength).set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
    return copy
  }
  if (Array.isArray(v)) return v.map(shareMemory)
  if (v != null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shareMemory(x)]))
  }
  return v
}

/**
 * Decentralised work stealing. The node that accepts a heavy call of a
 * splittable task owns the job: it splits it into chunks kept in a deque,
 * and its own workers take chunks from the front. Idle nodes serving the
 * task see the owner's `stealable` count in its registry record, pick a
 * random loaded peer and ask it for work; the owner hands over about half
 * of what is left, from the back, and only chunks nobody has started. The
 * owner then calls the thief with those chunks (and the job's shared data,
 * once per job); the thief streams each partial back as a progress event.
 * Chunks a thief has not returned go back to the deque when its connection
 * drops, its lease runs out, or the owner reclaims unstarted ones because
 * it is idle itself. There is no scheduler: each owner hands out only its
 * own jobs, and each idle node decides alone whom to ask.
 */
export class StealService {
  private readonly jobs = new Map<string, Job>()
  /** Chunk batches this node runs for owners, by owner/job/work id: reclaim takes from their queues. */
  private readonly borrowed = new Map<string, { queue: Array<[number, unknown]> }>()
  /** Shared data of other owners' jobs, kept for the next steal from the same job. */
  private readonly cache = new Map<string, { shared: Promise<unknown>, used: number }>()
  /** ms per work unit of each task, measured on this node's chunks (Dask's rule needs it). */
  private readonly msPerCost = new Map<string, number>()
  private readonly refused = new Map<string, number>()
  /** Victims this node asked for work, until when their work call is accepted. */
  private readonly asked = new Map<string, number>()
  /** Transfer speed to thieves, measured on each batch's first partial (starts from a conservative guess). */
  private bytesPerMs = STEAL_ASSUMED_BYTES_PER_MS
  private nextWork = 1
  private stealing = false
  /** Grants received whose work call has not arrived yet. */
  private expecting = 0
  /** Work calls that arrived before the reply to their steal (both race over two streams). */
  private arrivedEarly = 0
  private retryTimer?: NodeJS.Timeout
  private running = true
  private readonly throttle: number

  constructor (private readonly host: StealHost, private readonly options: StealOptions = {}) {
    const t = options.throttle ?? 1
    if (!(t > 0 && t <= 1)) throw new ConfigError(`throttle must be in (0, 1], got ${String(options.throttle)}`)
    if (options.chunks !== undefined && (!Number.isSafeInteger(options.chunks) || options.chunks < 1)) {
      throw new ConfigError(`split chunks must be a positive integer, got ${String(options.chunks)}`)
    }
    this.throttle = t
    host.registry.on('change', this.onRegistryChange)
  }

  private readonly onRegistryChange = (peer: string): void => {
    this.refused.delete(peer)
    this.maybeSteal()
  }

  /** Does this service answer the call name (a protocol call)? */
  static matches (name: string): boolean {
    return name.startsWith('@mesh/') && Object.values(STEAL_ROUTES).includes(name as any)
  }

  /** Serve one of the protocol calls. */
  handle (call: IncomingCall, from: string): unknown {
    switch (call.task) {
      case STEAL_ROUTES.steal: return this.onSteal(call.args[0] as StealRequest, from)
      case STEAL_ROUTES.work: return this.onWork(call, from)
      case STEAL_ROUTES.reclaim: return this.onReclaim(call.args[0] as { job: string, work: number, max: number }, from)
      case STEAL_ROUTES.end: this.cache.delete(String((call.args[0] as { job: string })?.job)); return true
      case STEAL_ROUTES.fetch: return this.onFetch(call.args[0] as { job: string, chunk?: number }, from)
    }
    throw new UnknownTaskError(`unknown protocol call ${call.task}`)
  }

  /** Chunks of this node's jobs not yet handed out or started, by task: the registry's `stealable` hint. */
  stealable (): Record<string, number> | undefined {
    let out: Record<string, number> | undefined
    for (const job of this.jobs.values()) {
      if (job.deque.length === 0 || !this.pays(job, [job.deque[job.deque.length - 1]], true)) continue
      out ??= {}
      out[job.task.name] = (out[job.task.name] ?? 0) + job.deque.length
    }
    return out
  }

  /** Jobs this node owns now, and chunk batches it runs for others (for tests and `mesh peers`). */
  get activity (): { owned: number, borrowed: number } {
    return { owned: this.jobs.size, borrowed: this.borrowed.size }
  }

  stop (): void {
    this.running = false
    clearTimeout(this.retryTimer)
    this.host.registry.off('change', this.onRegistryChange)
    for (const job of this.jobs.values()) job.controller.abort(new CancelledError('the node is stopping'))
  }

  /**
   * Run `call` as a split job if the task is splittable and the call heavy
   * enough; undefined means "run it whole as usual".
   */
  tryRun (task: LoadedTask, args: unknown[], call: IncomingCall): Promise<unknown> | undefined {
    const spec = task.split
    if (spec === undefined || task.module === undefined) return undefined
    if (spec.cost(args) < (this.options.threshold ?? spec.threshold)) return undefined
    const peers = this.host.registry.peers().filter(r => r.tasks.some(t => t.name === task.name)).length
    if (peers === 0 && this.options.splitAlone !== true) return undefined
    return this.own(task, spec, args, call, peers)
  }

  private async own (task: LoadedTask, spec: SplitSpec, args: unknown[], call: IncomingCall, peers: number): Promise<unknown> {
    const wanted = this.options.chunks ?? Math.min(STEAL_MAX_CHUNKS, STEAL_CHUNKS_PER_NODE * (peers + 1))
    const { shared, chunks } = spec.split(args, this.host.limits, { chunks: wanted })
    if (chunks.length === 0) throw new BadArgumentError(`${task.name}: split produced no chunks`)
    const job = new Job(call, task, spec, chunks, shared, shareMemory(shared), shared === undefined ? 0 : byteSize(shared))
    this.jobs.set(job.id, job)
    log('job %s: %s in %d chunks', job.id, task.name, job.total)
    const abort = (reason: Error): void => {
      if (job.controller.signal.aborted) return
      job.controller.abort(reason)
      job.wake()
    }
    const onCallAbort = (): void => { abort(new CancelledError('the caller cancelled the job')) }
    call.signal.addEventListener('abort', onCallAbort, { once: true })
    const timer = call.meta.timeout !== undefined
      ? setTimeout(() => { abort(new TimeoutError(`${task.name} did not finish within ${call.meta.timeout} ms`)) }, call.meta.timeout)
      : undefined
    this.host.registry.publish()
    this.report(job, true)
    try {
      const aborted = new Promise<never>((_resolve, reject) => {
        job.controller.signal.addEventListener('abort', () => { reject(job.controller.signal.reason) }, { once: true })
      })
      aborted.catch(() => {})
      const runners = Array.from({ length: this.host.pool.workers }, async () => { await this.runLocal(job, abort) })
      await Promise.race([Promise.all(runners), aborted])
      let result: unknown
      if (spec.mergeOn === 'inline') {
        result = spec.merge(job.partials, job.localShared, args)
      } else {
        result = await Promise.race([this.host.pool.runOp('merge', task.name, [job.partials, job.localShared, args], job.controller.signal), aborted])
      }
      this.report(job, true, true)
      return result
    } finally {
      job.finished = true
      call.signal.removeEventListener('abort', onCallAbort)
      clearTimeout(timer)
      // Anything still out (a cancelled or failed job) is stopped on every peer.
      if (!job.controller.signal.aborted) job.controller.abort(new CancelledError('the job is over'))
      this.jobs.delete(job.id)
      const thieves = new Set([...job.shares.keys()].filter(p => p !== this.host.peerId))
      for (const peer of thieves) {
        this.host.call(peer, STEAL_ROUTES.end, [{ job: job.id }], { timeout: 5000 }).catch(() => {})
      }
      this.host.registry.publish()
      this.maybeSteal()
    }
  }

  /** One of the owner's local runners: chunks from the front of the deque until every chunk is done. */
  private async runLocal (job: Job, abort: (err: Error) => void): Promise<void> {
    const signal = job.controller.signal
    while (!signal.aborted && job.done < job.total) {
      const idx = job.deque.shift()
      if (idx === undefined) {
        // Re-check after the (asynchronous) reclaim: a wake-up that came
        // while it was in flight must not be lost.
        if (!(await this.reclaim(job)) && job.deque.length === 0 && job.done < job.total) await job.wait()
        continue
      }
      this.host.registry.publish()
      const started = performance.now()
      let partial: unknown
      try {
        partial = await this.host.pool.runOp('chunk', job.task.name, [job.chunks[idx].data, job.localShared], signal)
      } catch (err: any) {
        abort(err)
        return
      }
      const ms = performance.now() - started
      // A throttled (slow) node's chunks take ms / throttle in effect: stealing from it pays more.
      this.learn(job.task.name, job.chunks[idx].cost, ms / this.throttle)
      this.complete(job, idx, partial, this.host.peerId, ms)
      await sleep(ms * (1 / this.throttle - 1), signal)
    }
  }

  private complete (job: Job, idx: number, partial: unknown, peer: string, ms: number): void {
    if (job.partials[idx] !== undefined || job.finished) return
    job.partials[idx] = partial
    job.done++
    const share = job.share(peer, this.nameOf(peer))
    share.chunks++
    share.ms += ms
    this.report(job, job.done === job.total)
    job.wake()
  }

  private nameOf (peer: string): string {
    return peer === this.host.peerId ? 'self' : this.host.registry.get(peer)?.name ?? peer
  }

  private learn (task: string, cost: number, ms: number): void {
    if (ms <= 0 || cost <= 0) return
    const rate = ms / cost
    const old = this.msPerCost.get(task)
    this.msPerCost.set(task, old === undefined ? rate : 0.7 * old + 0.3 * rate)
  }

  /**
   * Dask's rule: hand chunks to another node only when computing them takes
   * longer than moving them (their data, the shared data if the thief lacks
   * it, and a round trip). Until a chunk of the task has been timed here the
   * steal is allowed.
   */
  private pays (job: Job, idxs: number[], thiefHasShared: boolean): boolean {
    const rate = this.msPerCost.get(job.task.name)
    if (rate === undefined) return true
    let cost = 0
    let bytes = thiefHasShared ? 0 : job.sharedBytes
    for (const i of idxs) {
      cost += job.chunks[i].cost
      bytes += byteSize(job.chunks[i].data)
    }
    return cost * rate > bytes / this.bytesPerMs + STEAL_ROUND_TRIP_MS
  }

  private report (job: Job, force: boolean, final = false): void {
    const now = performance.now()
    if (!force && now - job.lastReport < STEAL_PROGRESS_MS) return
    job.lastReport = now
    const progress: JobProgress = {
      job: job.id,
      task: job.task.name,
      done: job.done,
      total: job.total,
      elapsedMs: Math.round(now - job.started),
      peers: [...job.shares.values()].map(s => ({ ...s, ms: Math.round(s.ms) }))
    }
    if (final) progress.final = true
    job.call.progress(progress)
  }

  // ---- the owner's side of a steal ----

  private onSteal (req: StealRequest, from: string): { granted: number, job?: string } {
    if (req == null || !Array.isArray(req.tasks)) throw new BadArgumentError('malformed steal request')
    const have = new Set(Array.isArray(req.have) ? req.have : [])
    // Only a peer whose signed record says it serves the task gets its chunks.
    const serves = new Set(this.host.registry.get(from)?.tasks.map(t => t.name) ?? [])
    for (const job of this.jobs.values()) {
      if (job.finished || job.controller.signal.aborted || job.deque.length === 0 || !req.tasks.includes(job.task.name) || !serves.has(job.task.name)) continue
      // About half of what is left, from the far end: the owner works from the front.
      const take = Math.ceil(job.deque.length / 2)
      const idxs = job.deque.slice(job.deque.length - take)
      if (!this.pays(job, idxs, have.has(job.id))) continue
      job.deque.splice(job.deque.length - take)
      const assignment: Assignment = { id: this.nextWork++, peer: from, pending: new Set(idxs), sent: performance.now(), doneCost: 0 }
      job.assignments.set(assignment.id, assignment)
      job.share(from, this.nameOf(from)).steals++
      this.host.registry.publish()
      this.report(job, true)
      void this.sendWork(job, assignment, !have.has(job.id))
      log('job %s: %s stole %d chunks', job.id, from, take)
      return { granted: take, job: job.id }
    }
    return { granted: 0 }
  }

  private async sendWork (job: Job, a: Assignment, withShared: boolean): Promise<void> {
    const request: WorkRequest = {
      job: job.id,
      work: a.id,
      task: job.task.name,
      hasShared: job.shared !== undefined,
      chunks: [...a.pending].map(i => [i, byteSize(job.chunks[i].data) <= INLINE_CHUNK_BYTES ? job.chunks[i].data : null])
    }
    let first = true
    // The thief is alive while it talks: a partial or a heartbeat. Silence
    // for longer than the lease means it stopped answering: its chunks come back.
    const lease = new AbortController()
    const onJobAbort = (): void => { lease.abort(job.controller.signal.reason) }
    job.controller.signal.addEventListener('abort', onJobAbort, { once: true })
    let watchdog: NodeJS.Timeout | undefined
    const alive = (): void => {
      clearTimeout(watchdog)
      const silence = this.options.silenceMs ?? STEAL_SILENCE_MS
      watchdog = setTimeout(() => { lease.abort(new TimeoutError(`${a.peer} was silent for ${silence} ms`)) }, silence)
    }
    alive()
    try {
      await this.host.call(a.peer, STEAL_ROUTES.work, [request], {
        signal: lease.signal,
        onProgress: (data) => {
          alive()
          const d = data as ChunkDone
          if (d == null || typeof d.idx !== 'number' || !a.pending.delete(d.idx)) return
          const computeMs = typeof d.ms === 'number' ? d.ms : 0
          if (first) {
            // Measure the transfer: the first partial's round trip minus its compute time.
            first = false
            const moved = byteSize(request) + byteSize(job.chunks[d.idx].data) + (withShared ? job.sharedBytes : 0) + byteSize(d.partial)
            const transferMs = performance.now() - a.sent - computeMs
            if (transferMs > 0) this.bytesPerMs = 0.5 * this.bytesPerMs + 0.5 * (moved / transferMs)
          }
          a.firstStart ??= performance.now() - computeMs
          a.doneCost += job.chunks[d.idx].cost
          this.complete(job, d.idx, d.partial, a.peer, computeMs)
        }
      })
    } catch (err: any) {
      if (!job.controller.signal.aborted) log('job %s: work at %s failed: %s', job.id, a.peer, err.message)
    } finally {
      clearTimeout(watchdog)
      job.controller.signal.removeEventListener('abort', onJobAbort)
      job.assignments.delete(a.id)
      if (!job.finished && !job.controller.signal.aborted && a.pending.size > 0) {
        // The thief died, stalled or failed: its chunks are done elsewhere.
        job.share(a.peer, this.nameOf(a.peer)).returned += a.pending.size
        job.deque.push(...a.pending)
        this.host.registry.publish()
        job.wake()
      }
    }
  }

  /**
   * The owner is idle: take back unstarted chunks from the thief with the
   * most work left, as many as makes both finish together given their
   * measured speeds (half when they are equal; none when the owner is the
   * slower and would finish them later than the thief).
   */
  private async reclaim (job: Job): Promise<boolean> {
    if (job.reclaiming) return false
    const ownRate = this.msPerCost.get(job.task.name)
    if (ownRate === undefined) return false
    let best: Assignment | undefined
    let bestMax = 0
    let bestLeftMs = 0
    for (const a of job.assignments.values()) {
      const workers = this.host.registry.get(a.peer)?.load.workers ?? 1
      const order = [...a.pending]
      const unstarted = order.length - workers
      if (unstarted <= 0) continue
      const elapsed = performance.now() - (a.firstStart ?? a.sent)
      // The thief's effective ms per cost unit (transfer and any slowness included); the owner's until it has returned something.
      const thiefRate = a.doneCost > 0 ? elapsed / a.doneCost * workers : ownRate
      const left = order.reduce((n, i) => n + job.chunks[i].cost, 0)
      // Take from the back of its queue while the owner would finish that part no later than the thief finishes the rest.
      let taken = 0
      let takenCost = 0
      for (let k = order.length - 1; k >= workers; k--) {
        const cost = job.chunks[order[k]].cost
        if ((takenCost + cost) * ownRate / this.host.pool.workers > (left - takenCost - cost) * thiefRate / workers) break
        taken++
        takenCost += cost
      }
      const leftMs = left * thiefRate / workers
      if (taken > 0 && leftMs > bestLeftMs) { best = a; bestMax = taken; bestLeftMs = leftMs }
    }
    if (best === undefined) return false
    const max = bestMax
    job.reclaiming = true
    try {
      const back = await this.host.call(best.peer, STEAL_ROUTES.reclaim, [{ job: job.id, work: best.id, max }], { timeout: 5000, signal: job.controller.signal }) as number[]
      let got = 0
      for (const idx of Array.isArray(back) ? back : []) {
        if (best.pending.delete(idx)) { job.deque.push(idx); got++ }
      }
      if (got > 0) job.share(best.peer, this.nameOf(best.peer)).reclaimed += got
      return got > 0
    } catch {
      return false
    } finally {
      job.reclaiming = false
    }
  }

  /** A thief pulls the shared data of a job it holds chunks of, or the data of one of its chunks. */
  private onFetch (req: { job: string, chunk?: number }, from: string): unknown {
    const job = this.jobs.get(String(req?.job))
    if (job === undefined || job.finished) throw new CancelledError(`job ${String(req?.job)} is over`)
    const held = [...job.assignments.values()].filter(a => a.peer === from)
    if (held.length === 0) throw new ForbiddenError('you hold no chunks of this job')
    if (req.chunk === undefined) return job.shared
    if (!held.some(a => a.pending.has(req.chunk as number))) throw new ForbiddenError(`chunk ${req.chunk} is not yours`)
    return job.chunks[req.chunk].data
  }

  // ---- the thief's side ----

  private async onWork (call: IncomingCall, from: string): Promise<{ done: number }> {
    const w = call.args[0] as WorkRequest
    if (w == null || typeof w.job !== 'string' || typeof w.task !== 'string' || !Array.isArray(w.chunks)) throw new BadArgumentError('malformed work request')
    // Chunks bypass the task's argument checks, so they are run only for a
    // peer this node just asked for work: nobody can push work on it unasked.
    if ((this.asked.get(from) ?? 0) < Date.now()) throw new ForbiddenError('this node did not ask you for work')
    this.asked.delete(from)
    if (this.expecting > 0) this.expecting--
    else this.arrivedEarly++
    const task = this.host.tasks.get(w.task)
    if (task?.split === undefined) throw new UnknownTaskError(`this node does not serve the splittable task "${w.task}"`)
    const key = `${from}/${w.job}/${w.work}`
    const fetch = async (chunk?: number): Promise<unknown> =>
      await this.host.call(from, STEAL_ROUTES.fetch, [chunk === undefined ? { job: w.job } : { job: w.job, chunk }], { signal: call.signal })
    log('job %s: running %d chunks for %s', w.job, w.chunks.length, from)
    const entry = { queue: w.chunks.slice() }
    this.borrowed.set(key, entry)
    let done = 0
    // Chunks can run longer than the owner's patience for silence: say we are alive.
    const heartbeat = setInterval(() => { call.progress({ beat: true }) }, STEAL_HEARTBEAT_MS)
    // Data of the next chunk is fetched while the current one runs.
    const prefetched = new Map<number, Promise<unknown>>()
    const dataOf = async (item: [number, unknown]): Promise<unknown> => {
      const [idx, inline] = item
      if (inline !== null && inline !== undefined) return inline
      let p = prefetched.get(idx)
      if (p === undefined) {
        p = fetch(idx)
        p.catch(() => {})
        prefetched.set(idx, p)
      }
      return await p
    }
    try {
      let shared: unknown
      if (w.hasShared) {
        let cached = this.cache.get(w.job)
        if (cached === undefined) {
          cached = { shared: fetch().then(shareMemory), used: Date.now() }
          this.cache.set(w.job, cached)
          this.trimCache()
        }
        cached.used = Date.now()
        try {
          shared = await cached.shared
        } catch (err) {
          if (this.cache.get(w.job) === cached) this.cache.delete(w.job)
          throw err
        }
      }
      const runners = Array.from({ length: Math.min(this.host.pool.workers, entry.queue.length) }, async () => {
        while (entry.queue.length > 0 && !call.signal.aborted) {
          const item = entry.queue.shift() as [number, unknown]
          const idx = item[0]
          const data = await dataOf(item)
          prefetched.delete(idx)
          if (entry.queue.length > 0) dataOf(entry.queue[0]).catch(() => {})
          const started = performance.now()
          const partial = await this.host.pool.runOp('chunk', task.name, [data, shared], call.signal)
          const ms = performance.now() - started
          call.progress({ idx, partial, ms } satisfies ChunkDone)
          done++
          await sleep(ms * (1 / this.throttle - 1), call.signal)
        }
      })
      await Promise.all(runners)
      log('job %s: ran %d chunks for %s', w.job, done, from)
      return { done }
    } finally {
      clearInterval(heartbeat)
      this.borrowed.delete(key)
      this.maybeSteal()
    }
  }

  private onReclaim (req: { job: string, work: number, max: number }, from: string): number[] {
    const entry = this.borrowed.get(`${from}/${req?.job}/${req?.work}`)
    if (entry === undefined || !(req.max > 0)) return []
    return entry.queue.splice(Math.max(0, entry.queue.length - req.max)).map(([idx]) => idx)
  }

  private trimCache (): void {
    const now = Date.now()
    for (const [job, c] of this.cache) if (now - c.used > STEAL_SHARED_TTL_MS) this.cache.delete(job)
    while (this.cache.size > STEAL_MAX_CACHED_JOBS) {
      const oldest = [...this.cache.entries()].sort((a, b) => a[1].used - b[1].used)[0][0]
      this.cache.delete(oldest)
    }
  }

  /** The splittable tasks this node serves. */
  private splittable (): string[] {
    return [...this.host.tasks.values()].filter(t => t.split !== undefined && t.module !== undefined).map(t => t.name)
  }

  /** If this node has idle workers, ask a random loaded peer for chunks. */
  maybeSteal (): void {
    if (!this.running || this.stealing || this.expecting > 0) return
    const load = this.host.pool.load
    const free = this.host.pool.workers - load.running - load.queued
    if (free <= 0) return
    const mine = this.splittable()
    if (mine.length === 0) return
    const now = Date.now()
    const loaded = this.host.registry.peers().filter(r => mine.some(t => (r.load.stealable?.[t] ?? 0) > 0))
    const candidates = loaded.filter(r => (this.refused.get(r.peerId) ?? 0) <= now)
    if (candidates.length === 0) {
      if (loaded.length > 0) this.retryLater()
      return
    }
    const victim = candidates[Math.floor(Math.random() * candidates.length)].peerId
    this.stealing = true
    this.asked.set(victim, Date.now() + STEAL_WORK_WAIT_MS)
    this.host.call(victim, STEAL_ROUTES.steal, [{ tasks: mine, have: [...this.cache.keys()], slots: free } satisfies StealRequest], { timeout: 5000 })
      .then((reply: any) => {
        if (typeof reply?.granted === 'number' && reply.granted > 0) {
          if (this.arrivedEarly > 0) { this.arrivedEarly--; return }
          this.expecting++
          // Should the work call never come (the owner died), stop waiting for it.
          setTimeout(() => { if (this.expecting > 0) { this.expecting--; this.maybeSteal() } }, STEAL_WORK_WAIT_MS).unref()
        } else {
          this.asked.delete(victim)
          this.refused.set(victim, Date.now() + STEAL_REFUSED_BACKOFF_MS)
        }
      }, (err: any) => {
        log('steal from %s failed: %s', victim, err.message)
        this.refused.set(victim, Date.now() + STEAL_REFUSED_BACKOFF_MS)
      })
      .finally(() => {
        this.stealing = false
        this.retryLater()
      })
  }

  private retryLater (): void {
    if (!this.running || this.retryTimer !== undefined) return
    this.retryTimer = setTimeout(() => { this.retryTimer = undefined; this.maybeSteal() }, STEAL_RETRY_MS)
    this.retryTimer.unref()
  }
}
