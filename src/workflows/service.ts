import { createHash, randomUUID } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { logger } from '@libp2p/logger'
import { DEFAULT_CALL_TIMEOUT_MS, DEFAULT_MAP_CONCURRENCY, DEFAULT_MAX_CHAIN_STEPS, DEFAULT_MAX_WORKFLOW_SIGNATURES, WORKFLOW_UNKNOWN_AFTER_MS } from '../constants.js'
import { BadArgumentError, BadFrameError, CancelledError, MeshError, TimeoutError, UnknownTaskError, errorFromWire, errorToWire } from '../errors.js'
import { Job, type JobHost, type SubmitOptions } from '../jobs/job.js'
import type { CallOptions } from '../rpc/channel.js'
import type { RouteHandler } from '../execution/routes.js'
import { ChordJoins, askHolder, JOURNALED_NOTE, type ChordComponents } from './chords.js'
import type { WorkflowStore } from '../store/workflow-store.js'
import { parseWorkflow, type Chain, type Chord, type NamedStep, type Signature, type Workflow, type WorkflowLimits } from './signatures.js'

const log = logger('mesh:workflows')

/** The routing table's namespace of the workflow calls. */
export const WORKFLOW_NAMESPACE = '@mesh/wf'

/** The internal calls of workflows, riding the RPC channel like tasks (names with '@' never collide with one). */
export const WORKFLOW_ROUTES = {
  /** previous hop → next hop: run the first of `steps` here, then hand the result on. */
  chain: '@mesh/wf/chain',
  /** last hop → submitter: the chain's final result. */
  done: '@mesh/wf/done',
  /** submitter → the chord's holder (rendezvous of the chord id): run the header, join, fire the body once. */
  chord: '@mesh/wf/chord'
} as const

/** What the workflow service needs from its node: narrow, so it can be built alone in a test or another libp2p node. */
export interface WorkflowComponents {
  peerId: string
  /** Nodes (this one included) that serve `task`, best first. */
  providers: (task: string) => string[]
  /** Every node of the mesh known now, this one included: the candidates to hold a chord. */
  members: () => string[]
  waitForProvider: (task: string, options: { timeout: number, signal?: AbortSignal, unknownAfter?: number }) => Promise<string>
  idempotent: (task: string, provider: string) => boolean
  /** One RPC call to a peer. */
  call: (peer: string, name: string, args: unknown[], options: CallOptions) => Promise<unknown>
  /** Run a task on this node, as a call from `from` (admission, limits, the worker pool: as any call). */
  runHere: (task: string, args: unknown[], ctx: { from: string, signal: AbortSignal, timeout: number }) => Promise<unknown>
  /** A job anywhere in the mesh: node.submit. */
  submit: (task: string, args: unknown[], options: SubmitOptions) => Job
  /** Detached jobs (src/results): the members and body of a journaled chord. */
  detached: Pick<ChordComponents, 'submit' | 'job'>
}

export interface RunOptions {
  /** Time for the whole workflow, in ms. */
  timeout?: number
  signal?: AbortSignal
  /** Retries of each call (see SubmitOptions.retries). */
  retries?: number
  /** Chain progress: `{ chain, step, of, task, peer }` after each step, from the node that ran it. */
  onProgress?: (event: ChainProgress) => void
}

export interface ChainProgress { chain: string, step: number, of: number, task: string, peer: string }

/** Counters that show where work and results went (tests prove direct hand-off with them). */
export interface WorkflowStats {
  /** Workflow RPC calls this node made (hand-offs, result deliveries, chord requests). */
  callsOut: number
  /** Chain results this node handed to another node's step, and received from one. */
  handoffsOut: number
  handoffsIn: number
  /** Chain steps run here. */
  stepsRun: number
  /** Final chain results sent to a submitter, and received as the submitter. */
  resultsDelivered: number
  resultsReceived: number
  /** Chords this node held the join of, and chord bodies it fired. */
  chordsHeld: number
  chordsFired: number
}

/** What a hop answers: `[result]` when the chain's result rides the reply to the submitter, null when a `done` call delivered it. */
type HopReply = [unknown] | null

/** A hand-off on the wire; `progress`: the submitter wants an event per step (each is a frame back along the chain). */
type HopArgs = [id: string, origin: string, base: number, total: number, steps: Signature[], input: unknown, hasInput: boolean, progress: boolean]

