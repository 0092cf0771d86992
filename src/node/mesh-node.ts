import type { PrivateKey } from '@libp2p/interface'
import { DEFAULT_LISTEN } from '../constants.js'
import { ConfigError, MeshError } from '../errors.js'
import type { MeshCallOptions } from '../jobs/caller.js'
import type { Job, SubmitOptions } from '../jobs/job.js'
import type { ExposeOptions, LookupOptions, ObjectEntry, ObjectStats, Remote } from '../objects/types.js'
import type { NodeRecord } from '../registry/record.js'
import type { Registry } from '../registry/registry.js'
import type { StealService } from '../stealing/index.js'
import { loadPsk, mdnsServiceTag } from '../security/psk.js'
import type { DetachedJob, JobSnapshot } from '../results/index.js'
import { dialBootstrap, dialDiscovered } from './discovery.js'
import { loadOrCreateKey, newKey } from './identity.js'
import { createTransport, type MeshLibp2p } from './libp2p.js'
import type { MapOptions, RunOptions, WorkflowStats } from '../workflows/service.js'
import type { Workflow } from '../workflows/signatures.js'
import type { ScheduleRecord, ScheduleStats } from '../workflows/schedules.js'
import type { ScheduleSpec } from '../workflows/schedule-spec.js'
import { meshService, type MeshNodeEvents, type MeshService, type MeshServiceInit, type PeerInfo } from './mesh-service.js'
import type { Activity } from '../events/activity.js'
import type { MeshMetrics } from '../metrics/metrics.js'

export { DEFAULT_LIMITS, type MeshLimits } from '../execution/limits.js'

export interface MeshNodeOptions extends MeshServiceInit {
  /** Multiaddrs to listen on; default `/ip4/127.0.0.1/tcp/0`. */
  listen?: string[]
  /** The node's identity; or `keyFile` to keep one across restarts. */
  privateKey?: PrivateKey
  keyFile?: string
  /** Find peers by mDNS; default true. */
  mdns?: boolean
  /** Multiaddrs (with /p2p/<id>) of peers to dial at start, for networks mDNS does not reach. */
  bootstrap?: string[]
  /**
   * A pre-shared mesh key (`mesh keygen` / pnet format), as bytes or the path
   * of a key file: only nodes with the same key can connect or discover this one.
   */
  psk?: Uint8Array | string
}

type Listener<K extends keyof MeshNodeEvents> = (...args: MeshNodeEvents[K]) => void

/**
 * A node of the mesh: the default libp2p stack (src/node/libp2p.ts) with the
 * mesh service in it. A thin facade: every call goes to `libp2p.services.mesh`,
 * which an app with its own libp2p node uses directly (meshService()).
 */
export class MeshNode {
  private readonly mesh: MeshService

  constructor (readonly libp2p: MeshLibp2p) {
    this.mesh = libp2p.services.mesh
  }

  get name (): string { return this.mesh.name }
  get limits (): MeshService['limits'] { return this.mesh.limits }
  get registry (): Registry { return this.mesh.registry }
  get steal (): StealService | undefined { return this.mesh.steal }
  get peerId (): string { return this.mesh.peerId }
  /** The addresses peers can dial, each ending in /p2p/<peer id>. */
  get addresses (): string[] { return this.mesh.addresses }
  /** Names of the tasks this node serves. */
  get served (): string[] { return this.mesh.served }
  get workers (): number { return this.mesh.workers }
  get draining (): boolean { return this.mesh.draining }
  /** Calls this node holds for callers (admitted and not finished). */
  get holding (): number { return this.mesh.holding }
  /** Task events of this node (src/events); `watchMesh(node)` sees the whole mesh's. */
  get activity (): Activity { return this.mesh.activity }
  /** Prometheus metrics, when created with `metrics` (docs/dashboard.md). */
  get metrics (): MeshMetrics | undefined { return this.mesh.metrics }
  /** A call of one of mesh's internal routes on `peer` (src/events). */
  protocolCall (...args: Parameters<MeshService['protocolCall']>): ReturnType<MeshService['protocolCall']> { return this.mesh.protocolCall(...args) }
  /** The RPC service, for tests that speak the protocol by hand. */
  private get rpc (): unknown { return (this.mesh as unknown as { rpc: unknown }).rpc }

