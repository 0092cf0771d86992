import { EventEmitter } from 'node:events'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import {
  DEFAULT_CALL_TIMEOUT_MS, DEFAULT_LISTEN, DEFAULT_MAX_FACTORIAL_N, DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_IN_FLIGHT_PER_PEER, DEFAULT_MAX_MATRIX_DIM, DEFAULT_MAX_MATRIX_ELEMENTS,
  DEFAULT_MAX_ARG_BYTES, DEFAULT_MAX_BIGINT_BITS, DEFAULT_RATE_LIMIT_BURST, DEFAULT_RATE_LIMIT_PER_SECOND,
  DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_QUEUE_PER_WORKER
} from '../constants.js'
import { WorkGuard } from '../jobs/guard.js'
import { Job, type AttemptOptions, type JobHost, type SubmitOptions } from '../jobs/job.js'
import type { LeaseOptions } from '../rpc/lease.js'
import { ConfigError, NoProviderError, NotRunningError, TimeoutError, UnknownTaskError, CancelledError, UnknownObjectError } from '../errors.js'
import { ObjectService, isObjectCallName, isObjectRoute } from '../objects/service.js'
import type { ExposeOptions, LookupOptions, ObjectEntry, ObjectStats, Remote } from '../objects/types.js'
import { loadScore, type NodeRecord, type ObjectInfo, type TaskInfo } from '../registry/record.js'
import { Registry } from '../registry/registry.js'
import type { CallOptions, IncomingCall } from '../rpc/channel.js'
export type { IncomingCall } from '../rpc/channel.js'
import { RpcService } from '../rpc/service.js'
import type { WorkerPool } from '../scheduler/pool.js'
import { StealService, type StealOptions } from '../scheduler/steal.js'
import { loadTasks, type ServeSpec } from '../tasks/loader.js'
import { checkParams, formatParams } from '../tasks/params.js'
import type { LoadedTask, TaskLimits } from '../tasks/types.js'
import { loadOrCreateKey, newKey } from './identity.js'
import { createTransport } from './libp2p.js'
import { startDialer, type PeerDialer } from '../discovery/dialer.js'
import { CallGuard } from '../security/guard.js'
import { parseAllowList } from '../security/allow.js'
import { loadPsk, mdnsServiceTag } from '../security/psk.js'

const log = logger('mesh:node')

export interface MeshLimits extends TaskLimits {
  /** Largest frame accepted on the wire, in bytes. */
  maxFrameBytes: number
  /** Calls one peer may have in flight here before it is answered BUSY. */
  maxInFlightPerPeer: number
  /** Largest call (request frame) accepted from a peer, in bytes. */
  maxArgBytes: number
  /** Largest BigInt accepted in a call's arguments, in bits. */
  maxBigIntBits: number
  /** Calls per second one peer may make here (token bucket refill rate); over it: RATE_LIMITED. */
  rateLimitPerSecond: number
  /** Calls one peer may make at once before the rate applies (token bucket size). */
  rateLimitBurst: number
}

export interface MeshNodeOptions {
  /** Tasks to serve: built-in names, module paths, or a map of definitions. */
  serve?: ServeSpec
  /** A human name shown in `mesh ls` and `mesh peers`; defaults to the host name and pid. */
  name?: string
  /** Multiaddrs to listen on; default `/ip4/127.0.0.1/tcp/0`. */
  listen?: string[]
  /** Worker threads for CPU-heavy tasks; default: cores − 1 (at least 1). */
  workers?: number
  /** The node's identity; or `keyFile` to keep one across restarts. */
  privateKey?: PrivateKey
  keyFile?: string
  /** Find peers by mDNS; default true. */
  mdns?: boolean
  /** Multiaddrs (with /p2p/<id>) of peers to dial at start, for networks mDNS does not reach. */
  bootstrap?: string[]
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
  /**
   * A pre-shared mesh key (`mesh keygen` / pnet format), as bytes or the path
   * of a key file: only nodes with the same key can connect or discover this one.
   */
  psk?: Uint8Array | string
  /** Peer ids that may call this node; others get FORBIDDEN. Default: any peer that can connect. */
  allow?: string[]
}