/**
 * Runs workflows with no broker. A chain is handed from node to node: the
 * node that ran step n chooses a provider of step n+1 and calls it with the
 * result and the rest of the chain; the last node sends the final result
 * straight to the submitter. A chord's join is held by the node that
 * rendezvous hashing of the chord id picks; its members' results go there,
 * and it fires the body once.
 */
export class WorkflowService {
  readonly limits: WorkflowLimits
  private readonly counters: WorkflowStats = { callsOut: 0, handoffsOut: 0, handoffsIn: 0, stepsRun: 0, resultsDelivered: 0, resultsReceived: 0, chordsHeld: 0, chordsFired: 0 }
  /** Chains this node submitted and waits on: filled by the last hop's `done`. */
  private readonly waiting = new Map<string, { value?: unknown, delivered: boolean }>()
  /** Chord joins journaled in the node's store, so they outlive a restart of this node. */
  private readonly joins: ChordJoins

  constructor (private readonly c: WorkflowComponents, limits: Partial<WorkflowLimits> = {}) {
    this.limits = { maxChainSteps: DEFAULT_MAX_CHAIN_STEPS, maxWorkflowSignatures: DEFAULT_MAX_WORKFLOW_SIGNATURES, ...limits }
    this.joins = new ChordJoins({
      ...c.detached,
      mayRunTwice: (tasks) => tasks.every(t => this.c.providers(t).some(p => this.c.idempotent(t, p))),
      exec: async (w, deadline, input) => await this.exec(w, { deadline: performance.now() + (deadline - Date.now()) }, { value: input }),
      onFire: () => { this.counters.chordsFired++ }
    })
  }

  /** Journal chord joins in `store` (a node with a data dir); resume() then takes back the ones not finished. */
  attach (store?: WorkflowStore): void { this.joins.attach(store) }

  resume (): void { this.joins.resume() }

  stats (): WorkflowStats { return { ...this.counters } }

  /** Run a workflow somewhere in the mesh; every task it names is checked first, so a bad step fails before anything runs. */
  async run<T = unknown>(workflow: Workflow, options: RunOptions = {}): Promise<T> {
    const { workflow: parsed, steps } = parseWorkflow(workflow, this.limits)
    const deadline = performance.now() + (options.timeout ?? DEFAULT_CALL_TIMEOUT_MS)
    await this.checkTasks(steps, deadline, options.signal)
    return await this.exec(parsed, { deadline, signal: options.signal, retries: options.retries, onProgress: options.onProgress }) as T
  }

