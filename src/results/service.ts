import type { Logger } from '@libp2p/interface'
import { decode, encode } from '../codec.js'
import { EXPIRED_KEPT_MS, PROGRESS_JOURNAL_MS, RESULT_CALL_TIMEOUT_MS, RESULT_SWEEP_MAX_MS, RESULT_SWEEP_MIN_MS } from '../constants.js'
import { BadArgumentError, CancelledError, MayHaveRunError, UnknownJobError, UnknownTaskError, errorToWire } from '../errors.js'
import type { Job, SubmitOptions } from '../jobs/job.js'
import type { CallOptions, IncomingCall } from '../rpc/channel.js'
import { FINAL_STATES, type JobRow, type Journal, type StateUpdate, type StoredState } from '../store/journal.js'
import type { Delays } from '../workflows/delays.js'
import { holderHint, makeJobId, parseJobId, randomJobPart } from './id.js'
import { ResultCopies, placeCopy } from './recopy.js'
import { OutcomeBatches, StateJournal, type Settled } from './states.js'
import { JOB_ROUTES, ROUTE_NAMES, asArgs, copyOf, outcomeOf, parseChanges, parseId, type DetachOptions, type JobSnapshot, type Presubmitted } from './wire.js'

export { JOB_NAMESPACE, JOB_ROUTES } from './wire.js'
export type { DetachOptions, JobSnapshot, Presubmitted } from './wire.js'

/** What the detached-jobs service needs from its node: narrow, so an embedding app can provide it. */
export interface DetachedJobsComponents {
  peerId: string
  journal: Journal
  logger: Logger
  /** Keep results this long after they finish, in ms. */
  ttl: number
  /** Most bytes of finished results kept. */
  maxBytes: number
  defaultTimeout: number
  /** Call an internal route on a peer. */
  call: (peer: string, name: string, args: unknown[], options: CallOptions) => Promise<unknown>
  /** Run a task in the mesh as this node's own Job (provider choice, retries). */
  run: (task: string, args: unknown[], options: SubmitOptions) => Job
  serves: (task: string) => boolean
  /** Whether `task` is safe to run twice (as advertised by `provider`, or as served here). */
  idempotent: (task: string, provider?: string) => boolean
  /** Long-lived peers that keep jobs (those that serve tasks): replica candidates and where to ask. */
  holders: () => string[]
  /** Start times of jobs with an eta: a job whose eta is kept has not started (src/workflows/delays.ts). */
  delays?: Pick<Delays, 'hold' | 'due' | 'started'>
}

interface Watcher { progress: (data: unknown) => void, settle: (row: JobRow) => void }
interface Live { job?: Job, status: StoredState, progress?: unknown, watchers: Set<Watcher>, /** The replica to tell when this node provides the job. */ replica?: string | null }

/**
 * The holder side of detached jobs: accepts them (journal + one replica by
 * rendezvous hashing), runs them through the node's own Job, keeps their
 * results for a TTL within a size bound, answers status/watch/cancel/list
 * for them, and takes over a job whose provider died. See docs/results.md.
 */
export class DetachedJobs {
  private readonly live = new Map<string, Live>()
  private readonly sweeper: NodeJS.Timeout
  /** STARTED / PROGRESS / RETRY and the last progress, journaled coalesced (what a restarted node reports). */
  private readonly states: StateJournal
  /** Outcomes (and running states) on their way to the replicas, one call per replica per SETTLED_BATCH_MS. */
  private readonly outcomes: OutcomeBatches
  /** Finished results whose other holder left, copied to a new one a page at a time. */
  private readonly copies: ResultCopies
  private running = true

  constructor (private readonly c: DetachedJobsComponents) {
    // What the journal gets of a running job, the replica gets in the next batch (no call of its own).
    this.states = new StateJournal(c.journal, c.logger, PROGRESS_JOURNAL_MS, (updates) => { this.shareStates(updates) })
    this.outcomes = new OutcomeBatches(async (peer, batch) => { await this.tell(peer, JOB_ROUTES.settled, [batch]) })
    this.copies = new ResultCopies({
      journal: c.journal,
      logger: c.logger,
      place: async (row, gone) => await placeCopy(this.c, parseJobId(row.id).random, gone, () => [{ ...row, role: 'replica', peer: this.c.peerId }, { moved: true }]),
      canPlace: (gone) => c.holders().some(p => p !== c.peerId && p !== gone),
      alive: (peer) => c.holders().includes(peer)
    })
    this.sweeper = setInterval(() => { this.sweep() }, Math.max(RESULT_SWEEP_MIN_MS, Math.min(RESULT_SWEEP_MAX_MS, c.ttl / 10)))
    this.sweeper.unref()
  }