/**
 * A handler for call names that are not tasks: the protocol calls of mesh's
 * own services (work stealing, remote objects) ride the same RPC channel.
 * Task names are letters, digits, _ and - only, so a name with any other
 * character (`greeter.hello`, `@mesh/steal`) can never collide with a task.
 */
export type RouteHandler = (call: IncomingCall, from: string) => unknown

export interface MeshCallOptions extends CallOptions, Omit<SubmitOptions, 'signal' | 'timeout' | 'onProgress' | 'unknownAfter'> {
  /**
   * When peers are known but none serves the task, fail with UNKNOWN_TASK
   * after this many ms of no registry change instead of waiting the whole
   * timeout for a provider to appear. Off by default.
   */
  unknownAfter?: number
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

export const DEFAULT_LIMITS: MeshLimits = {
  maxFactorialN: DEFAULT_MAX_FACTORIAL_N,
  maxMatrixDim: DEFAULT_MAX_MATRIX_DIM,
  maxMatrixElements: DEFAULT_MAX_MATRIX_ELEMENTS,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxInFlightPerPeer: DEFAULT_MAX_IN_FLIGHT_PER_PEER,
  maxArgBytes: DEFAULT_MAX_ARG_BYTES,
  maxBigIntBits: DEFAULT_MAX_BIGINT_BITS,
  rateLimitPerSecond: DEFAULT_RATE_LIMIT_PER_SECOND,
  rateLimitBurst: DEFAULT_RATE_LIMIT_BURST
}

/**
 * A node of the mesh: a thin facade over libp2p, the registry, the RPC
 * service and the worker pool. It never prints; it emits events.
 */
export class MeshNode extends EventEmitter<MeshNodeEvents> {
  readonly name: string
  readonly limits: MeshLimits
  private running = true
  /** Calls this node has outstanding at each provider, so callers spread out between record updates. */
  private readonly outstanding = new Map<string, number>()
  /** Peers whose record has arrived, to tell a join from an update. */
  private readonly seen = new Set<string>()
  private readonly routes: Array<{ match: (name: string) => boolean, handle: RouteHandler }> = []
  /** Work stealing of split jobs; present when the node serves a splittable task on a worker pool. */
  steal?: StealService
  /** Admission, time limits and draining of the work this node serves (src/jobs/guard.ts). */
  private readonly work: WorkGuard
  private readonly drainTimeout: number
  private readonly jobHost: JobHost = {
    choose: (task, avoid) => this.providers(task).find(p => !avoid.has(p)),
    waitForProvider: async (task, options) => this.waitForProvider(task, options),
    run: async (provider, task, args, options) => this.attempt(provider, task, args, options),
    idempotent: (task, provider) => provider === this.peerId
      ? this.tasks.get(task)?.idempotent === true
      : this.registry.get(provider)?.tasks.find(t => t.name === task)?.idempotent === true
  }
  /** Remote objects: exposed here, and proxies to those of peers (src/objects). */
  private readonly objects: ObjectService
  private dialer?: PeerDialer

  private constructor (
    readonly libp2p: Libp2p,
    private readonly tasks: Map<string, LoadedTask>,
    private readonly pool: WorkerPool | undefined,
    readonly registry: Registry,
    private readonly rpc: RpcService,
    name: string,
    limits: MeshLimits,
    reliability: { taskTimeLimit?: number, maxQueue?: number, drainTimeout?: number } = {}
  ) {
    super()
    this.name = name
    this.limits = limits
    const workers = pool?.workers ?? 0
    this.work = new WorkGuard({ workers, maxQueue: reliability.maxQueue ?? DEFAULT_QUEUE_PER_WORKER * Math.max(1, workers), taskTimeLimit: reliability.taskTimeLimit })
    this.drainTimeout = reliability.drainTimeout ?? DEFAULT_DRAIN_TIMEOUT_MS
    this.objects = new ObjectService({
      libp2p,
      registry,
      call: async (peer, task, args, options) => rpc.call(peer, task, args, options),
      running: () => this.running,
      onError: (object, method, from, error) => { this.emit('object:error', object, method, from, error) }
    })
  }