  /**
   * `task` over every item, at most `concurrency` calls in flight, results in
   * item order (Dask's client.map, Celery's map; `spread: true` for starmap,
   * each item an argument list). The first failure stops it: calls not yet
   * sent are not sent, those in flight are cancelled.
   */
  async map<T = unknown>(task: string, items: unknown[], options: MapOptions = {}): Promise<T[]> {
    const concurrency = options.concurrency ?? DEFAULT_MAP_CONCURRENCY
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new BadArgumentError(`map: concurrency must be a positive integer, got ${String(concurrency)}`)
    if (!Array.isArray(items)) throw new BadArgumentError('map: items must be an array')
    if (options.spread === true && !items.every(Array.isArray)) throw new BadArgumentError('map: with spread, every item must be an argument list')
    const timeout = options.timeout ?? DEFAULT_CALL_TIMEOUT_MS
    await this.checkTasks([{ task, where: 'map' }], performance.now() + timeout, options.signal)
    const controller = new AbortController()
    const signal = linked(controller, options.signal)
    const results = new Array<T>(items.length)
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < items.length && !signal.aborted) {
        const i = next++
        const args = options.spread === true ? items[i] as unknown[] : [items[i]]
        results[i] = await this.c.submit(task, args, { ...options, signal }).result() as T
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => worker().catch((err) => { controller.abort(); throw err })))
    if (options.signal?.aborted === true) throw new CancelledError('the map was cancelled')
    return results
  }

  /** Fail with UNKNOWN_TASK naming the step when the mesh has no provider of a task the workflow names. */
  async checkTasks (steps: NamedStep[], deadline: number, signal?: AbortSignal): Promise<void> {
    const first = new Map<string, string>()
    for (const s of steps) if (!first.has(s.task)) first.set(s.task, s.where)
    await Promise.all([...first].filter(([task]) => this.c.providers(task).length === 0).map(async ([task, where]) => {
      try {
        await this.c.waitForProvider(task, { timeout: remainingMs(deadline, task), signal, unknownAfter: WORKFLOW_UNKNOWN_AFTER_MS })
      } catch (err: any) {
        if (err instanceof MeshError && err.code === 'UNKNOWN_TASK') {
          throw new UnknownTaskError(`${where} names "${task}", which no node in the mesh serves; nothing was run (${err.message})`, { step: where, task })
        }
        if (err instanceof MeshError) throw errorFromWire({ ...err.toWire(), message: `${where} (${task}): ${err.message}; nothing was run` })
        throw err
      }
    }))
  }

  private async exec (w: Workflow, ctx: ExecContext, input?: { value: unknown }): Promise<unknown> {
    switch (w.kind) {
      case 'sig': {
        const args = input !== undefined ? [input.value, ...w.args] : w.args
        return this.c.submit(w.task, args, { timeout: remainingMs(ctx.deadline, w.task), signal: ctx.signal, retries: ctx.retries }).result()
      }
      case 'chain': return this.runChain(w, ctx, input)
      case 'group': {
        // The first failure fails the group and cancels the members still running.
        const controller = new AbortController()
        const signal = linked(controller, ctx.signal)
        return Promise.all(w.members.map(async m => this.exec(m, { ...ctx, signal }).catch((err) => { controller.abort(); throw err })))
      }
      case 'chord': return this.runChord(w, ctx)
    }
  }

  /** Submit a chain: one call to the first step's provider; the result arrives from the last. */
  private async runChain (w: Chain, ctx: ExecContext, input?: { value: unknown }): Promise<unknown> {
    const id = randomUUID()
    const entry: { value?: unknown, delivered: boolean } = { delivered: false }
    this.waiting.set(id, entry)
    try {
      const wire: HopArgs = [id, this.c.peerId, 0, w.steps.length, w.steps, input?.value, input !== undefined, ctx.onProgress !== undefined]
      const replied = await this.handOff(wire, ctx.deadline, ctx.signal, ctx.retries, true, ctx.onProgress)
      if (Array.isArray(replied)) { this.counters.resultsReceived++; return replied[0] }
      // The last hop delivered the result before it answered the call that led to it.
      if (!entry.delivered) throw new BadFrameError(`chain ${id} ended without delivering its result`)
      return entry.value
    } finally {
      this.waiting.delete(id)
    }
  }

  /**
   * Send the rest of a chain (and the previous result) to a provider of its
   * first step, retrying elsewhere when that provider refuses or dies (the
   * Job rules). A failure reported from further down the chain was already
   * retried there: it ends the chain as it is.
   */
  private async handOff (wire: HopArgs, deadline: number, signal: AbortSignal | undefined, retries: number | undefined, viaOrigin: boolean, onProgress?: (event: ChainProgress) => void): Promise<HopReply> {
    const steps = wire[4]
    let final: Error | undefined
    const host: JobHost = {
      choose: (task, avoid) => this.c.providers(task).find(p => !avoid.has(p)),
      waitForProvider: async (task, options) => this.c.waitForProvider(task, options),
      run: async (provider, _task, _args, attempt) => {
        if (provider === this.c.peerId) {
          return this.hop(wire, { from: this.c.peerId, signal: attempt.signal(), timeout: attempt.timeout, progress: attempt.onProgress, viaOrigin })
        }
        this.counters.callsOut++
        if (wire[6]) this.counters.handoffsOut++
        try {
          return await this.c.call(provider, WORKFLOW_ROUTES.chain, wire, { timeout: attempt.timeout, job: attempt.job, onProgress: attempt.onProgress, cancelHook: attempt.cancelHook })
        } catch (err: any) {
          if (isStepFailure(err)) { final = err; throw new MeshError('CHAIN_FAILED', err.message) }
          throw err
        }
      },
      idempotent: (task, provider) => this.c.idempotent(task, provider) && steps.slice(1).every(s => this.c.providers(s.task).some(p => this.c.idempotent(s.task, p)))
    }
    const job = new Job(host, steps[0].task, [], { timeout: remainingMs(deadline, steps[0].task), signal, retries, onProgress: onProgress as (data: unknown) => void })
    try {
      return await job.result() as HopReply
    } catch (err) {
      throw final ?? err
    }
  }

  /**
   * One hop: run the first step here, then hand on the rest, or deliver the
   * final result to the submitter: in the reply when this call's answer goes
   * straight back to it (`viaOrigin`: the submitter called this node, or this
   * node ran the steps since), else by a `done` call to it.
   */
  private async hop (wire: HopArgs, ctx: { from: string, signal: AbortSignal, timeout: number, progress: (data: unknown) => void, viaOrigin: boolean }): Promise<HopReply> {
    const [id, origin, base, total, steps, input, hasInput, wantProgress] = wire
    const step = steps[0]
    if (ctx.from !== this.c.peerId && hasInput) this.counters.handoffsIn++
    const deadline = performance.now() + ctx.timeout
    let value: unknown
    try {
      value = await this.c.runHere(step.task, hasInput ? [input, ...step.args] : step.args, { from: ctx.from, signal: ctx.signal, timeout: ctx.timeout })
    } catch (err: any) {
      // Refused before it ran: the previous hop may try another provider.
      if (err instanceof MeshError && (err.code === 'BUSY' || err.code === 'NOT_RUNNING')) throw err
      throw stepFailure(err, base + 1, step.task)
    }
    this.counters.stepsRun++
    if (wantProgress) ctx.progress({ chain: id, step: base + 1, of: total, task: step.task, peer: this.c.peerId } satisfies ChainProgress)
    if (steps.length > 1) {
      return this.handOff([id, origin, base + 1, total, steps.slice(1), value, true, wantProgress], deadline, ctx.signal, undefined, ctx.viaOrigin, ctx.progress)
    }
    this.counters.resultsDelivered++
    if (ctx.viaOrigin) return [value]
    this.counters.callsOut++
    await this.c.call(origin, WORKFLOW_ROUTES.done, [id, value], { timeout: remainingMs(deadline, 'the chain result delivery') })
    return null
  }

  private accept (id: string, value: unknown): void {
    const entry = this.waiting.get(id)
    // A retried hop may deliver twice; only the first counts.
    if (entry === undefined || entry.delivered) return
    entry.delivered = true
    entry.value = value
    this.counters.resultsReceived++
  }

  /** Send a chord to its holder: the live node ranked first for the chord id (rendezvous hashing), or the next if it dies. */
  private async runChord (w: Chord, ctx: ExecContext): Promise<unknown> {
    const id = randomUUID()
    const ranked = rendezvous(id, this.c.members())
    const tasks = [...parseWorkflow(w, this.limits).steps.map(s => s.task)]
    const host: JobHost = {
      choose: (_task, avoid) => ranked.find(p => !avoid.has(p)) ?? this.c.peerId,
      waitForProvider: async () => this.c.peerId,
      run: async (provider, _task, _args, attempt) => {
        if (provider === this.c.peerId) return this.holdChord(id, w, { ...ctx, deadline: performance.now() + attempt.timeout, signal: attempt.signal() })
        return await askHolder(async (onProgress) => {
          this.counters.callsOut++
          return await this.c.call(provider, WORKFLOW_ROUTES.chord, [id, w], { timeout: remainingMs(ctx.deadline, 'chord'), job: attempt.job, cancelHook: attempt.cancelHook, onProgress })
        }, { back: () => this.c.members().includes(provider), deadline: ctx.deadline, signal: attempt.signal() })
      },
      // Safe to hold again elsewhere only if every member and the body may run twice.
      idempotent: () => tasks.every(t => this.c.providers(t).some(p => this.c.idempotent(t, p)))
    }
    return new Job(host, 'chord', [], { timeout: remainingMs(ctx.deadline, 'chord'), signal: ctx.signal, retries: ctx.retries }).result()
  }

  /**
   * Hold a chord's join: run the header's members from here, then fire the
   * body exactly once with their results. Journaled when this node has a
   * store and the members are single tasks (./chords.ts); `journaled` then
   * tells the submitter, which may ask again after this node restarts.
   */
  private async holdChord (id: string, w: Chord, ctx: ExecContext, journaled?: (note: unknown) => void): Promise<unknown> {
    if (this.joins.journals(w)) {
      journaled?.(JOURNALED_NOTE)
      this.counters.chordsHeld++
      return await this.joins.hold(id, w, Date.now() + remainingMs(ctx.deadline, 'chord'))
    }
    this.counters.chordsHeld++
    const results = await this.exec(w.header, ctx)
    this.counters.chordsFired++
    return this.exec(w.body, ctx, { value: results })
  }

  /** The route table of the workflow calls peers make here. */
  readonly handle: RouteHandler = async (call, from) => {
    switch (call.task) {
      case WORKFLOW_ROUTES.chain:
      {
        const wire = parseHop(call.args, this.limits)
        return this.hop(wire, { from, signal: call.signal, timeout: call.meta.timeout ?? DEFAULT_CALL_TIMEOUT_MS, progress: call.progress, viaOrigin: from === wire[1] })
      }
      case WORKFLOW_ROUTES.done: {
        const [id, value] = call.args
        if (typeof id !== 'string') throw new BadArgumentError('done: a chain id is required')
        this.accept(id, value)
        return null
      }
      case WORKFLOW_ROUTES.chord: {
        const { workflow } = parseWorkflow(call.args[1], this.limits)
        if (workflow.kind !== 'chord') throw new BadArgumentError('chord: the workflow must be a chord')
        log('holding chord %s for %s', String(call.args[0]), from)
        if (typeof call.args[0] !== 'string') throw new BadArgumentError('chord: a chord id is required')
        return this.holdChord(call.args[0], workflow, { deadline: performance.now() + (call.meta.timeout ?? DEFAULT_CALL_TIMEOUT_MS), signal: call.signal }, call.progress)
      }
      default:
        throw new UnknownTaskError(`this node has no workflow call "${call.task}"`)
    }
  }
}