  on<K extends keyof MeshNodeEvents>(event: K, listener: Listener<K>): this { this.mesh.on(event, listener as any); return this }
  once<K extends keyof MeshNodeEvents>(event: K, listener: Listener<K>): this { this.mesh.once(event, listener as any); return this }
  off<K extends keyof MeshNodeEvents>(event: K, listener: Listener<K>): this { this.mesh.off(event, listener as any); return this }

  /** Run `task` somewhere in the mesh: `await node.call('factorial', 20000n)`. */
  async call<T = unknown> (task: string, ...args: unknown[]): Promise<T> { return this.mesh.callWith<T>(task, args) }
  /** `call` with options: timeout, retries, cancellation signal, progress. */
  async callWith<T = unknown> (task: string, args: unknown[], options: MeshCallOptions = {}): Promise<T> { return this.mesh.callWith<T>(task, args, options) }
  /** Run `task` and get a Job: status, progress events, result, cancel (docs/reliability.md); `detach: true`: a job that outlives this process (docs/results.md). */
  submit<T = unknown> (task: string, args: unknown[], options: SubmitOptions & { detach: true }): Promise<DetachedJob<T>>
  submit<T = unknown> (task: string, args: unknown[], options?: SubmitOptions & { detach?: false }): Job<T>
  submit<T = unknown> (task: string, args: unknown[], options: SubmitOptions & { detach?: boolean } = {}): Job<T> | Promise<DetachedJob<T>> { return this.mesh.submit<T>(task, args, options as SubmitOptions & { detach: true }) }
  /** A handle on detached job `id` from any process; `jobs()`: recent ones mesh-wide (docs/results.md). */
  async job<T = unknown> (id: string): Promise<DetachedJob<T>> { return await this.mesh.job<T>(id) }
  async jobs (filter: Parameters<MeshService['jobs']>[0] = {}): Promise<JobSnapshot[]> { return await this.mesh.jobs(filter) }
  /** Withdraw this node's tasks and wait up to `timeout` ms for the calls it holds (see MeshService.drain). */
  async drain (options: { timeout?: number } = {}): Promise<boolean> { return this.mesh.drain(options) }
  /** Peers (and this node) serving `task` (or exposing the object of `object.method`), least loaded first. */
  providers (task: string): string[] { return this.mesh.providers(task) }
  async waitForProvider (task: string, options: MeshCallOptions = {}): Promise<string> { return this.mesh.waitForProvider(task, options) }
  async waitForPeers (count: number, timeout?: number): Promise<void> { return this.mesh.waitForPeers(count, timeout) }
  /** Every record, this node's first when it offers anything. */
  records (): NodeRecord[] { return this.mesh.records() }
  /** The peers this node is connected to, with what their records say. */
  peers (): PeerInfo[] { return this.mesh.peers() }
  /** Expose an object, class or factory to the mesh under `name` (docs/objects.md). */
  expose (name: string, target: object | (() => object), options: ExposeOptions = {}): void { this.mesh.expose(name, target, options) }
  unexpose (name: string): boolean { return this.mesh.unexpose(name) }
  /** A typed proxy to the object `name`, wherever in the mesh it is exposed. */
  async lookup<T = Record<string, (...args: any[]) => any>> (name: string, options: LookupOptions = {}): Promise<Remote<T>> { return this.mesh.lookup<T>(name, options) }
  async lookupByMetadata<T = Record<string, (...args: any[]) => any>> (tags: string | string[], options: LookupOptions = {}): Promise<Array<Remote<T>>> { return this.mesh.lookupByMetadata<T>(tags, options) }
  findObjects (tags?: string | string[]): ObjectEntry[] { return this.mesh.findObjects(tags) }
  objectStats (): ObjectStats { return this.mesh.objectStats() }