  static async create (options: MeshNodeOptions = {}): Promise<MeshNode> {
    const limits = { ...DEFAULT_LIMITS, ...options.limits }
    for (const [key, value] of Object.entries(limits)) {
      if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`limit ${key} must be a positive integer, got ${String(value)}`)
    }
    if (options.workers !== undefined && (!Number.isSafeInteger(options.workers) || options.workers < 1)) {
      throw new ConfigError(`workers must be a positive integer, got ${String(options.workers)}`)
    }
    for (const key of ['taskTimeLimit', 'maxQueue', 'drainTimeout'] as const) {
      const value = options[key]
      if (value !== undefined && (!Number.isSafeInteger(value) || value < (key === 'maxQueue' ? 0 : 1))) {
        throw new ConfigError(`${key} must be a ${key === 'maxQueue' ? 'non-negative' : 'positive'} integer, got ${String(value)}`)
      }
    }
    const psk = options.psk !== undefined ? await loadPsk(options.psk) : undefined
    const guard = new CallGuard({
      allow: options.allow !== undefined ? parseAllowList(options.allow, 'allow') : undefined,
      rateLimitPerSecond: limits.rateLimitPerSecond,
      rateLimitBurst: limits.rateLimitBurst
    })
    const tasks = await loadTasks(options.serve)
    const privateKey = options.privateKey ?? (options.keyFile !== undefined ? await loadOrCreateKey(options.keyFile) : await newKey())
    let libp2p: Libp2p
    try {
      libp2p = await createTransport({ privateKey, listen: options.listen ?? [DEFAULT_LISTEN], mdns: options.mdns ?? true, psk, mdnsServiceTag: psk !== undefined ? mdnsServiceTag(psk) : undefined })
    } catch (err: any) {
      throw new ConfigError(`cannot create the node: ${err.message}`)
    }
    const modules = [...new Set([...tasks.values()].filter(t => t.mode === 'pool').map(t => t.module as string))]
    // piscina is imported only by nodes that run pool tasks: a CLI client node never does.
    let pool: WorkerPool | undefined
    if (modules.length > 0) {
      const { WorkerPool, defaultWorkerCount } = await import('../scheduler/pool.js')
      pool = new WorkerPool(options.workers ?? defaultWorkerCount(), modules)
    }
    const name = options.name ?? `${(await import('node:os')).hostname()}-${process.pid}`
    // The registry and RPC service call back into the node, which needs them to exist first.
    const late: { node?: MeshNode } = {}
    const registry = new Registry(libp2p, privateKey, () => late.node!.localOffer())
    const rpc = new RpcService(libp2p, {
      maxFrameBytes: limits.maxFrameBytes,
      maxInFlightPerPeer: limits.maxInFlightPerPeer,
      lease: options.lease,
      admit: (peer) => { guard.admit(peer.toString()) },
      argLimits: { maxArgBytes: limits.maxArgBytes, maxBigIntBits: limits.maxBigIntBits },
      dispatch: (peer, call) => late.node!.execute(call, peer.toString())
    })
    const node = new MeshNode(libp2p, tasks, pool, registry, rpc, name, limits, options)
    late.node = node
    if (pool !== undefined && [...tasks.values()].some(t => t.split !== undefined)) {
      const steal = new StealService({
        peerId: libp2p.peerId.toString(),
        tasks,
        pool,
        registry,
        limits,
        call: async (peer, callName, args, callOptions) => rpc.call(peerIdFromString(peer), callName, args, callOptions)
      }, options.steal)
      node.steal = steal
      node.addRoute(StealService.matches, (call, from) => steal.handle(call, from))
    }
    await node.start(options.bootstrap ?? [])
    return node
  }

