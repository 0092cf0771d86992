import type { ComponentLogger, Logger } from '@libp2p/interface'
import { DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_QUEUE_PER_WORKER } from '../constants.js'
import { UnknownTaskError } from '../errors.js'
import { WorkGuard } from '../jobs/guard.js'
import type { LoadInfo, TaskInfo } from '../registry/record.js'
import type { Registry } from '../registry/registry.js'
import type { CallOptions, IncomingCall } from '../rpc/channel.js'
import type { WorkerPool } from '../scheduler/pool.js'
import { StealService, type StealOptions } from '../stealing/index.js'
import { loadTasks, type ServeSpec } from '../tasks/loader.js'
import { checkParams, formatParams } from '../tasks/params.js'
import type { LoadedTask } from '../tasks/types.js'
import { TaskGate } from '../workflows/gate.js'
import type { MeshLimits } from './limits.js'
import type { RoutingTable } from './routes.js'
import type { Activity } from '../events/activity.js'

/** Where the stealing protocol's calls are served: `@mesh/steal`, `@mesh/work`… */
const STEAL_NAMESPACE = '@mesh'

export interface ExecutionComponents {
  peerId: string
  logger: ComponentLogger
  registry: Registry
  routes: RoutingTable
  /** A call to a peer over the RPC service (work stealing's protocol calls). */
  call: (peer: string, name: string, args: unknown[], options: CallOptions) => Promise<unknown>
  /** This node began or finished running a call. */
  onTask: (task: string, from: string, done: boolean, error?: Error) => void
  /** Task events and metrics of the calls run here (src/events); none: untracked. */
  activity?: Activity
}

export interface ExecutionInit {
  serve?: ServeSpec
  workers?: number
  limits: MeshLimits
  steal?: StealOptions
  taskTimeLimit?: number
  maxQueue?: number
  drainTimeout?: number
}

/**
 * The provider side: the tasks this node serves, the worker pool they run on,
 * admission, time limits and draining (WorkGuard), and work stealing of split
 * jobs. It serves the `task` route of the routing table and the internal
 * routes of stealing, and adds its tasks and load to the registry's offer.
 */
export class ExecutionService {
  private tasks = new Map<string, LoadedTask>()
  private pool?: WorkerPool
  private work = new WorkGuard({ workers: 0, maxQueue: 0 })
  /** The queue in front of the work: priorities and per-task rate limits (src/workflows/gate.ts). */
  private gate = new TaskGate(0, new Map())
  /** Work stealing of split jobs; present when the node serves a splittable task on a worker pool. */
  steal?: StealService
  private readonly log: Logger

  constructor (private readonly components: ExecutionComponents, private readonly init: ExecutionInit) {
    this.log = components.logger.forComponent('mesh:execution')
    components.routes.handle('task', async (call, from) => this.execute(call, from))
    components.registry.addOffer(() => ({ tasks: this.taskInfos(), load: this.load() }))
  }

  /** Load the tasks (module imports), start the worker pool and, for splittable tasks, stealing. */
  async start (): Promise<void> {
    this.tasks = await loadTasks(this.init.serve)
    const modules = [...new Set([...this.tasks.values()].filter(t => t.mode === 'pool').map(t => t.module as string))]
    // piscina is imported only by nodes that run pool tasks: a CLI client node never does.
    if (modules.length > 0) {
      const { WorkerPool, defaultWorkerCount } = await import('../scheduler/pool.js')
      this.pool = new WorkerPool(this.init.workers ?? defaultWorkerCount(), modules)
    }
    const workers = this.workers
    this.work = new WorkGuard({ workers, maxQueue: this.init.maxQueue ?? DEFAULT_QUEUE_PER_WORKER * Math.max(1, workers), taskTimeLimit: this.init.taskTimeLimit })
    this.gate = new TaskGate(workers, new Map([...this.tasks.values()].filter(t => t.rateLimit !== undefined).map(t => [t.name, t.rateLimit as string])))
    if (this.pool !== undefined && [...this.tasks.values()].some(t => t.split !== undefined)) {
      const { peerId, registry, call } = this.components
      const steal = new StealService({ peerId, tasks: this.tasks, pool: this.pool, registry, limits: this.init.limits, call }, this.init.steal)
      this.steal = steal
      this.components.routes.handleInternal(STEAL_NAMESPACE, (c, from) => steal.handle(c, from))
    }
    this.log('serving %s', [...this.tasks.keys()].join(',') || 'nothing')
  }

