import { EventEmitter } from 'node:events'
import { hostname } from 'node:os'
import type { ContentRouting, Logger, Metrics, Startable } from '@libp2p/interface'
import { serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { NotRunningError } from '../errors.js'
import { checkExecutionOptions, type MeshLimits } from '../execution/limits.js'
import { RoutingTable } from '../execution/routes.js'
import { ExecutionService } from '../execution/service.js'
import { Caller, type MeshCallOptions } from '../jobs/caller.js'
import { PARTS_NAMESPACE } from '../stealing/parts.js'
import type { Job, SubmitOptions } from '../jobs/job.js'
import { ObjectService, OBJECT_NAMESPACE } from '../objects/service.js'
import type { ExposeOptions, LookupOptions, ObjectEntry, ObjectStats, Remote } from '../objects/types.js'
import { DhtDirectory } from '../registry/dht.js'
import { LanRegistry, type LanRegistryComponents } from '../registry/lan.js'
import { PeerIds } from '../registry/peer-ids.js'
import type { NodeRecord } from '../registry/record.js'
import type { Registry } from '../registry/registry.js'
import type { CallOptions } from '../rpc/channel.js'
import type { LeaseOptions } from '../rpc/lease.js'
import { RpcService } from '../rpc/service.js'
import type { StealOptions, StealService } from '../stealing/index.js'
import { parseAllowList } from '../security/allow.js'
import { CallGuard } from '../security/guard.js'
import type { ServeSpec } from '../tasks/loader.js'
import { JOB_NAMESPACE, ResultsService, checkResultOptions, type DetachedJob, type JobSnapshot, type ResultOptions } from '../results/index.js'
import type { StoredState } from '../store/journal.js'
import { WorkflowStore } from '../store/workflow-store.js'
import { Activity } from '../events/activity.js'
import { EventService, EVENT_NAMESPACE } from '../events/protocol.js'
import type { MeshMetrics } from '../metrics/metrics.js'
import type { Registry as PromRegistry } from 'prom-client'
import { Delays, DELAY_NAMESPACE, etaOf } from '../workflows/delays.js'
import { ScheduleService, SCHEDULE_NAMESPACE, type ScheduleRecord, type ScheduleStats } from '../workflows/schedules.js'
import type { ScheduleSpec } from '../workflows/schedule-spec.js'
import { WorkflowService, WORKFLOW_NAMESPACE, type MapOptions, type RunOptions, type WorkflowStats } from '../workflows/service.js'
import type { Workflow, WorkflowLimits } from '../workflows/signatures.js'

/** What `meshService(init)` and `createMeshNode(options)` take about the mesh itself (not the transport). */
export interface MeshServiceInit extends ResultOptions {
  /** Tasks to serve: built-in names, module paths, or a map of definitions. */
  serve?: ServeSpec
  /** A human name shown in `mesh ls` and `mesh peers`; defaults to the host name and pid. */
  name?: string
  /** Worker threads for CPU-heavy tasks; default: cores − 1 (at least 1). */
  workers?: number
  limits?: Partial<MeshLimits>
  /** Work stealing of split jobs: chunk count, split threshold, throttle (docs/work-stealing.md). */
  steal?: StealOptions
  /** Lease heartbeats and watching on RPC channels (docs/reliability.md); false turns them off. */
  lease?: LeaseOptions | false
  /** Hard limit on one pool task's run time here, in ms: its worker thread is terminated. Default: none. */
  taskTimeLimit?: number
  /** Calls that may wait for a worker beyond those running before callers are answered BUSY; default 64 per worker. */
  maxQueue?: number
  /** How long drain() waits for held calls by default, in ms. */
  drainTimeout?: number
  /** Peer ids that may call this node; others get FORBIDDEN. Default: any peer that can connect. */
  allow?: string[]
  /** False when the node's identity is new at each start: then its job journal defaults to `:memory:` (docs/results.md). Default true. */
  persistentIdentity?: boolean
  /**
   * Prometheus metrics (src/metrics, docs/dashboard.md) in `metrics`: mesh's own,
   * in `registry` if given (an app's prom-client registry), else one of its own.
   * createMeshNode adds libp2p's own unless `libp2p: false`. Default off.
   */
  metrics?: boolean | { libp2p?: boolean, registry?: PromRegistry }
  /** Peer ids (dashboard nodes) that may cancel jobs running here and drain this node. Default: none. */
  admins?: string[]
  /** Limits on the workflows (chains, groups, chords) this node submits or takes part in (docs/workflows.md). */
  workflows?: Partial<WorkflowLimits>
  /**
   * Use a DHT for meshes that mDNS and record relaying do not span
   * (docs/dht.md): true provides the tasks served under their keys and
   * looks up tasks no known peer serves; 'client' only looks up (short-lived
   * callers). createMeshNode then runs mesh's private DHT (meshDht()); an
   * app with its own libp2p node adds one to its services. Default: off.
   */
  dht?: boolean | 'client'
}

/** The libp2p components the mesh service uses (each part gets only its share): the registry's, and metrics when present. */
export interface MeshComponents extends LanRegistryComponents {
  metrics?: Metrics
  /** The node's content routing: used with `dht` (a DHT among the node's services provides it). */
  contentRouting?: ContentRouting
}

export interface PeerInfo {
  peerId: string
  name?: string
  addrs: string[]
  tasks: string[]
  objects: string[]
  load?: NodeRecord['load']
}

export interface MeshNodeEvents {
  'peer:join': [record: NodeRecord]
  'peer:update': [record: NodeRecord]
  'peer:leave': [peerId: string]
  /** This node began or finished running a call for a peer (or itself). */
  'task:start': [task: string, from: string]
  'task:done': [task: string, from: string, error?: Error]
  /** A one-way method of an exposed object (or a handle) failed; its caller was not waiting. */
  'object:error': [object: string, method: string, from: string, error: Error]
}

/**
 * The mesh as a libp2p service: `services: { mesh: meshService({ serve }) }`.
 * It wires its parts (registry, RPC, execution, objects, caller) in
 * dependency order, each with only the components it needs, and starts and
 * stops with libp2p. Peer discovery is the node's own: it never assumes mDNS.
 */
export class MeshService extends EventEmitter<MeshNodeEvents> implements Startable {
  readonly [Symbol.toStringTag] = 'mesh'
  readonly [serviceCapabilities]: string[] = ['@mesh/compute']
  /** Mesh dials peers by id (calls, record pushes after a reconnect): identify keeps their addresses and protocols. */
  readonly [serviceDependencies]: string[] = ['@libp2p/identify']
  readonly name: string
  readonly limits: MeshLimits
  readonly registry: Registry
  private readonly lan: LanRegistry
  /** Peer ids parsed once per known peer, for every call by id string. */
  private readonly peerIds: PeerIds
  /** Providers beyond the connected peers, when the node has a DHT (init.dht). */
  readonly dht?: DhtDirectory
  private readonly rpc: RpcService
  private readonly execution: ExecutionService
  private readonly objects: ObjectService
  private readonly caller: Caller
  /** Detached jobs: held here when this node serves tasks, asked about from anywhere (src/results). */
  private readonly results: ResultsService
  /** Chains, groups, chords and map; periodic schedules (src/workflows). */
  private readonly workflows: WorkflowService
  private readonly schedules: ScheduleService
  /** When delayed detached jobs may start, kept beside the journal (src/workflows/delays.ts). */
  private readonly delays: Delays
  private readonly log: Logger
  /** Calls this node runs and jobs it submits, as task events (src/events). */
  readonly activity: Activity
  /** Prometheus metrics, when created with `metrics` (src/metrics). */
  metrics?: MeshMetrics
  private readonly events: EventService
  private readonly init: MeshServiceInit
  private running = false
  private halted = false
  /** Peers whose record has arrived, to tell a join from an update. */
  private readonly seen = new Set<string>()

  constructor (private readonly components: MeshComponents, init: MeshServiceInit = {}) {
    super()
    this.init = init
    this.limits = checkExecutionOptions(init)
    const guard = new CallGuard({
      allow: init.allow !== undefined ? parseAllowList(init.allow, 'allow') : undefined,
      rateLimitPerSecond: this.limits.rateLimitPerSecond,
      rateLimitBurst: this.limits.rateLimitBurst
    })
    this.name = init.name ?? `${hostname()}-${process.pid}`
    this.log = components.logger.forComponent('mesh:node')
    const peerId = components.peerId.toString()
    const routes = new RoutingTable()
    this.activity = new Activity(peerId)
    this.lan = new LanRegistry(components, this.name)
    const registry: Registry = this.registry = this.lan
    const peerIds = this.peerIds = new PeerIds(registry)
    this.rpc = new RpcService(components, {
      maxFrameBytes: this.limits.maxFrameBytes,
      maxInFlightPerPeer: this.limits.maxInFlightPerPeer,
      lease: init.lease,
      admit: (peer) => { guard.admit(peer.toString()) },
      argLimits: { maxArgBytes: this.limits.maxArgBytes, maxBigIntBits: this.limits.maxBigIntBits },
      dispatch: (peer, call) => routes.route(call, peer.toString()),
      onLeaseLapsed: () => { this.metrics?.leaseExpired() }
    })
    const call = this.rpc.call.bind(this.rpc)
    this.execution = new ExecutionService({
      peerId,
      logger: components.logger,
      registry,
      routes,
      call: async (peer, name, args, options) => call(peerIds.of(peer), name, args, options),
      onTask: (task, from, done, error) => { if (done) this.emit('task:done', task, from, error); else this.emit('task:start', task, from) },
      activity: this.activity
    }, { ...init, limits: this.limits })
    this.events = new EventService({ activity: this.activity, drain: async () => this.drain(), admins: new Set(init.admins ?? []) })
    routes.handleInternal(EVENT_NAMESPACE, (c, from) => this.events.handle(c, from))
    this.objects = new ObjectService({
      peerId: components.peerId,
      logger: components.logger,
      events: components.events,
      registry,
      call,
      running: () => this.running,
      onError: (object, method, from, error) => { this.emit('object:error', object, method, from, error) }
    })
    routes.handle('method', (c, from) => this.objects.handleMethod(c, from))
    routes.handleInternal(OBJECT_NAMESPACE, (c, from) => this.objects.handleInternal(c, from))
    registry.addOffer(() => ({ objects: this.objects.offer() }))
    const contentRouting = components.contentRouting
    if (init.dht !== undefined && init.dht !== false && contentRouting !== undefined) {
      const { peerId, connectionManager, peerStore, events, logger } = components
      this.dht = new DhtDirectory({ peerId, contentRouting, connectionManager, peerStore, events, logger })
    }
    const dht = this.dht
    this.caller = new Caller({
      peerId,
      registry,
      rpc: this.rpc,
      local: this.execution,
      route: routes.route.bind(routes),
      objects: this.objects,
      peerIds,
      ...(dht !== undefined ? { find: async (task: string, signal: AbortSignal) => await dht.find(task, signal) } : {})
    })
    routes.handleInternal(PARTS_NAMESPACE, (c) => this.caller.inbox.handle(c))
    registry.on('change', this.onRecord)
    this.delays = new Delays({ call: async (peer, name, args, options) => call(peerIds.of(peer), name, args, options) })
    routes.handleInternal(DELAY_NAMESPACE, this.delays.handle)
    this.results = new ResultsService({
      delays: this.delays,
      peerId,
      call: async (peer, name, args, options) => call(peerIds.of(peer), name, args, options),
      run: (task, args, options) => this.caller.submit(task, args, options),
      serves: (task) => this.execution.served.includes(task),
      idempotent: (task, provider) => provider === undefined || provider === peerId
        ? this.execution.idempotent(task)
        : registry.get(provider)?.tasks.find(t => t.name === task)?.idempotent === true,
      holders: () => registry.peers().filter(r => r.tasks.length > 0).map(r => r.peerId),
      providers: (task) => this.caller.providers(task),
      waitForProvider: async (task, options) => this.caller.waitForProvider(task, options),
      holds: () => this.execution.served.length > 0,
      persistentIdentity: init.persistentIdentity ?? true
    }, init)
    routes.handleInternal(JOB_NAMESPACE, (c, from) => this.results.handle(c, from))
    registry.on('change', (peer, record) => { if (record === undefined) this.results.peerLeft(peer) })
    const runHere = async (task: string, args: unknown[], ctx: { from: string, signal: AbortSignal, timeout: number }): Promise<unknown> =>
      routes.route({ task, args, meta: { timeout: ctx.timeout }, signal: ctx.signal, progress: () => {} }, ctx.from)
    const callPeer = async (peer: string, name: string, args: unknown[], options: CallOptions): Promise<unknown> => call(peerIds.of(peer), name, args, options)
    this.workflows = new WorkflowService({
      peerId,
      providers: (task) => this.caller.providers(task),
      // Chord holders: nodes that serve something, so a passing CLI client is never picked.
      members: () => [...(this.served.length > 0 ? [peerId] : []), ...registry.peers().filter(r => r.tasks.length > 0).map(r => r.peerId)],
      waitForProvider: async (task, options) => this.caller.waitForProvider(task, options),
      idempotent: (task, provider) => this.caller.idempotent(task, provider),
      call: callPeer,
      runHere,
      submit: (task, args, options) => this.submit(task, args, options),
      detached: { submit: async (task, args, options) => await this.results.submit(task, args, options), job: async (id) => await this.results.job(id) }
    }, init.workflows)
    routes.handleInternal(WORKFLOW_NAMESPACE, this.workflows.handle)
    this.schedules = new ScheduleService({
      peerId,
      privateKey: components.privateKey,
      members: () => [peerId, ...registry.peers().map(r => r.peerId)],
      providers: (task) => this.caller.providers(task),
      call: callPeer,
      runHere,
      neighbours: () => [...new Set(components.connectionManager.getConnections().map(c => c.remotePeer.toString()))]
    })
    routes.handleInternal(SCHEDULE_NAMESPACE, this.schedules.handle)
    // A node that serves nothing (a CLI client) never fires a tick: it pulls schedules only when asked (syncSchedules).
    // Pulled from neighbours only (the records flood on from there): a relayed record's origin is not connected, and syncing with it dialled it (issue 15: every node dialled every node).
    this.on('peer:join', (record) => { if (this.served.length > 0 && components.connectionManager.getConnections(peerIds.of(record.peerId)).length > 0) void this.schedules.sync(record.peerId) })
  }

  private readonly onRecord = (peer: string, record: NodeRecord | undefined): void => {
    if (record === undefined) {
      this.seen.delete(peer)
      this.emit('peer:leave', peer)
    } else if (this.seen.has(peer)) {
      this.emit('peer:update', record)
    } else {
      this.seen.add(peer)
      this.emit('peer:join', record)
    }
  }

  async start (): Promise<void> {
    await this.startMetrics()
    await this.execution.start()
    // The job journal is opened (BAD_CONFIG if corrupt or foreign) before the node takes calls.
    try {
      await this.results.start()
      const store = WorkflowStore.of(this.results.journal)
      this.delays.attach(store)
      this.workflows.attach(store)
      await this.schedules.start(store)
    } catch (err) {
      await this.execution.stop()
      throw err
    }
    this.objects.start()
    await this.rpc.start()
    await this.lan.start()
    this.dht?.start()
    this.running = true
    this.halted = false
  }

  /**
   * Metrics when asked for, or when the libp2p node has Prometheus metrics
   * of its own (components.metrics): then mesh's go into the same prom-client
   * registry, so one scrape has both. prom-client is loaded only by nodes with
   * metrics: CLI clients never are.
   */
  private async startMetrics (): Promise<void> {
    const want = this.init.metrics
    if (want === false || this.metrics !== undefined) return
    const libp2pMetrics = this.components.metrics as (Record<string | symbol, unknown> | undefined)
    const prometheus = libp2pMetrics?.[Symbol.toStringTag] === '@libp2p/metrics-prometheus'
    if (want === undefined && !prometheus) return
    const { MeshMetrics } = await import('../metrics/metrics.js')
    let registry = typeof want === 'object' ? want.registry : undefined
    // @libp2p/prometheus-metrics keeps its registry in `registry`; unset, it uses prom-client's global one.
    if (registry === undefined && prometheus) registry = (libp2pMetrics?.registry as PromRegistry | undefined) ?? (await import('prom-client')).register
    this.metrics = new MeshMetrics({ load: () => this.execution.load(), peers: () => this.registry.peers().length }, registry)
    this.activity.observer = this.metrics
  }

  /** The node listens now: publish a record with its addresses. */
  async afterStart (): Promise<void> {
    await this.registry.publishNow()
    if (this.init.dht !== 'client') this.dht?.provide(this.served)
    this.results.afterStart()
    this.workflows.resume()
    this.log('started %p serving %s', this.components.peerId, this.served.join(',') || 'nothing')
  }

  /** Stop the mesh protocols (before libp2p closes the connections). Idempotent. */
  async beforeStop (): Promise<void> {
    this.running = false
    if (this.halted) return
    this.halted = true
    await this.results.stop()
    this.execution.halt()
    this.events.stop()
    this.schedules.stop()
    this.objects.stop()
    this.dht?.stop()
    await this.rpc.stop()
    await this.lan.stop()
  }

  async stop (): Promise<void> {
    await this.beforeStop()
    await this.execution.stop()
  }

  get peerId (): string { return this.components.peerId.toString() }

  /** The addresses peers can dial, each ending in /p2p/<peer id>. */
  get addresses (): string[] { return this.components.addressManager.getAddresses().map(String) }

  /** Names of the tasks this node serves. */
  get served (): string[] { return this.execution.served }

  get workers (): number { return this.execution.workers }

  /** Work stealing of split jobs; present when the node serves a splittable task on a worker pool. */
  get steal (): StealService | undefined { return this.execution.steal }

  /** Run `task` somewhere in the mesh: `await mesh.call('factorial', 20000n)`. */
  async call<T = unknown> (task: string, ...args: unknown[]): Promise<T> {
    return this.callWith<T>(task, args)
  }

  /** `call` with options: timeout, retries, cancellation signal, progress. The simple form of submit(). */
  async callWith<T = unknown> (task: string, args: unknown[], options: MeshCallOptions = {}): Promise<T> {
    return this.submit<T>(task, args, options).result()
  }

  /**
   * Run `task` somewhere in the mesh and get a handle on it: status, progress
   * events, result, cancel. Retries on other providers when a call is refused
   * or its provider dies or hangs (see docs/reliability.md).
   */
  submit<T = unknown> (task: string, args: unknown[], options: SubmitOptions & { detach: true }): Promise<DetachedJob<T>>
  submit<T = unknown> (task: string, args: unknown[], options?: SubmitOptions & { detach?: false }): Job<T>
  submit<T = unknown> (task: string, args: unknown[], options: SubmitOptions & { detach?: boolean } = {}): Job<T> | Promise<DetachedJob<T>> {
    if (!this.running) throw new NotRunningError('the node is stopped')
    // Detached (docs/results.md): a provider journals it with one replica and runs it; resolves with its handle then.
    if (options.detach === true) return this.results.submit<T>(task, args, { timeout: options.timeout, retries: options.retries, idempotent: options.idempotent, eta: etaOf(options) })
    const job = this.caller.submit<T>(task, args, options)
    this.activity.observeJob(job)
    return job
  }

  /** A handle on detached job `id`, from whichever node holds it (UNKNOWN_JOB if none does). */
  async job<T = unknown> (id: string): Promise<DetachedJob<T>> { return await this.results.job<T>(id) }

  /** Recent detached jobs of every node this one knows, newest first. */
  async jobs (filter: { state?: StoredState, task?: string, limit?: number } = {}): Promise<JobSnapshot[]> { return await this.results.jobs(filter) }

  /**
   * Stop taking new work: withdraw this node's tasks from its registry
   * record (callers go elsewhere; calls still arriving are refused as
   * retryable NOT_RUNNING) and wait up to `timeout` ms for the calls it
   * holds. Resolves true if they all finished; stop() then hands back any
   * left (their callers re-dispatch them).
   */
  async drain (options: { timeout?: number } = {}): Promise<boolean> {
    return this.execution.drain(options.timeout)
  }

  get draining (): boolean { return this.execution.draining }

  /** Calls this node holds for callers (admitted and not finished). */
  get holding (): number { return this.execution.holding }

  /** Peers (and this node) serving `task` (or, for `object.method`, exposing the object), least loaded first. */
  providers (task: string): string[] { return this.caller.providers(task) }

  /** Wait until some node serves `task`; resolves with the least loaded provider's peer id. */
  async waitForProvider (task: string, options: MeshCallOptions = {}): Promise<string> { return this.caller.waitForProvider(task, options) }

  /** Wait until at least `count` peers' records are known. */
  async waitForPeers (count: number, timeout?: number): Promise<void> { return this.caller.waitForPeers(count, timeout) }

  /** The registry as this node sees it: every record, its own first when it offers anything. */
  records (): NodeRecord[] {
    const self = this.registry.self
    const own = self !== undefined && (self.tasks.length > 0 || self.objects.length > 0) ? [{ ...self, load: this.execution.load() }] : []
    return [...own, ...this.registry.peers()]
  }

  /** The peers this node is connected to, with what their records say. */
  peers (): PeerInfo[] {
    const byPeer = new Map<string, PeerInfo>()
    for (const connection of this.components.connectionManager.getConnections()) {
      const id = connection.remotePeer.toString()
      const info = byPeer.get(id) ?? { peerId: id, addrs: [], tasks: [], objects: [] }
      info.addrs.push(connection.remoteAddr.toString())
      byPeer.set(id, info)
    }
    for (const info of byPeer.values()) {
      const record = this.registry.get(info.peerId)
      if (record === undefined) continue
      info.name = record.name
      info.addrs = [...new Set([...record.addrs, ...info.addrs])]
      info.tasks = record.tasks.map(t => t.name)
      info.objects = record.objects.map(o => o.name)
      info.load = record.load
    }
    return [...byPeer.values()]
  }

  /**
   * Expose `target` to the mesh under `name`: an object (instance mode
   * `single`), or a class or factory `() => object` (`session`, `percall`).
   * Only its public methods are callable (see docs/objects.md). The registry
   * advertises it with `metadata` at once.
   */
  expose (name: string, target: object | (() => object), options: ExposeOptions = {}): void {
    this.objects.expose(name, target, options)
  }

  /** Stop exposing `name`; its sessions are dropped. False if it was not exposed. */
  unexpose (name: string): boolean { return this.objects.unexpose(name) }

  /** A typed proxy to the object `name`, wherever in the mesh it is exposed: `await (await mesh.lookup<Greeter>('greeter')).welcomeMessage('John')`. */
  async lookup<T = Record<string, (...args: any[]) => any>> (name: string, options: LookupOptions = {}): Promise<Remote<T>> {
    return this.objects.lookup<T>(name, options)
  }

  /** Proxies to every object tagged with all of `tags`; waits (up to the timeout) for at least one. */
  async lookupByMetadata<T = Record<string, (...args: any[]) => any>> (tags: string | string[], options: LookupOptions = {}): Promise<Array<Remote<T>>> {
    return this.objects.lookupByMetadata<T>(tags, options)
  }

  /** The objects the mesh exposes now (this node's and its peers'), with all of `tags` if given. */
  findObjects (tags?: string | string[]): ObjectEntry[] { return this.objects.find(tags) }

  /** Counts of exposed objects, sessions and handles lent to peers. */
  objectStats (): ObjectStats { return this.objects.stats() }

  /** A call of one of mesh's own internal routes on `peer` (task events, admin calls: src/events); cancel abandons it. */
  protocolCall (peer: string, route: string, args: unknown[], options: { timeout?: number, onProgress?: (data: unknown) => void } = {}): { done: Promise<unknown>, cancel: () => void } {
    let abandon = (): void => {}
    const done = this.rpc.call(this.peerIds.of(peer), route, args, { ...options, cancelHook: (a) => { abandon = a } })
    return { done, cancel: () => { abandon() } }
  }

  /**
   * Run a workflow built with sig, chain, group and chord (docs/workflows.md):
   * `await mesh.run(chain(sig('add', 4, 6), sig('factorial'), sig('digits')))`.
   * Every task it names is checked first; a chain is handed from node to node.
   */
  async run<T = unknown> (workflow: Workflow, options: RunOptions = {}): Promise<T> {
    if (!this.running) throw new NotRunningError('the node is stopped')
    return this.workflows.run<T>(workflow, options)
  }

  /** `task` over every item, `concurrency` calls in flight, results in order: `await mesh.map('factorial', [10n, 20n], { concurrency: 64 })`. */
  async map<T = unknown> (task: string, items: unknown[], options: MapOptions = {}): Promise<T[]> {
    if (!this.running) throw new NotRunningError('the node is stopped')
    return this.workflows.map<T>(task, items, options)
  }

  workflowStats (): WorkflowStats { return this.workflows.stats() }

  /** Add (or replace) a periodic schedule on every node of the mesh. */
  async addSchedule (name: string, task: string, args: unknown[], spec: ScheduleSpec, options: { passTick?: boolean } = {}): Promise<ScheduleRecord> {
    return this.schedules.add(name, task, args, spec, options)
  }

  /** Remove a schedule everywhere; false if there was none. */
  async removeSchedule (name: string): Promise<boolean> { return this.schedules.remove(name) }

  /** The schedules this node holds (every node holds all of them). */
  listSchedules (): ScheduleRecord[] { return this.schedules.list() }

  /** Pull the schedules every known peer holds (a serving node also does this with each peer that connects). */
  async syncSchedules (): Promise<void> { await this.schedules.syncAll() }

  /** Ticks this node fired (as owner, backup or catch-up), ran, and dropped as already run. */
  scheduleStats (): ScheduleStats { return this.schedules.stats() }
}

/**
 * The mesh as a service of your own libp2p node:
 * `createLibp2p({ …, services: { identify: identify(), mesh: meshService({ serve: { add } }) } })`,
 * then `libp2p.services.mesh.call('add', 1, 2)`. Bad options throw BAD_CONFIG here, before libp2p starts.
 */
export function meshService (init: MeshServiceInit = {}): (components: MeshComponents) => MeshService {
  checkExecutionOptions(init)
  checkResultOptions(init)
  if (init.allow !== undefined) parseAllowList(init.allow, 'allow')
  return (components) => new MeshService(components, init)
}