  private async start (bootstrap: string[]): Promise<void> {
    this.addRoute(isObjectRoute, (call, from) => this.objects.handle(call, from))
    this.objects.start()
    await this.rpc.start()
    await this.registry.start()
    this.registry.on('change', (peer, record) => {
      if (record === undefined) {
        this.seen.delete(peer)
        this.peerIds.delete(peer)
        this.emit('peer:leave', peer)
      } else if (this.seen.has(peer)) {
        this.emit('peer:update', record)
      } else {
        this.seen.add(peer)
        this.emit('peer:join', record)
      }
    })
    // libp2p v3 dials nothing it discovers: the dialer keeps us connected (src/discovery/dialer.ts).
    this.dialer = startDialer(this.libp2p)
    try {
      await this.libp2p.start()
    } catch (err: any) {
      await this.pool?.destroy()
      throw new ConfigError(`cannot start the node (listen ${this.libp2p.getMultiaddrs().join(', ') || 'failed'}): ${err.message}`)
    }
    await this.registry.publishNow()
    this.dialer.bootstrap(bootstrap.map(a => multiaddr(a)))
    log('started %p serving %s', this.libp2p.peerId, [...this.tasks.keys()].join(',') || 'nothing')
  }

  get peerId (): string { return this.libp2p.peerId.toString() }

  /** The addresses peers can dial, each ending in /p2p/<peer id>. */
  get addresses (): string[] { return this.libp2p.getMultiaddrs().map(String) }

  /** Names of the tasks this node serves. */
  get served (): string[] { return [...this.tasks.keys()] }

  get workers (): number { return this.pool?.workers ?? 0 }

  /** Run `task` somewhere in the mesh: `await node.call('factorial', 20000n)`. */
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
  submit<T = unknown> (task: string, args: unknown[], options: SubmitOptions = {}): Job<T> {
    if (!this.running) throw new NotRunningError('the node is stopped')
    return new Job<T>(this.jobHost, task, args, options)
  }

  /**
   * Stop taking new work: withdraw this node's tasks from its registry
   * record (callers go elsewhere; calls still arriving are refused as
   * retryable NOT_RUNNING) and wait up to `timeout` ms for the calls it
   * holds. Resolves true if they all finished; stop() then hands back any
   * left (their callers re-dispatch them).
   */
  async drain (options: { timeout?: number } = {}): Promise<boolean> {
    if (!this.work.draining) {
      this.work.draining = true
      await this.registry.publishNow()
    }
    return this.work.idle(options.timeout ?? this.drainTimeout)
  }

  get draining (): boolean { return this.work.draining }

  /** Calls this node holds for callers (admitted and not finished). */
  get holding (): number { return this.work.holding }

  /** Parsing a peer id costs ~15 µs, a twentieth of a round trip: keep them while the peer is known. */
  private readonly peerIds = new Map<string, ReturnType<typeof peerIdFromString>>()
  private peerIdOf (peer: string): ReturnType<typeof peerIdFromString> {
    let id = this.peerIds.get(peer)
    if (id === undefined) {
      id = peerIdFromString(peer)
      if (this.registry.get(peer) !== undefined) this.peerIds.set(peer, id)
    }
    return id
  }

  /** One attempt of a job on one provider. */
  private async attempt (provider: string, task: string, args: unknown[], options: AttemptOptions): Promise<unknown> {
    if (provider === this.peerId) {
      return await this.execute({ task, args, meta: { timeout: options.timeout, job: options.job }, signal: options.signal(), progress: options.onProgress }, this.peerId)
    }
    this.outstanding.set(provider, (this.outstanding.get(provider) ?? 0) + 1)
    try {
      return await this.rpc.call(this.peerIdOf(provider), task, args, { timeout: options.timeout, job: options.job, onProgress: options.onProgress, cancelHook: options.cancelHook })
    } finally {
      const n = (this.outstanding.get(provider) ?? 1) - 1
      if (n <= 0) this.outstanding.delete(provider)
      else this.outstanding.set(provider, n)
    }
  }

  /** Peers (and this node) serving `task` (or, for `object.method`, exposing the object), least loaded first. */
  providers (task: string): string[] {
    if (isObjectCallName(task)) return this.objects.providers(task.slice(0, task.indexOf('.')))
    const candidates: Array<{ peer: string, score: number }> = []
    if (this.tasks.has(task) && !this.work.draining) candidates.push({ peer: this.peerId, score: loadScore(this.localLoad()) - 0.5 })
    for (const record of this.registry.peers()) {
      if (!record.tasks.some(t => t.name === task)) continue
      const mine = this.outstanding.get(record.peerId) ?? 0
      candidates.push({ peer: record.peerId, score: loadScore(record.load) + mine / Math.max(1, record.load.workers) })
    }
    return candidates.sort((a, b) => a.score - b.score).map(c => c.peer)
  }

