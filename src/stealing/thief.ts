import { logger } from '@libp2p/logger'
import {
  STEAL_CHUNKS_PER_WORKER, STEAL_DELIVER_TIMEOUT_MS, STEAL_HEARTBEAT_MS, STEAL_MAX_CACHED_JOBS, STEAL_OFFER_MS, STEAL_REFUSED_BACKOFF_MS, STEAL_RETRY_MS, STEAL_SHARED_TTL_MS, STEAL_WORK_WAIT_MS
} from '../constants.js'
import { BadArgumentError, ForbiddenError, UnknownTaskError } from '../errors.js'
import type { IncomingCall } from '../rpc/channel.js'
import { STEAL_ROUTES, shareMemory, type ChunkDone, type OfferRequest, type StealRequest, type WorkRequest } from './protocol.js'
import { PARTS_ROUTE, type PartDelivery } from './parts.js'
import type { StealHost } from './types.js'

const log = logger('mesh:steal:thief')

/**
 * The thief's side of work stealing: when this node has idle workers it
 * picks a random peer with stealable work of a task it serves and asks it
 * for chunks; it runs what it is given, streaming each partial back, and
 * gives back unstarted chunks when the owner reclaims them.
 */
export class Thief {
  /** Chunk batches this node runs for owners, by owner/job/work id: reclaim takes from their queues. */
  private readonly borrowed = new Map<string, { queue: Array<[number, unknown]> }>()
  /** Shared data of other owners' jobs, kept for the next steal from the same job. */
  private readonly cache = new Map<string, { shared: Promise<unknown>, used: number }>()
  private readonly refused = new Map<string, number>()
  /** Peers that told this node they just split a job of a task it serves, until when the offer counts. */
  private readonly offers = new Map<string, { tasks: Set<string>, until: number }>()
  /** Victims this node asked for work, until when their work call is accepted. */
  private readonly asked = new Map<string, number>()
  private stealing = false
  /** Grants received whose work call has not arrived yet. */
  private expecting = 0
  /** Work calls that arrived before the reply to their steal (both race over two streams). */
  private arrivedEarly = 0
  private retryTimer?: NodeJS.Timeout
  private running = true
  /** Worker threads running borrowed chunks, and runners waiting for one (all batches share the pool). */
  private inPool = 0
  private readonly waitingForWorker: Array<() => void> = []

  constructor (private readonly host: StealHost, private readonly throttle: number) {}

  get borrowedCount (): number { return this.borrowed.size }

  stop (): void {
    this.running = false
    clearTimeout(this.retryTimer)
  }

  /** The peer's record changed: its refusal no longer holds. */
  forgetRefusal (peer: string): void {
    this.refused.delete(peer)
  }

  /** An owner says it just split a job: steal from it now (its record may not have arrived yet). */
  onOffer (req: OfferRequest, from: string): boolean {
    if (req == null || typeof req.task !== 'string') throw new BadArgumentError('malformed offer')
    if (!this.splittable().includes(req.task)) return false
    const offer = this.offers.get(from) ?? { tasks: new Set<string>(), until: 0 }
    offer.tasks.add(req.task)
    offer.until = Date.now() + STEAL_OFFER_MS
    this.offers.set(from, offer)
    this.refused.delete(from)
    this.maybeSteal()
    return true
  }

  onEnd (req: { job: string }): boolean {
    this.cache.delete(String(req?.job))
    return true
  }