  static matches (name: string): boolean { return ROUTE_NAMES.has(name) }

  /** Re-run what this node accepted and had not finished (idempotent tasks), fail the rest as MAY_HAVE_RUN. */
  resume (): void {
    for (const row of this.c.journal.unfinished()) {
      if (row.role !== 'provider') continue
      if (row.idempotent || this.c.delays?.due(row.id) !== undefined) this.start(row)
      else this.finish(row.id, 'FAILURE', new MayHaveRunError(`the node holding this job restarted while it ran; "${row.task}" is not idempotent, so it was not re-run (it may or may not have run)`))
    }
  }

  /** Stop; resolves once the outcomes still on their way to the replicas are sent. */
  async stop (): Promise<void> {
    this.running = false
    clearInterval(this.sweeper)
    this.states.stop()
    this.copies.stop()
    const sent = this.outcomes.flush()
    for (const live of this.live.values()) {
      // Held jobs stay in the journal: a restart with the same data dir re-runs them.
      live.job?.removeAllListeners()
      void live.job?.cancel()
    }
    this.live.clear()
    this.c.journal.close()
    await sent
  }

  /** Accept a job here (this node provides `task`) and return its id once it and its replica are journaled. */
  async accept (task: string, args: unknown[], options: DetachOptions, submitter: string, pre?: Presubmitted): Promise<string> {
    if (!this.c.serves(task)) throw new UnknownTaskError(`this node does not serve "${task}"`)
    const timeout = options.timeout ?? this.c.defaultTimeout
    if (!Number.isSafeInteger(timeout) || timeout <= 0) throw new BadArgumentError(`timeout must be a positive integer, got ${String(timeout)}`)
    const random = randomJobPart()
    const row: JobRow = {
      id: '', task, args: encode(args), state: 'PENDING', role: 'provider', peer: null, submitter,
      idempotent: options.idempotent ?? this.c.idempotent(task), timeout, created: Date.now(), finished: null, outcome: null
    }
    if (pre !== undefined) {
      // The submitter chose the id and replicated the job itself: check the id names this node and that replica, and is new.
      const parsed = parseJobId(pre.id)
      if (typeof pre.replica !== 'string' || parsed.provider !== holderHint(this.c.peerId) || parsed.replica !== holderHint(pre.replica)) {
        throw new BadArgumentError('the presubmitted job id does not name this node and its replica')
      }
      row.id = pre.id
      row.peer = pre.replica
      if (options.eta !== undefined) await this.c.delays?.hold(row.id, options.eta, row.peer)
      this.c.journal.accept(row)
      this.start(row, args)
      return row.id
    }
    const replica = await placeCopy(this.c, random, undefined, (r) => [{ ...row, id: makeJobId(random, this.c.peerId, r), role: 'replica', peer: this.c.peerId }])
    row.id = makeJobId(random, this.c.peerId, replica)
    row.peer = replica ?? null
    try {
      if (options.eta !== undefined) await this.c.delays?.hold(row.id, options.eta, row.peer)
      this.c.journal.accept(row)
    } catch (err) {
      if (row.peer !== null) void this.tell(row.peer, JOB_ROUTES.settled, [row.id, 'FAILURE', encode(errorToWire(err))])
      throw err
    }
    this.start(row, args)
    return row.id
  }

  /** Serve one internal call from `from`. */
  handle (call: IncomingCall, from: string): unknown {
    const [first, ...rest] = call.args
    switch (call.task) {
      case JOB_ROUTES.submit: return this.accept(String(first), asArgs(rest[0]), (rest[1] ?? {}) as DetachOptions, from, rest[2] as Presubmitted | undefined)
      case JOB_ROUTES.replicate: return this.keepReplica(first as JobRow, from, (rest[0] as { moved?: unknown } | undefined)?.moved === true)
      case JOB_ROUTES.settled: return this.replicaChanged(parseChanges(Array.isArray(first) ? first : [[first, rest[0], rest[1]]]))
      case JOB_ROUTES.get: return this.snapshot(parseId(first))
      case JOB_ROUTES.watch: return this.watch(parseId(first), call)
      case JOB_ROUTES.cancel: return this.cancel(parseId(first))
      case JOB_ROUTES.list: return this.list((first ?? {}) as { state?: StoredState, task?: string, limit?: number })
      default: throw new UnknownTaskError(`no internal call "${call.task}"`)
    }
  }

