import { EventEmitter } from 'node:events'
import { DEFAULT_CALL_TIMEOUT_MS, DEFAULT_DETACHED_TIMEOUT_MS, DEFAULT_JOBS_LIST_LIMIT, RESULT_CALL_TIMEOUT_MS } from '../constants.js'
import { MeshError, NoProviderError, TimeoutError, UnknownJobError } from '../errors.js'
import type { JobStatus } from '../jobs/job.js'
import type { CallOptions } from '../rpc/channel.js'
import type { StoredState } from '../store/journal.js'
import { encode } from '../codec.js'
import type { JobRow } from '../store/journal.js'
import { holderHint, makeJobId, parseJobId, randomJobPart, rendezvous } from './id.js'
import { JOB_ROUTES, type DetachOptions, type DetachedJobs, type JobSnapshot } from './service.js'

/** A detached job's status: a Job's, plus EXPIRED once its result is no longer kept. */
export type DetachedStatus = JobStatus | 'EXPIRED'

export interface DetachedJobEvents {
  status: [status: DetachedStatus]
  progress: [data: unknown]
}

export interface JobClientComponents {
  peerId: string
  /** This node's own holder service, when it keeps jobs. */
  local?: DetachedJobs
  call: (peer: string, name: string, args: unknown[], options: CallOptions) => Promise<unknown>
  /** Known long-lived peers that keep jobs. */
  holders: () => string[]
  providers: (task: string) => string[]
  waitForProvider: (task: string, options: { timeout: number }) => Promise<string>
  /** Whether `provider` advertises `task` as safe to run twice. */
  idempotent: (task: string, provider?: string) => boolean
}

/** Failures of one holder after which another holder is asked. */
const TRY_ELSEWHERE = new Set(['PEER_GONE', 'NOT_RUNNING', 'BUSY', 'RATE_LIMITED', 'UNKNOWN_JOB', 'UNKNOWN_TASK'])
const FINAL: ReadonlySet<string> = new Set(['SUCCESS', 'FAILURE', 'CANCELLED', 'EXPIRED'])
/** Between rounds of asking every holder while following a job whose holders are unreachable. */
const RELOCATE_PAUSE_MS = 200
/** Rounds a followed job may be unknown everywhere (its holder restarting) before UNKNOWN_JOB: ~5 s. */
const RELOCATE_ROUNDS = 25

/**
 * The caller side of detached jobs: submit one, find one by id from any
 * process (the id's holder hints say whom to ask first; everyone else who
 * keeps jobs after that), list them mesh-wide.
 */
export class JobClient {
  constructor (private readonly c: JobClientComponents) {}

  /** Hand `task` to a provider that journals it; resolves with a handle once it (and its replica) hold it. */
  async submit<T = unknown> (task: string, args: unknown[], options: DetachOptions, acceptTimeout = DEFAULT_CALL_TIMEOUT_MS): Promise<DetachedJob<T>> {
    const deadline = Date.now() + acceptTimeout
    const tried = new Set<string>()
    let last: unknown
    for (;;) {
      const provider = this.c.providers(task).find(p => !tried.has(p)) ??
        (tried.size === 0 ? await this.c.waitForProvider(task, { timeout: acceptTimeout }) : undefined)
      if (provider === undefined || Date.now() > deadline) throw last ?? new NoProviderError(`no node accepts "${task}"`)
      tried.add(provider)
      try {
        const id = await this.submitTo(provider, task, args, options, Math.max(1, deadline - Date.now()))
        return new DetachedJob<T>(this, { id, task, state: 'PENDING', created: Date.now(), role: 'provider', holder: provider })
      } catch (err: any) {
        // Refused before it was accepted (busy, draining, full disk): another provider may take it.
        if (!(err instanceof MeshError) || !err.retryable) throw err
        last = err
      }
    }
  }