export interface MapOptions extends Omit<SubmitOptions, 'onProgress'> {
  /** Calls in flight at once; default DEFAULT_MAP_CONCURRENCY. */
  concurrency?: number
  /** Each item is a list of arguments (starmap), not one argument. */
  spread?: boolean
}

interface ExecContext {
  deadline: number
  signal?: AbortSignal
  retries?: number
  onProgress?: (event: ChainProgress) => void
}

/** A signal aborted by `controller` or `parent`, that every job of a group or map may listen on. */
function linked (controller: AbortController, parent?: AbortSignal): AbortSignal {
  const signal = parent !== undefined ? AbortSignal.any([parent, controller.signal]) : controller.signal
  setMaxListeners(Infinity, signal)
  return signal
}

/** Milliseconds left before `deadline`, or a TIMEOUT naming what ran out of time. */
function remainingMs (deadline: number, what: string): number {
  const left = Math.ceil(deadline - performance.now())
  if (left <= 0) throw new TimeoutError(`${what}: the workflow ran out of time`)
  return left
}

/** Rendezvous (highest random weight) hashing: every node ranks the candidates for `key` alike, with no coordination. */
export function rendezvous (key: string, candidates: string[]): string[] {
  const weight = (peer: string): string => createHash('sha256').update(key).update('\0').update(peer).digest('hex')
  return candidates.map(p => ({ p, w: weight(p) })).sort((a, b) => a.w < b.w ? 1 : a.w > b.w ? -1 : 0).map(x => x.p)
}