  /** This node's view of job `id`, or UNKNOWN_JOB. */
  snapshot (id: string): JobSnapshot {
    const row = this.row(id)
    const live = this.live.get(id)
    const snap: JobSnapshot = { id, task: row.task, state: live?.status ?? row.state, created: row.created, role: row.role, holder: this.c.peerId }
    // A copy nobody watches here has its last progress in the journal (as the provider last sent it).
    const progress = live?.progress ?? (row.progress != null && row.finished === null ? decode(row.progress) : undefined)
    if (progress !== undefined) snap.progress = progress
    if (row.finished !== null) snap.finished = row.finished
    return snap
  }

  /** Wait for job `id` here: progress goes to `call.progress`, the result (or the job's error) is the answer. */
  async watch (id: string, call: Pick<IncomingCall, 'progress' | 'signal'>): Promise<unknown> {
    const row = this.row(id)
    if (row.finished !== null) return outcomeOf(row)
    const live = this.liveOf(id, row.state)
    if (live.progress === undefined && row.progress != null) live.progress = decode(row.progress)
    return new Promise((resolve, reject) => {
      const watcher: Watcher = {
        progress: call.progress,
        settle: (done) => { cleanup(); try { resolve(outcomeOf(done)) } catch (err) { reject(err) } }
      }
      const onAbort = (): void => { cleanup(); reject(new CancelledError('the watch was cancelled')) }
      const cleanup = (): void => { live.watchers.delete(watcher); call.signal.removeEventListener('abort', onAbort) }
      live.watchers.add(watcher)
      call.signal.addEventListener('abort', onAbort, { once: true })
      if (live.progress !== undefined) call.progress({ status: live.status, progress: live.progress })
    })
  }

  /** Cancel job `id` here; resolves with its state after. */
  async cancel (id: string): Promise<StoredState> {
    const row = this.row(id)
    if (row.finished !== null) return row.state
    const live = this.live.get(id)
    if (live?.job !== undefined) {
      await live.job.cancel()
    } else {
      // A replica's copy: stop the provider too, then settle the copy.
      if (row.peer !== null) await this.c.call(row.peer, JOB_ROUTES.cancel, [id], { timeout: RESULT_CALL_TIMEOUT_MS }).catch(() => {})
      this.finish(id, 'CANCELLED', new CancelledError('the job was cancelled'), false)
    }
    return this.row(id).state
  }

  list (filter: { state?: StoredState, task?: string, limit?: number }): JobSnapshot[] {
    const limit = Number.isSafeInteger(filter.limit) && (filter.limit as number) > 0 ? filter.limit as number : 100
    return this.c.journal.list({ state: filter.state, task: filter.task, limit }).map(row => {
      const snap: JobSnapshot = { id: row.id, task: row.task, state: this.live.get(row.id)?.status ?? this.visibleState(row), created: row.created, role: row.role, holder: this.c.peerId }
      if (row.finished !== null) snap.finished = row.finished
      return snap
    })
  }

  /**
   * A peer left. The unfinished jobs it provided that this node keeps a copy
   * of are taken over (idempotent ones re-dispatched, the others failed
   * MAY_HAVE_RUN); those it kept a copy of for this node lost their replica.
   * Either way this node is now their only holder, so it gives each running
   * one a new replica: a second death loses nothing either. The finished
   * results it also held get a new holder too, a page at a time (recopy.ts).
   */
  peerLeft (peer: string): void {
    if (!this.running) return
    for (const row of this.c.journal.heldWith(peer)) {
      if (row.role === 'provider') {
        this.c.logger('replica %s of job %s is gone: choosing another', peer, row.id)
        const live = this.live.get(row.id)
        if (live !== undefined) live.replica = null
        this.c.journal.setPeer(row.id, null)
        this.rereplicate(row.id, peer)
        continue
      }
      this.c.journal.takeOver(row.id)
      // A job whose eta is still ahead cannot have started.
      if (row.idempotent || (this.c.delays?.due(row.id) ?? 0) > Date.now()) {
        this.c.logger('provider %s of job %s is gone: re-dispatching it', peer, row.id)
        this.start({ ...row, role: 'provider', peer: null })
        this.rereplicate(row.id, peer)
      } else {
        this.finish(row.id, 'FAILURE', new MayHaveRunError(`the provider of this job left while it ran; "${row.task}" is not idempotent, so it was not re-run (it may or may not have run)`), false)
      }
    }
    this.copies.left(peer)
  }