  /**
   * One submit to `provider`. When this node knows another holder, it picks
   * the replica itself (the same rendezvous order the provider would use) and
   * sends the copy to it in parallel with the submit: one round trip instead
   * of two in a row. Otherwise the provider picks and replicates.
   */
  private async submitTo (provider: string, task: string, args: unknown[], options: DetachOptions, timeout: number): Promise<string> {
    const random = randomJobPart()
    const replica = provider === this.c.peerId ? undefined : rendezvous(random, this.c.holders().filter(p => p !== provider && p !== this.c.peerId))[0]
    if (replica === undefined) return await this.ask(provider, JOB_ROUTES.submit, [task, args, options], { timeout }) as string
    const id = makeJobId(random, provider, replica)
    const copy: JobRow = {
      id, task, args: encode(args), state: 'PENDING', role: 'replica', peer: provider, submitter: this.c.peerId,
      idempotent: options.idempotent ?? this.c.idempotent(task, provider), timeout: options.timeout ?? DEFAULT_DETACHED_TIMEOUT_MS, created: Date.now(), finished: null, outcome: null
    }
    const [accepted, replicated] = await Promise.allSettled([
      this.ask(provider, JOB_ROUTES.submit, [task, args, options, { id, replica }], { timeout }),
      this.ask(replica, JOB_ROUTES.replicate, [copy], { timeout: Math.min(timeout, RESULT_CALL_TIMEOUT_MS) })
    ])
    if (accepted.status === 'rejected') {
      // The replica must not take over a job its provider never accepted.
      if (replicated.status === 'fulfilled') void this.ask(replica, JOB_ROUTES.cancel, [id], { timeout: RESULT_CALL_TIMEOUT_MS }).catch(() => {})
      throw accepted.reason
    }
    // A replica that failed leaves the provider the only holder, as when a replica dies.
    return accepted.value as string
  }

  /** A handle on job `id`, from whichever node holds it: UNKNOWN_JOB if none does, BAD_ARGUMENT if `id` is not a job id. */
  async job<T = unknown> (id: string): Promise<DetachedJob<T>> {
    const found = await this.locate(id)
    return new DetachedJob<T>(this, found[0])
  }

  /** Recent jobs of every holder this node knows (itself included), newest first. */
  async jobs (filter: { state?: StoredState, task?: string, limit?: number } = {}): Promise<JobSnapshot[]> {
    const limit = filter.limit ?? DEFAULT_JOBS_LIST_LIMIT
    const lists = await Promise.all(this.everyone().map(async peer => await this.ask(peer, JOB_ROUTES.list, [{ ...filter, limit }], { timeout: RESULT_CALL_TIMEOUT_MS })
      .then(l => l as JobSnapshot[], () => [])))
    const byId = new Map<string, JobSnapshot>()
    for (const snap of lists.flat()) {
      const seen = byId.get(snap.id)
      if (seen === undefined || better(snap, seen)) byId.set(snap.id, snap)
    }
    return [...byId.values()].sort((a, b) => b.created - a.created).slice(0, limit)
  }

  /**
   * Every holder's view of `id`, best first (a final state, then the
   * provider's): the hinted holders are asked first, everyone else only if
   * none of them knows it.
   */
  async locate (id: string): Promise<JobSnapshot[]> {
    const parsed = parseJobId(id)
    const all = this.everyone()
    const hinted = all.filter(p => { const h = holderHint(p); return h === parsed.provider || h === parsed.replica })
    let found = await this.askAll(hinted, id)
    if (found.length === 0) found = await this.askAll(all.filter(p => !hinted.includes(p)), id)
    if (found.length === 0) throw new UnknownJobError(`no node of the ${all.length} asked knows job ${id}`)
    return found.sort((a, b) => better(a, b) ? -1 : better(b, a) ? 1 : 0)
  }

  /** Call an internal route on `peer`, or serve it here when `peer` is this node. */
  async ask (peer: string, route: string, args: unknown[], options: CallOptions & { signal?: AbortSignal } = {}): Promise<unknown> {
    if (peer === this.c.peerId && this.c.local !== undefined) {
      const signal = options.signal ?? new AbortController().signal
      return await this.c.local.handle({ task: route, args, meta: {}, signal, progress: (data) => { options.onProgress?.(data) } }, this.c.peerId)
    }
    return await this.c.call(peer, route, args, options)
  }

  private everyone (): string[] {
    const peers = this.c.holders().filter(p => p !== this.c.peerId)
    return this.c.local !== undefined ? [this.c.peerId, ...peers] : peers
  }

  private async askAll (peers: string[], id: string): Promise<JobSnapshot[]> {
    const answers = await Promise.all(peers.map(async peer => await this.ask(peer, JOB_ROUTES.get, [id], { timeout: RESULT_CALL_TIMEOUT_MS })
      .then(s => s as JobSnapshot, (err) => {
        // A malformed id is refused here, before anyone is asked; a holder's refusal to us (FORBIDDEN) is worth reporting.
        if (err instanceof MeshError && err.code === 'FORBIDDEN') throw err
        return undefined
      })))
    return answers.filter((s): s is JobSnapshot => s !== undefined)
  }
}

