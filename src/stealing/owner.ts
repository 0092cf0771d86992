import { logger } from '@libp2p/logger'
import { STEAL_PROGRESS_MS, STEAL_SILENCE_MS } from '../constants.js'
import { BadArgumentError, CancelledError, ForbiddenError, TimeoutError } from '../errors.js'
import type { IncomingCall } from '../rpc/channel.js'
import type { LoadedTask, SplitSpec } from '../tasks/types.js'
import { RunCombiner } from './combine.js'
import { PART, PARTS } from './parts.js'
import type { StealPolicy } from './policy.js'
import { INLINE_CHUNK_BYTES, STEAL_ROUTES, byteSize, chunkBytes, shareMemory, type ChunkDone, type OfferRequest, type StealRequest, type WorkRequest } from './protocol.js'
import { SplitJob, type Assignment } from './split-job.js'
import type { JobProgress, StealHost, StealOptions } from './types.js'

const log = logger('mesh:steal:owner')

/**
 * The owner's side of work stealing: it splits a heavy call into chunks,
 * works them from the front of the deque, hands about half of what is left
 * to a thief that asks (from the back, never a started chunk), takes chunks
 * back from thieves that die, stall or are slower, and merges the partials.
 */
export class Owner {
  private readonly jobs = new Map<string, SplitJob>()
  private nextWork = 1

  constructor (
    private readonly host: StealHost,
    private readonly options: StealOptions,
    private readonly policy: StealPolicy,
    private readonly throttle: number,
    /** Called when a job ends: this node's own workers are free to steal again. */
    private readonly onJobEnd: () => void
  ) {}

  get owned (): number { return this.jobs.size }

  /** Chunks of this node's jobs not yet handed out or started, by task: the registry's `stealable` hint. */
  stealable (): Record<string, number> | undefined {
    let out: Record<string, number> | undefined
    for (const job of this.jobs.values()) {
      if (job.deque.length === 0 || !this.policy.pays(job, [job.deque[job.deque.length - 1]], true)) continue
      out ??= {}
      out[job.task.name] = (out[job.task.name] ?? 0) + job.deque.length
    }
    return out
  }

  stop (): void {
    for (const job of this.jobs.values()) job.controller.abort(new CancelledError('the node is stopping'))
  }