  /**
   * Keep a copy of a job: sent by its provider, or by its submitter in
   * parallel with the submit (then `row.peer` names the provider) — the id
   * names both. A `moved` copy comes from a holder that lost the job's other
   * holder (it took the job over, or its replica died): its sender is the
   * provider now, whom the id need not name; it carries the job's running
   * state and last progress, or its outcome when it had finished (a result
   * copied to a new second holder, kept until the same TTL).
   */
  private keepReplica (row: JobRow, from: string, moved: boolean): void {
    const copy = copyOf(row, from, moved, this.c.peerId, this.c.idempotent)
    if (copy.finished === null) {
      this.c.journal.accept(copy)
      return
    }
    try {
      this.c.journal.accept(copy)
    } catch (err: any) {
      // Held here already (a copy of an earlier move, or this node restarted): it is held, with this outcome.
      if (err?.code !== 'BAD_ARGUMENT') throw err
      if (this.c.journal.get(copy.id)?.finished === null) this.settle(copy.id, copy.state, copy.outcome, false)
      return
    }
    this.c.journal.bound(this.c.maxBytes)
  }

  /** Give the replicas the running states just journaled here: each rides its replica's next outcome batch. */
  private shareStates (updates: StateUpdate[]): void {
    for (const u of updates) {
      const replica = this.live.get(u.id)?.replica
      if (replica != null) this.outcomes.add(replica, [u.id, u.state, u.progress ?? null])
    }
  }

  /** Give running job `id`, held here alone since `gone` left, a new replica (same rendezvous order as at submit). */
  private rereplicate (id: string, gone: string): void {
    const row = this.c.journal.get(id)
    if (row === undefined || row.finished !== null) return
    const copy = [{ ...row, role: 'replica', peer: this.c.peerId }, { moved: true }]
    placeCopy(this.c, parseJobId(id).random, gone, () => copy).then((replica) => {
      if (replica === undefined || !this.running) return
      this.c.journal.setPeer(id, replica)
      // A job whose eta is still kept here has not started: the new replica keeps the eta too.
      const eta = this.c.delays?.due(id)
      if (eta !== undefined) void this.c.delays?.hold(id, eta, replica)
      const live = this.live.get(id)
      if (live !== undefined) {
        live.replica = replica
        return
      }
      // It settled while the copy was on its way: tell the new replica how it ended.
      const done = this.c.journal.get(id)
      if (done?.finished != null) void this.tell(replica, JOB_ROUTES.settled, [id, done.state, done.outcome])
    }).catch((err: any) => { this.c.logger.error('cannot give job %s a new replica: %s', id, err.message) })
  }

  /**
   * Changes from a provider (one outcome, or a batch of SETTLED_BATCH_MS:
   * outcomes, and the running states it journaled): journaled in one
   * transaction, running states first (a job's outcome supersedes its state).
   */
  private replicaChanged (changes: Settled[]): void {
    const running = changes.filter(([, state]) => !FINAL_STATES.has(state))
    this.c.journal.batch(() => {
      if (running.length > 0) this.c.journal.setStates(running.map(([id, state, progress]) => progress !== null ? { id, state, progress } : { id, state }))
      for (const [id, state, outcome] of changes) if (FINAL_STATES.has(state)) this.settle(id, state, outcome, false)
    })
    for (const [id, state, progress] of running) {
      // Someone following the job here hears it as from the provider.
      const live = this.live.get(id)
      if (live === undefined) continue
      live.status = state
      if (progress === null) continue
      live.progress = decode(progress)
      for (const w of live.watchers) w.progress({ status: state, progress: live.progress })
    }
  }