  /** Stop taking part in stealing (before the connections close). */
  halt (): void {
    this.steal?.stop()
    this.components.routes.unhandleInternal(STEAL_NAMESPACE)
  }

  async stop (): Promise<void> {
    this.halt()
    await this.pool?.destroy()
    this.pool = undefined
  }

  /** Names of the tasks this node serves. */
  get served (): string[] { return [...this.tasks.keys()] }

  get workers (): number { return this.pool?.workers ?? 0 }

  /** Does this node serve `task` now (not draining)? */
  offers (task: string): boolean { return this.tasks.has(task) && !this.work.draining }

  idempotent (task: string): boolean { return this.tasks.get(task)?.idempotent === true }

  get draining (): boolean { return this.work.draining }

  /** Calls this node holds for callers (admitted and not finished). */
  get holding (): number { return this.work.holding }

  /** Withdraw this node's tasks from its record and wait up to `timeout` ms for the calls it holds. */
  async drain (timeout = this.init.drainTimeout ?? DEFAULT_DRAIN_TIMEOUT_MS): Promise<boolean> {
    if (!this.work.draining) {
      this.work.draining = true
      await this.components.registry.publishNow()
    }
    return this.work.idle(timeout)
  }

  load (): LoadInfo {
    const pool = this.pool?.load ?? { running: 0, queued: 0 }
    const load: LoadInfo = { running: pool.running, queued: pool.queued + this.gate.waiting, workers: this.workers }
    const stealable = this.steal?.stealable()
    if (stealable !== undefined) load.stealable = stealable
    return load
  }

  private taskInfos (): TaskInfo[] {
    // A draining node withdraws its tasks, so callers stop choosing it.
    if (this.work.draining) return []
    return [...this.tasks.values()].map(t => {
      const info: TaskInfo = { name: t.name, args: formatParams(t.params) }
      if (t.description !== undefined) info.description = t.description
      if (t.idempotent === true) info.idempotent = true
      if (t.rateLimit !== undefined) info.rateLimit = t.rateLimit
      return info
    })
  }

  /** Run a task call here: validate, admit, then run inline, on the worker pool, or split. */
  async execute (call: IncomingCall, from: string): Promise<unknown> {
    const task = this.tasks.get(call.task)
    if (task === undefined) {
      throw new UnknownTaskError(`this node does not serve "${call.task}"; it serves ${[...this.tasks.keys()].join(', ') || 'nothing'}`)
    }
    let args = task.params !== undefined ? checkParams(task.name, task.params, call.args) : call.args
    if (task.validate !== undefined) args = task.validate(args, this.init.limits)
    const pooled = task.mode === 'pool' && this.pool !== undefined
    this.work.admit(pooled)
    let gated = false
    let tracked: ReturnType<Activity['begin']> | undefined
    try {
      // Priorities and rate limits: wait for this call's turn; task:start means it starts now.
      const turn = this.gate.enter(task.name, call.meta.priority, pooled, () => call.signal)
      if (turn !== undefined) { this.components.registry.publish(); await turn }
      gated = true
      this.components.onTask(task.name, from, false)
      tracked = this.components.activity?.begin(task.name, call, from)
      const result = pooled ? await this.runPooled(task, args, tracked?.call ?? call, from) : await task.run(...args)
      this.components.onTask(task.name, from, true)
      tracked?.end()
      return result
    } catch (err: any) {
      if (gated) this.components.onTask(task.name, from, true, err)
      tracked?.end(err)
      throw err
    } finally {
      if (gated) this.gate.leave(pooled)
      this.work.release(pooled)
    }
  }

  private async runPooled (task: LoadedTask, args: unknown[], call: IncomingCall, from: string): Promise<unknown> {
    const { registry } = this.components
    // The caller's cancel or timeout and the node's hard limit terminate the worker.
    const limited = this.work.limit(call.signal, call.meta.timeout)
    registry.publish()
    try {
      // A heavy call of a splittable task becomes a job whose chunks idle peers steal (src/stealing/).
      const split = this.steal?.tryRun(task, args, { task: call.task, args: call.args, meta: call.meta, signal: limited.signal, progress: (data) => { call.progress(data) } }, from)
      return split !== undefined ? await split : await this.pool!.run(task.name, args, limited.signal)
    } catch (err) {
      throw limited.signal.aborted && limited.signal.reason instanceof Error ? limited.signal.reason : err
    } finally {
      limited.dispose()
      registry.publish()
    }
  }
}