  /** Wait until some node serves `task`; resolves with the least loaded provider's peer id. */
  async waitForProvider (task: string, options: MeshCallOptions = {}): Promise<string> {
    const found = this.providers(task)[0]
    if (found !== undefined) return found
    const timeout = options.timeout ?? DEFAULT_CALL_TIMEOUT_MS
    return new Promise((resolve, reject) => {
      let unknownTimer: NodeJS.Timeout | undefined
      const finish = (err?: Error, peer?: string): void => {
        clearTimeout(timer)
        clearTimeout(unknownTimer)
        this.registry.off('change', onChange)
        options.signal?.removeEventListener('abort', onAbort)
        if (err !== undefined) reject(err)
        else resolve(peer as string)
      }
      const armUnknown = (): void => {
        if (options.unknownAfter === undefined || this.registry.peers().length === 0) return
        clearTimeout(unknownTimer)
        unknownTimer = setTimeout(() => {
          const known = [...new Set(this.registry.peers().flatMap(r => r.tasks.map(t => t.name)))].sort()
          if (isObjectCallName(task)) {
            const objects = [...new Set(this.objects.find().map(o => o.name))].sort()
            finish(new UnknownObjectError(`no node in the mesh exposes "${task.slice(0, task.indexOf('.'))}"; objects exposed: ${objects.join(', ') || 'none'}`))
            return
          }
          finish(new UnknownTaskError(`no node in the mesh serves "${task}"; tasks served: ${known.join(', ') || 'none'}`))
        }, options.unknownAfter)
      }
      const onChange = (): void => {
        const peer = this.providers(task)[0]
        if (peer !== undefined) finish(undefined, peer)
        else armUnknown()
      }
      const onAbort = (): void => { finish(new CancelledError('the call was cancelled')) }
      const timer = setTimeout(() => {
        const peers = this.registry.peers().length
        finish(peers === 0
          ? new NoProviderError(`no peer found within ${timeout} ms: is a node running (mesh node --serve ${task}) on this network?`)
          : new NoProviderError(`none of the ${peers} peers found serves "${task}" (waited ${timeout} ms)`))
      }, timeout)
      this.registry.on('change', onChange)
      options.signal?.addEventListener('abort', onAbort, { once: true })
      armUnknown()
    })
  }

  /** Wait until at least `count` peers' records are known. */
  async waitForPeers (count: number, timeout = DEFAULT_CALL_TIMEOUT_MS): Promise<void> {
    if (this.registry.peers().length >= count) return
    await new Promise<void>((resolve, reject) => {
      const onChange = (): void => {
        if (this.registry.peers().length < count) return
        clearTimeout(timer)
        this.registry.off('change', onChange)
        resolve()
      }
      const timer = setTimeout(() => {
        this.registry.off('change', onChange)
        reject(new TimeoutError(`found ${this.registry.peers().length} of ${count} peers within ${timeout} ms`))
      }, timeout)
      this.registry.on('change', onChange)
    })
  }

  /** The registry as this node sees it: every record, its own first when it offers anything. */
  records (): NodeRecord[] {
    const self = this.registry.self
    const own = self !== undefined && (self.tasks.length > 0 || self.objects.length > 0) ? [{ ...self, load: this.localLoad() }] : []
    return [...own, ...this.registry.peers()]
  }