/** A chain step's failure, naming the step; marked so the hops upstream pass it back unchanged instead of retrying. */
function stepFailure (err: unknown, step: number, task: string): MeshError {
  if (isStepFailure(err)) return err
  if (err instanceof CancelledError) return err
  const wire = errorToWire(err)
  return errorFromWire({ code: wire.code, message: `chain step ${step} (${task}) failed: ${wire.message}`, data: { chainStep: step, task, cause: wire.data } })
}

function isStepFailure (err: unknown): err is MeshError {
  return err instanceof MeshError && typeof (err.data as { chainStep?: unknown } | undefined)?.chainStep === 'number'
}

/** Check a hop's arguments as a peer sent them. */
function parseHop (args: unknown[], limits: WorkflowLimits): HopArgs {
  const [id, origin, base, total, steps, input, hasInput, progress] = args
  if (typeof id !== 'string' || typeof origin !== 'string' || !Number.isSafeInteger(base) || !Number.isSafeInteger(total) || typeof hasInput !== 'boolean' || typeof progress !== 'boolean') {
    throw new BadArgumentError('chain hop: malformed hand-off')
  }
  const { workflow } = parseWorkflow({ kind: 'chain', steps }, limits)
  return [id, origin, base as number, total as number, (workflow as Chain).steps, input, hasInput, progress]
}