  async onWork (call: IncomingCall, from: string): Promise<{ done: number }> {
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
    // A streamed job's partials go straight to its caller, the owner hearing only that they arrived;
    // one the caller does not take (gone, retried, unreachable) goes through the owner, and so do the rest.
    const deliveries: Array<Promise<void>> = []
    let direct = w.deliver != null && typeof w.deliver.peer === 'string' && typeof w.deliver.inbox === 'string' ? w.deliver : undefined
    const deliver = direct === undefined
      ? undefined
      : async (idx: number, partial: unknown, ms: number): Promise<void> => {
        if (direct !== undefined) {
          try {
            await this.host.call(direct.peer, PARTS_ROUTE, [{ inbox: direct.inbox, idx, data: partial } satisfies PartDelivery], { timeout: STEAL_DELIVER_TIMEOUT_MS, signal: call.signal })
            call.progress({ idx, delivered: true, ms } satisfies ChunkDone)
            return
          } catch (err: any) {
            log('job %s: delivering part %d to %s failed (%s): through the owner', w.job, idx, direct.peer, err.message)
            direct = undefined
          }
        }
        call.progress({ idx, partial, ms } satisfies ChunkDone)
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
        while (!call.signal.aborted) {
          // A chunk leaves the queue only when a worker is free for it: until then the owner can take it back.
          await this.acquireWorker()
          const item = entry.queue.shift()
          if (item === undefined || call.signal.aborted) { this.releaseWorker(); break }
          const started = performance.now()
          let partial: unknown
          try {
            const idx = item[0]
            const data = await dataOf(item)
            prefetched.delete(idx)
            if (entry.queue.length > 0) dataOf(entry.queue[0]).catch(() => {})
            const running = this.host.pool.runOp('chunk', task.name, [data, shared], call.signal, this.throttle)
            // Ask for the next chunk now, so it is here before this one ends.
            this.maybeSteal()
            partial = await running
          } finally {
            this.releaseWorker()
          }
          const ms = performance.now() - started
          if (deliver !== undefined) deliveries.push(deliver(item[0], partial, ms))
          else call.progress({ idx: item[0], partial, ms } satisfies ChunkDone)
          done++
        }
      })
      await Promise.all(runners)
      // The work call ends after the last report: the owner answers its caller only once every part is there.
      await Promise.all(deliveries)
      log('job %s: ran %d chunks for %s', w.job, done, from)
      return { done }
    } finally {
      clearInterval(heartbeat)
      this.borrowed.delete(key)
      this.maybeSteal()
    }
  }

  private async acquireWorker (): Promise<void> {
    if (this.inPool < this.host.pool.workers) { this.inPool++; return }
    await new Promise<void>((resolve) => { this.waitingForWorker.push(resolve) })
  }

  /** Pass the worker to the next waiting runner, or free it. */
  private releaseWorker (): void {
    const next = this.waitingForWorker.shift()
    if (next !== undefined) next()
    else this.inPool--
  }

  onReclaim (req: { job: string, work: number, max: number }, from: string): number[] {
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

  /** Peers that have work of one of `tasks` to steal: by their record, or by a fresh offer. */
  private loadedPeers (tasks: string[], now: number): string[] {
    const out = new Set<string>()
    for (const r of this.host.registry.peers()) {
      if (tasks.some(t => (r.load.stealable?.[t] ?? 0) > 0)) out.add(r.peerId)
    }
    for (const [peer, offer] of this.offers) {
      if (offer.until < now) this.offers.delete(peer)
      else if (tasks.some(t => offer.tasks.has(t))) out.add(peer)
    }
    return [...out]
  }

  /**
   * How many chunks to ask for: enough for every idle worker and one ready
   * behind each (STEAL_CHUNKS_PER_WORKER). A node whose workers run its own
   * jobs' chunks or whole calls asks for none until one is idle.
   */
  private slots (): number {
    const workers = this.host.pool.workers
    const load = this.host.pool.load
    let unsubmitted = 0
    for (const entry of this.borrowed.values()) unsubmitted += entry.queue.length
    const free = workers - load.running - load.queued
    if (free > 0) return free + workers * (STEAL_CHUNKS_PER_WORKER - 1) - unsubmitted
    const onlyBorrowed = this.inPool === load.running + load.queued
    return onlyBorrowed ? workers * STEAL_CHUNKS_PER_WORKER - this.inPool - unsubmitted : 0
  }

  /** If this node has idle workers, or busy ones with nothing ready behind them, ask a random loaded peer for chunks. */
  maybeSteal (): void {
    if (!this.running || this.stealing || this.expecting > 0) return
    const free = this.slots()
    if (free <= 0) return
    const mine = this.splittable()
    if (mine.length === 0) return
    const now = Date.now()
    const loaded = this.loadedPeers(mine, now)
    const candidates = loaded.filter(peer => (this.refused.get(peer) ?? 0) <= now)
    if (candidates.length === 0) {
      if (loaded.length > 0) this.retryLater()
      return
    }
    const victim = candidates[Math.floor(Math.random() * candidates.length)]
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
          this.offers.delete(victim)
          this.refused.set(victim, Date.now() + STEAL_REFUSED_BACKOFF_MS)
        }
      }, (err: any) => {
        log('steal from %s failed: %s', victim, err.message)
        this.offers.delete(victim)
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