  async run (task: LoadedTask, spec: SplitSpec, args: unknown[], call: IncomingCall, wanted: number, peers: number, from: string): Promise<unknown> {
    const { shared, chunks } = spec.split(args, this.host.limits, { chunks: wanted, peers: peers + 1 })
    if (chunks.length === 0) throw new BadArgumentError(`${task.name}: split produced no chunks`)
    const job = new SplitJob(call, task, spec, chunks, shared, shareMemory(shared), shared === undefined ? 0 : byteSize(shared))
    job.streaming = call.meta.parts === true && spec.parts !== undefined
    const inbox = call.meta.inbox
    if (job.streaming && from !== this.host.peerId && typeof inbox === 'string' && inbox.length <= 64) job.deliver = { peer: from, inbox }
    if (!job.streaming && spec.combineChunk !== undefined) {
      const asChunk = spec.combineChunk
      const hint = { chunks: wanted, peers: peers + 1 }
      job.combiner = new RunCombiner(async (left, right) => {
        const combination = asChunk(left, right, hint)
        if (!('parts' in combination)) return await this.combineAsChunk(job, combination)
        job.extra += combination.parts.length
        const partials = await Promise.all(combination.parts.map(async (part) => await this.combineAsChunk(job, part)))
        return await this.combineAsChunk(job, combination.join(partials))
      })
    } else if (!job.streaming && spec.combine !== undefined) {
      job.combiner = new RunCombiner(async (left, right) => await this.host.pool.runOp('combine', task.name, [left, right], job.controller.signal, this.throttle))
    }
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
    this.offer(job)
    this.report(job, true)
    try {
      const aborted = new Promise<never>((_resolve, reject) => {
        job.controller.signal.addEventListener('abort', () => { reject(job.controller.signal.reason) }, { once: true })
      })
      aborted.catch(() => {})
      const runners = Array.from({ length: this.host.pool.workers }, async () => { await this.runLocal(job, abort) })
      await Promise.race([Promise.all(runners), aborted])
      let result: unknown
      if (job.streaming) {
        result = { [PARTS]: { ...spec.parts!(job.localShared, args), count: job.total } }
      } else {
        const partials = job.combiner !== undefined ? await Promise.race([job.combiner.values(), aborted]) : job.partials
        result = partials.length === 1 && job.combiner !== undefined
          ? partials[0]
          : spec.mergeOn === 'inline'
            ? spec.merge(partials, job.localShared, args)
            : await Promise.race([this.host.pool.runOp('merge', task.name, [partials, job.localShared, args], job.controller.signal, this.throttle), aborted])
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
      this.onJobEnd()
    }
  }

  /**
   * Tell every peer serving the task that this job has chunks, at once: an
   * idle one steals within a round trip instead of waiting for the
   * (debounced) registry record to reach it.
   */
  private offer (job: SplitJob): void {
    if (job.total < 2) return
    const offer: OfferRequest = { job: job.id, task: job.task.name, chunks: job.deque.length }
    for (const record of this.host.registry.peers()) {
      if (!record.tasks.some(t => t.name === job.task.name)) continue
      this.host.call(record.peerId, STEAL_ROUTES.offer, [offer], { timeout: 5000 }).catch(() => {})
    }
  }

  /**
   * A combination as a chunk of the job (SplitSpec.combineChunk). It is
   * ready work on the way to the result, so it goes before the split's own
   * chunks: at the front of the deque when one of the owner's workers is
   * idle (it runs it at once, with its operands already here), else at the
   * back, where the next thief to ask takes it, and the peers are told at
   * once. Queued only at the front, the owner ran nearly every combination
   * (56 of 63 on 8 nodes) while thieves took the split's chunks.
   */
  private async combineAsChunk (job: SplitJob, chunk: { data: unknown, cost: number, bytes?: number }): Promise<unknown> {
    const idx = job.chunks.length
    job.chunks.push(chunk)
    job.partials.push(undefined)
    const combined = new Promise<unknown>((resolve) => { job.combinations.set(idx, resolve) })
    if (job.idleRunners > 0) {
      job.deque.unshift(idx)
    } else {
      job.deque.push(idx)
      this.offer(job)
    }
    this.host.registry.publish()
    job.wake()
    return await combined
  }

  /** One of the owner's local runners: chunks from the front of the deque until every chunk is done. */
  private async runLocal (job: SplitJob, abort: (err: Error) => void): Promise<void> {
    const signal = job.controller.signal
    const asChunks = job.spec.combineChunk !== undefined
    while (!signal.aborted && (job.done < job.total || (asChunks && (job.combiner?.pending ?? 0) > 0))) {
      // Combinations first: they join what thieves return, and the last ones are serial on this
      // node, so each one left behind a chunk of its own here lengthens the job's tail.
      if (!asChunks && job.combiner !== undefined && job.combiner.pending > 0 && job.assignments.size > 0) {
        await Promise.race([job.combiner.idle(), job.wait()])
        continue
      }
      const idx = job.deque.shift()
      if (idx === undefined) {
        // Re-check after the (asynchronous) reclaim: a wake-up that came
        // while it was in flight must not be lost. A combination that ends
        // with no sibling to pair with queues nothing: its end is the wake-up.
        if (!(await this.reclaim(job)) && job.deque.length === 0) {
          job.idleRunners++
          try {
            if (job.done < job.total) await job.wait()
            else if (asChunks && job.combiner !== undefined) await Promise.race([job.combiner.idle(), job.wait()])
          } finally {
            job.idleRunners--
          }
        }
        continue
      }
      this.host.registry.publish()
      const started = performance.now()
      let partial: unknown
      try {
        partial = await this.host.pool.runOp('chunk', job.task.name, [job.chunks[idx].data, job.localShared], signal, this.throttle)
      } catch (err: any) {
        abort(err)
        return
      }
      const ms = performance.now() - started
      this.policy.learn(job.task.name, job.chunks[idx].cost, ms)
      this.complete(job, idx, partial, this.host.peerId, ms)
    }
  }

  /** Chunk `idx` is done: its partial is here, or its thief `delivered` it to the caller itself. */
  private complete (job: SplitJob, idx: number, partial: unknown, peer: string, ms: number, delivered = false): void {
    if (job.partials[idx] !== undefined || job.finished) return
    if (job.streaming) {
      if (!delivered) job.call.progress({ [PART]: idx, data: partial })
      job.partials[idx] = true
    } else if (job.combiner !== undefined) {
      const combination = job.combinations.get(idx)
      job.combinations.delete(idx)
      if (combination !== undefined) combination(partial)
      else job.combiner.add(idx, partial)
      job.partials[idx] = true
    } else {
      job.partials[idx] = partial
    }
    job.done++
    const share = job.share(peer, this.nameOf(peer))
    share.chunks++
    if (delivered) share.direct++
    if (idx >= job.leaves) share.combined = (share.combined ?? 0) + 1
    share.ms += ms
    this.report(job, job.done === job.planned)
    job.wake()
  }

  private nameOf (peer: string): string {
    return peer === this.host.peerId ? 'self' : this.host.registry.get(peer)?.name ?? peer
  }

  private report (job: SplitJob, force: boolean, final = false): void {
    const now = performance.now()
    if (!force && now - job.lastReport < STEAL_PROGRESS_MS) return
    job.lastReport = now
    const progress: JobProgress = {
      job: job.id,
      task: job.task.name,
      done: job.done,
      total: job.planned,
      elapsedMs: Math.round(now - job.started),
      peers: [...job.shares.values()].map(s => ({ ...s, ms: Math.round(s.ms) }))
    }
    if (final) progress.final = true
    job.call.progress(progress)
  }

  /** A thief asks for chunks: about half of what is left of the first job it can serve, if moving them pays. */
  onSteal (req: StealRequest, from: string): { granted: number, job?: string } {
    if (req == null || !Array.isArray(req.tasks)) throw new BadArgumentError('malformed steal request')
    const have = new Set(Array.isArray(req.have) ? req.have : [])
    // Only a peer whose signed record says it serves the task gets its chunks.
    const serves = new Set(this.host.registry.get(from)?.tasks.map(t => t.name) ?? [])
    for (const job of this.jobs.values()) {
      if (job.finished || job.controller.signal.aborted || job.deque.length === 0 || !req.tasks.includes(job.task.name) || !serves.has(job.task.name)) continue
      // A fair share of what is left, from the far end (the owner works from
      // the front): split between the owner and every peer serving the task
      // that holds none of this job's chunks now, this thief included. With
      // one thief that is half; with seven idle ones the first takes an
      // eighth, not half (thieves do not pass chunks on, so a first thief
      // holding half left the others to wait on the owner's reclaims).
      const holding = new Set([...job.assignments.values()].map(a => a.peer))
      const waiting = this.host.registry.peers().filter(r => r.peerId !== this.host.peerId && !holding.has(r.peerId) && r.tasks.some(t => t.name === job.task.name)).length
      // And no more than the thief can start soon (StealRequest.slots): it asks again as it runs them.
      const slots = Number.isSafeInteger(req.slots) && req.slots > 0 ? req.slots : 1
      const take = Math.min(slots, Math.ceil(job.deque.length / (Math.max(1, waiting) + 1)))
      const idxs = job.deque.slice(job.deque.length - take)
      if (!this.policy.pays(job, idxs, have.has(job.id))) continue
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

  private async sendWork (job: SplitJob, a: Assignment, withShared: boolean): Promise<void> {
    const request: WorkRequest = {
      job: job.id,
      work: a.id,
      task: job.task.name,
      hasShared: job.shared !== undefined,
      chunks: [...a.pending].map(i => [i, chunkBytes(job.chunks[i]) <= INLINE_CHUNK_BYTES ? job.chunks[i].data : null])
    }
    if (job.deliver !== undefined && job.deliver.peer !== a.peer) request.deliver = job.deliver
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
          if (d == null || typeof d.idx !== 'number') return
          // Only a job whose caller takes parts directly can have a chunk reported delivered.
          if (d.delivered === true && request.deliver === undefined) return
          if (!a.pending.delete(d.idx)) return
          const computeMs = typeof d.ms === 'number' ? d.ms : 0
          if (first) {
            // Measure the transfer: the first partial's round trip minus its compute time.
            first = false
            const moved = byteSize(request) + chunkBytes(job.chunks[d.idx]) + (withShared ? job.sharedBytes : 0) + byteSize(d.partial)
            this.policy.measureTransfer(moved, performance.now() - a.sent - computeMs)
          }
          a.firstStart ??= performance.now() - computeMs
          a.doneCost += job.chunks[d.idx].cost
          this.complete(job, d.idx, d.partial, a.peer, computeMs, d.delivered === true)
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
  private async reclaim (job: SplitJob): Promise<boolean> {
    if (job.reclaiming) return false
    const ownRate = this.policy.rate(job.task.name)
    if (ownRate === undefined) return false
    // A thief asks for chunks a few at a time, so what it holds spans several work calls, in the order sent.
    const byPeer = new Map<string, Assignment[]>()
    for (const a of job.assignments.values()) byPeer.set(a.peer, [...(byPeer.get(a.peer) ?? []), a])
    let best: Assignment[] | undefined
    let bestMax = 0
    let bestLeftMs = 0
    for (const [peer, held] of byPeer) {
      const workers = this.host.registry.get(peer)?.load.workers ?? 1
      const order = held.flatMap(a => [...a.pending])
      if (order.length - workers <= 0) continue
      const since = Math.min(...held.map(a => a.firstStart ?? a.sent))
      const doneCost = held.reduce((n, a) => n + a.doneCost, 0)
      // The thief's effective ms per cost unit (transfer and any slowness included); the owner's until it has returned something.
      const thiefRate = doneCost > 0 ? (performance.now() - since) / doneCost * workers : ownRate
      const { take, leftMs } = this.policy.reclaimable(job, order, workers, thiefRate, ownRate, this.host.pool.workers)
      if (take > 0 && leftMs > bestLeftMs) { best = held; bestMax = take; bestLeftMs = leftMs }
    }
    if (best === undefined) return false
    job.reclaiming = true
    let got = 0
    try {
      // Unstarted chunks are the last sent: take them back from the latest work calls first.
      for (const a of best.slice().reverse()) {
        if (got >= bestMax) break
        const back = await this.host.call(a.peer, STEAL_ROUTES.reclaim, [{ job: job.id, work: a.id, max: bestMax - got }], { timeout: 5000, signal: job.controller.signal }) as number[]
        for (const idx of Array.isArray(back) ? back : []) {
          if (a.pending.delete(idx)) { job.deque.push(idx); got++ }
        }
      }
      if (got > 0) job.share(best[0].peer, this.nameOf(best[0].peer)).reclaimed += got
      return got > 0
    } catch {
      if (got > 0) job.share(best[0].peer, this.nameOf(best[0].peer)).reclaimed += got
      return got > 0
    } finally {
      job.reclaiming = false
    }
  }

  /** A thief pulls the shared data of a job it holds chunks of, or the data of one of its chunks. */
  onFetch (req: { job: string, chunk?: number }, from: string): unknown {
    const job = this.jobs.get(String(req?.job))
    if (job === undefined || job.finished) throw new CancelledError(`job ${String(req?.job)} is over`)
    const held = [...job.assignments.values()].filter(a => a.peer === from)
    if (held.length === 0) throw new ForbiddenError('you hold no chunks of this job')
    if (req.chunk === undefined) return job.shared
    if (!held.some(a => a.pending.has(req.chunk as number))) throw new ForbiddenError(`chunk ${req.chunk} is not yours`)
    return job.chunks[req.chunk].data
  }
}