  /** The peers this node is connected to, with what their records say. */
  peers (): PeerInfo[] {
    const byPeer = new Map<string, PeerInfo>()
    for (const connection of this.libp2p.getConnections()) {
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

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.dialer?.stop()
    this.steal?.stop()
    this.objects.stop()
    await this.rpc.stop()
    await this.registry.stop()
    // Abort connections first: a graceful close can wait 500 ms each.
    for (const connection of this.libp2p.getConnections()) connection.abort(new Error('node stopping'))
    await this.libp2p.stop()
    await this.pool?.destroy()
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
  unexpose (name: string): boolean {
    return this.objects.unexpose(name)
  }

  /** A typed proxy to the object `name`, wherever in the mesh it is exposed: `await (await node.lookup<Greeter>('greeter')).welcomeMessage('John')`. */
  async lookup<T = Record<string, (...args: any[]) => any>> (name: string, options: LookupOptions = {}): Promise<Remote<T>> {
    return this.objects.lookup<T>(name, options)
  }

  /** Proxies to every object tagged with all of `tags`; waits (up to the timeout) for at least one. */
  async lookupByMetadata<T = Record<string, (...args: any[]) => any>> (tags: string | string[], options: LookupOptions = {}): Promise<Array<Remote<T>>> {
    return this.objects.lookupByMetadata<T>(tags, options)
  }

  /** The objects the mesh exposes now (this node's and its peers'), with all of `tags` if given. */
  findObjects (tags?: string | string[]): ObjectEntry[] {
    return this.objects.find(tags)
  }

  /** Counts of exposed objects, sessions and handles lent to peers. */
  objectStats (): ObjectStats {
    return this.objects.stats()
  }

  /** Serve call names that `match` with `handle` instead of the task table (see RouteHandler). */
  addRoute (match: (name: string) => boolean, handle: RouteHandler): void {
    this.routes.push({ match, handle })
  }

  /** Run a call here: validate, then run inline or on the worker pool. */
  private async execute (call: IncomingCall, from: string): Promise<unknown> {
    for (const route of this.routes) {
      if (route.match(call.task)) return await route.handle(call, from)
    }
    const task = this.tasks.get(call.task)
    if (task === undefined) {
      throw new UnknownTaskError(`this node does not serve "${call.task}"; it serves ${[...this.tasks.keys()].join(', ') || 'nothing'}`)
    }
    let args = task.params !== undefined ? checkParams(task.name, task.params, call.args) : call.args
    if (task.validate !== undefined) args = task.validate(args, this.limits)
    const pooled = task.mode === 'pool' && this.pool !== undefined
    this.work.admit(pooled)
    this.emit('task:start', task.name, from)
    try {
      let result: unknown
      if (!pooled) {
        result = await task.run(...args)
      } else {
        // The caller's cancel or timeout and the node's hard limit terminate the worker.
        const limited = this.work.limit(call.signal, call.meta.timeout)
        this.registry.publish()
        try {
          // A heavy call of a splittable task becomes a job whose chunks idle peers steal (src/scheduler/steal.ts).
          const split = this.steal?.tryRun(task, args, { task: call.task, args: call.args, meta: call.meta, signal: limited.signal, progress: (data) => { call.progress(data) } })
          result = split !== undefined ? await split : await this.pool!.run(task.name, args, limited.signal)
        } catch (err) {
          throw limited.signal.aborted && limited.signal.reason instanceof Error ? limited.signal.reason : err
        } finally {
          limited.dispose()
          this.registry.publish()
        }
      }
      this.emit('task:done', task.name, from)
      return result
    } catch (err: any) {
      this.emit('task:done', task.name, from, err)
      throw err
    } finally {
      this.work.release(pooled)
    }
  }

  private localLoad (): NodeRecord['load'] {
    const load: NodeRecord['load'] = { ...(this.pool?.load ?? { running: 0, queued: 0 }), workers: this.workers }
    const stealable = this.steal?.stealable()
    if (stealable !== undefined) load.stealable = stealable
    return load
  }

  private localOffer (): { name: string, tasks: TaskInfo[], objects: ObjectInfo[], load: NodeRecord['load'] } {
    return {
      name: this.name,
      // A draining node withdraws its tasks, so callers stop choosing it.
      tasks: this.work.draining ? [] : [...this.tasks.values()].map(t => {
        const info: TaskInfo = { name: t.name, args: formatParams(t.params) }
        if (t.description !== undefined) info.description = t.description
        if (t.idempotent === true) info.idempotent = true
        return info
      }),
      objects: this.objects.offer(),
      load: this.localLoad()
    }
  }
}

export async function createMeshNode (options: MeshNodeOptions = {}): Promise<MeshNode> {
  return MeshNode.create(options)
}