  /** Run a workflow built with sig, chain, group and chord (docs/workflows.md). */
  async run<T = unknown> (workflow: Workflow, options: RunOptions = {}): Promise<T> { return this.mesh.run<T>(workflow, options) }
  /** `task` over every item, `concurrency` calls in flight, results in order. */
  async map<T = unknown> (task: string, items: unknown[], options: MapOptions = {}): Promise<T[]> { return this.mesh.map<T>(task, items, options) }
  /** Where this node's workflow work and results went: hand-offs, steps run, chords held. */
  workflowStats (): WorkflowStats { return this.mesh.workflowStats() }
  /** Add (or replace) a periodic schedule on every node: `{ every: '24h', at: '04:00' }` or `{ cron: '0 4 * * *' }`. */
  async addSchedule (name: string, task: string, args: unknown[], spec: ScheduleSpec, options: { passTick?: boolean } = {}): Promise<ScheduleRecord> { return this.mesh.addSchedule(name, task, args, spec, options) }
  async removeSchedule (name: string): Promise<boolean> { return this.mesh.removeSchedule(name) }
  listSchedules (): ScheduleRecord[] { return this.mesh.listSchedules() }
  async syncSchedules (): Promise<void> { await this.mesh.syncSchedules() }
  scheduleStats (): ScheduleStats { return this.mesh.scheduleStats() }

  async stop (): Promise<void> {
    if (this.libp2p.status !== 'started') return
    await this.mesh.beforeStop()
    // Abort connections first: a graceful close can wait 500 ms each.
    for (const connection of this.libp2p.getConnections()) connection.abort(new Error('node stopping'))
    await this.libp2p.stop()
  }
}

/** Build and start a node on the default libp2p stack (TCP, Noise, Yamux, mDNS, identify, ping). */
export async function createMeshNode (options: MeshNodeOptions = {}): Promise<MeshNode> {
  // Metrics: libp2p's own go into the registry of mesh's (src/metrics/libp2p.ts), unless { libp2p: false }.
  const m = options.metrics
  const withLibp2p = m === true || (typeof m === 'object' && m.libp2p !== false)
  const promRegistry = withLibp2p ? (typeof m === 'object' ? m.registry : undefined) ?? new (await import('prom-client')).Registry() : undefined
  // A node with a new identity per run keeps no job journal on disk by default (docs/results.md).
  const persistentIdentity = options.privateKey !== undefined || options.keyFile !== undefined
  const mesh = meshService({ persistentIdentity, ...options, ...(promRegistry !== undefined ? { metrics: { registry: promRegistry } } : {}) })
  const psk = options.psk !== undefined ? await loadPsk(options.psk) : undefined
  const privateKey = options.privateKey ?? (options.keyFile !== undefined ? await loadOrCreateKey(options.keyFile) : await newKey())
  let libp2p: MeshLibp2p
  try {
    libp2p = await createTransport({ privateKey, listen: options.listen ?? [DEFAULT_LISTEN], mdns: options.mdns ?? true, psk, mdnsServiceTag: psk !== undefined ? mdnsServiceTag(psk) : undefined, dht: options.dht === 'client' ? 'client' : options.dht === true ? 'server' : undefined, metrics: promRegistry !== undefined ? await (await import('../metrics/libp2p.js')).libp2pMetrics(promRegistry) : undefined }, mesh)
  } catch (err: any) {
    if (err instanceof MeshError) throw err
    throw new ConfigError(`cannot create the node: ${err.message}`)
  }
  // A node that serves nothing (a CLI client) is dialled by nobody: it dials what it finds at once.
  const dialer = dialDiscovered(libp2p, options.serve !== undefined)
  try {
    await libp2p.start()
  } catch (err: any) {
    if (err instanceof MeshError) throw err
    throw new ConfigError(`cannot start the node (listen ${libp2p.getMultiaddrs().join(', ') || 'failed'}): ${err.message}`)
  }
  dialBootstrap(dialer, options.bootstrap ?? [])
  return new MeshNode(libp2p)
}