function better (a: JobSnapshot, b: JobSnapshot): boolean {
  const af = FINAL.has(a.state)
  const bf = FINAL.has(b.state)
  if (af !== bf) return af
  return a.role === 'provider' && b.role !== 'provider'
}

/**
 * A handle on a detached job, from the process that submitted it or any
 * other: `status`, `on('progress')`, `result()`, `cancel()`, like a Job. It
 * follows the job at its holders and moves to the replica if the provider
 * goes away.
 */
export class DetachedJob<T = unknown> extends EventEmitter<DetachedJobEvents> {
  readonly id: string
  task: string
  status: DetachedStatus
  /** The latest progress event, if the job reported any. */
  progress?: unknown
  /** The node that answered last. */
  holder: string
  created: number
  finished?: number
  private following?: Promise<T>

  constructor (private readonly client: JobClient, snapshot: JobSnapshot) {
    super()
    this.id = snapshot.id
    this.task = snapshot.task
    this.holder = snapshot.holder
    this.created = snapshot.created
    this.status = 'PENDING'
    this.apply(snapshot)
    // Listening for progress or status starts following the job.
    ;(this as EventEmitter).on('newListener', (event: string) => {
      if ((event === 'progress' || event === 'status') && !this.done) this.follow().catch(() => {})
    })
  }

  get done (): boolean { return FINAL.has(this.status) }

  /** Ask the holders again; resolves with the current status. */
  async refresh (): Promise<DetachedStatus> {
    this.apply((await this.client.locate(this.id))[0])
    return this.status
  }

  /** The result. `timeout` bounds this wait only (TIMEOUT); the job goes on. */
  async result (options: { timeout?: number } = {}): Promise<T> {
    if (options.timeout === undefined) return await this.follow()
    let timer: NodeJS.Timeout | undefined
    const waited = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new TimeoutError(`job ${this.id} (${this.task}) not done within ${options.timeout} ms`)) }, options.timeout)
    })
    try {
      return await Promise.race([this.follow(), waited])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Cancel the job at every holder; resolves with its status after. */
  async cancel (): Promise<DetachedStatus> {
    const holders = await this.client.locate(this.id)
    const states = await Promise.all(holders.map(async h => await this.client.ask(h.holder, JOB_ROUTES.cancel, [this.id], { timeout: RESULT_CALL_TIMEOUT_MS }).catch(() => undefined)))
    const state = states.find(s => typeof s === 'string') as StoredState | undefined
    if (state !== undefined) this.setStatus(state)
    return this.status
  }

  private apply (snapshot: JobSnapshot): void {
    this.holder = snapshot.holder
    if (snapshot.task !== '') this.task = snapshot.task
    if (snapshot.finished !== undefined) this.finished = snapshot.finished
    if (snapshot.progress !== undefined) this.progress = snapshot.progress
    this.setStatus(snapshot.state)
  }

  private setStatus (status: StoredState): void {
    if (this.status === status || this.done) return
    this.status = status
    this.emit('status', status)
  }

  /** Watch the job at its holders until it settles, moving to another holder when one goes away. */
  private async follow (): Promise<T> {
    this.following ??= (async () => {
      for (let unknown = 0; ; ) {
        let holders: JobSnapshot[]
        try {
          holders = await this.client.locate(this.id)
        } catch (err: any) {
          // The holders may be between a death and a takeover: look again shortly, unless nobody knows it at all.
          if (err?.code !== 'UNKNOWN_JOB' || ++unknown > RELOCATE_ROUNDS) throw err
          await new Promise(resolve => setTimeout(resolve, RELOCATE_PAUSE_MS))
          continue
        }
        for (const snap of holders) {
          this.apply(snap)
          try {
            const value = await this.client.ask(snap.holder, JOB_ROUTES.watch, [this.id], {
              onProgress: (data) => {
                const p = data as { status?: StoredState, progress?: unknown }
                if (p?.status !== undefined) this.setStatus(p.status)
                if (p?.progress !== undefined) { this.progress = p.progress; this.emit('progress', p.progress) }
              }
            }) as T
            this.setStatus('SUCCESS')
            return value
          } catch (err: any) {
            if (err instanceof MeshError && TRY_ELSEWHERE.has(err.code)) continue
            this.setStatus(err?.code === 'CANCELLED' ? 'CANCELLED' : err?.code === 'EXPIRED' ? 'EXPIRED' : 'FAILURE')
            throw err
          }
        }
        await new Promise(resolve => setTimeout(resolve, RELOCATE_PAUSE_MS))
      }
    })()
    return await this.following
  }
}