  /** Run a held job as this node's own Job; `args` when at hand (just accepted), else decoded from the row. */
  private start (row: JobRow, args: unknown[] = row.args !== null ? asArgs(decode(row.args)) : []): void {
    // A job resumed after a restart reads as it was journaled (STARTED, or PROGRESS with its last progress) until it reports anew.
    const live = this.liveOf(row.id, row.state)
    if (row.progress != null && live.progress === undefined) live.progress = decode(row.progress)
    live.replica = row.peer
    // A delayed job's time limit counts from its eta.
    const eta = this.c.delays?.due(row.id)
    const elapsed = Math.max(0, Date.now() - Math.max(row.created, eta ?? 0))
    const job = this.c.run(row.task, args, { timeout: Math.max(1, row.timeout - elapsed), idempotent: row.idempotent, eta })
    live.job = job
    job.on('status', (status) => {
      if (eta !== undefined && status === 'STARTED') this.c.delays?.started(row.id)
      if (status === live.status) return
      live.status = status
      if (!FINAL_STATES.has(status)) this.states.note(row.id, status)
    })
    job.on('progress', (data) => {
      live.progress = data
      this.states.note(row.id, 'PROGRESS', data)
      for (const w of live.watchers) w.progress({ status: 'PROGRESS', progress: data })
    })
    job.result().then(
      (value) => { this.settle(row.id, 'SUCCESS', encode(value), true) },
      (err) => { this.finish(row.id, job.status === 'CANCELLED' ? 'CANCELLED' : 'FAILURE', err, true) }
    )
  }

  private finish (id: string, state: StoredState, err: unknown, tellReplica = true): void {
    this.settle(id, state, encode(errorToWire(err)), tellReplica)
  }

  /** Record a final state here (and at the replica when this node provides the job), then wake the watchers. */
  private settle (id: string, state: StoredState, outcome: Uint8Array | null, tellReplica: boolean): void {
    // A job stopped by the node's own stop() is not settled: a restart re-runs it.
    if (!this.running) return
    const finished = Date.now()
    this.states.drop(id)
    try {
      this.c.journal.settle(id, state, outcome, finished)
      this.c.journal.bound(this.c.maxBytes)
    } catch (err: any) {
      this.c.logger.error('cannot journal the outcome of job %s: %s', id, err.message)
    }
    const live = this.live.get(id)
    this.live.delete(id)
    const replica = live !== undefined ? live.replica : this.c.journal.get(id)?.peer
    if (tellReplica && replica != null) this.outcomes.add(replica, [id, state, outcome])
    // What the watchers need of the row; read back from the journal it would cost a query per job.
    const done: JobRow = { id, task: '', args: null, state, role: 'provider', peer: null, submitter: '', idempotent: false, timeout: 0, created: finished, finished, outcome }
    for (const w of live?.watchers ?? []) w.settle(done)
  }

  private async tell (peer: string, route: string, args: unknown[]): Promise<void> {
    await this.c.call(peer, route, args, { timeout: RESULT_CALL_TIMEOUT_MS }).catch((err: any) => { this.c.logger('telling %s %s failed: %s', peer, route, err.message) })
  }

  private liveOf (id: string, status: StoredState): Live {
    let live = this.live.get(id)
    if (live === undefined) {
      live = { status, watchers: new Set() }
      this.live.set(id, live)
    }
    return live
  }

  private row (id: string): JobRow {
    const row = this.c.journal.get(id)
    if (row === undefined) throw new UnknownJobError(`no job ${id} here`)
    if (this.visibleState(row) === 'EXPIRED' && row.state !== 'EXPIRED') return { ...row, state: 'EXPIRED', outcome: null }
    return row
  }

  /** A result past its TTL reads EXPIRED even before the sweep drops it. */
  private visibleState (row: JobRow): StoredState {
    return row.finished !== null && Date.now() - row.finished > this.c.ttl ? 'EXPIRED' : row.state
  }

  private sweep (): void {
    try {
      this.c.journal.sweep(Date.now(), this.c.ttl, this.c.ttl + EXPIRED_KEPT_MS)
    } catch (err: any) {
      this.c.logger.error('sweeping expired results failed: %s', err.message)
    }
  }
}
