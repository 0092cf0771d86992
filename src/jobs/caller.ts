import type { PeerId } from '@libp2p/interface'
import { DEFAULT_CALL_TIMEOUT_MS } from '../constants.js'
import { CancelledError, NoProviderError, TimeoutError, UnknownObjectError, UnknownTaskError } from '../errors.js'
import { objectOfMethod, routeKind } from '../execution/routes.js'
import { loadScore, type LoadInfo } from '../registry/record.js'
import type { Registry } from '../registry/registry.js'
import type { CallOptions, IncomingCall } from '../rpc/channel.js'
import { Job, type AttemptOptions, type JobHost, type SubmitOptions } from './job.js'
import { PartsCollector, PartsInbox } from '../stealing/parts.js'

export interface MeshCallOptions extends CallOptions, Omit<SubmitOptions, 'signal' | 'timeout' | 'onProgress' | 'unknownAfter'> {
  /**
   * When peers are known but none serves the task, fail with UNKNOWN_TASK
   * after this many ms of no registry change instead of waiting the whole
   * timeout for a provider to appear. Off by default.
   */
  unknownAfter?: number
}

/** What the caller side needs: the registry, the RPC service, this node's own offer and its object table. */
export interface CallerComponents {
  peerId: string
  registry: Registry
  rpc: { call: (peer: PeerId, name: string, args: unknown[], options: CallOptions) => Promise<unknown> }
  /** This node as a provider of tasks. */
  local: { offers: (task: string) => boolean, idempotent: (task: string) => boolean, load: () => LoadInfo }
  /** Run a call here, through the routing table. */
  route: (call: IncomingCall, from: string) => unknown
  objects: { providers: (name: string) => string[], find: () => Array<{ name: string }> }
  /** Peer ids parsed once per known peer. */
  peerIds: { of: (peer: string) => PeerId }
  /** Look providers of a task up beyond the known peers (a DHT, src/registry/dht.ts) until the signal aborts: found ones are dialled and their records arrive in the registry. */
  find?: (task: string, signal: AbortSignal) => Promise<void>
}

/**
 * The caller side: provider choice (least loaded, counting this node's own
 * outstanding calls so callers spread out between record updates), waiting
 * for a provider, and one attempt of a Job on one provider.
 */
export class Caller {
  /** Calls this node has outstanding at each provider. */
  private readonly outstanding = new Map<string, number>()
  /** Parts of this node's attempts that thieves deliver straight here (the PARTS_ROUTE calls). */
  readonly inbox = new PartsInbox()
  private readonly host: JobHost = {
    choose: (task, avoid) => this.providers(task).find(p => !avoid.has(p)),
    waitForProvider: async (task, options) => this.waitForProvider(task, options),
    run: async (provider, task, args, options) => this.attempt(provider, task, args, options),
    idempotent: (task, provider) => provider === this.components.peerId
      ? this.components.local.idempotent(task)
      : this.components.registry.get(provider)?.tasks.find(t => t.name === task)?.idempotent === true
  }

  constructor (private readonly components: CallerComponents) {}

  /** Whether `provider` advertises `task` as safe to run twice. */
  idempotent (task: string, provider: string): boolean { return this.host.idempotent(task, provider) }

  submit<T> (task: string, args: unknown[], options: SubmitOptions): Job<T> {
    return new Job<T>(this.host, task, args, options)
  }

  /** One attempt of a job on one provider. */
  private async attempt (provider: string, task: string, args: unknown[], options: AttemptOptions): Promise<unknown> {
    const { peerId, route, rpc } = this.components
    if (provider === peerId) {
      return await route({ task, args, meta: { timeout: options.timeout, job: options.job, priority: options.priority }, signal: options.signal(), progress: options.onProgress }, peerId)
    }
    this.outstanding.set(provider, (this.outstanding.get(provider) ?? 0) + 1)
    let inbox: string | undefined
    try {
      // A split job's result streams in as parts while it computes (src/stealing/parts.ts).
      const parts = new PartsCollector()
      inbox = this.inbox.register(parts)
      const onProgress = (data: unknown): void => { if (!parts.take(data)) options.onProgress(data) }
      return parts.finish(await rpc.call(this.components.peerIds.of(provider), task, args, { timeout: options.timeout, job: options.job, priority: options.priority, parts: true, inbox, onProgress, cancelHook: options.cancelHook }))
    } finally {
      if (inbox !== undefined) this.inbox.close(inbox)
      const n = (this.outstanding.get(provider) ?? 1) - 1
      if (n <= 0) this.outstanding.delete(provider)
      else this.outstanding.set(provider, n)
    }
  }

  /** Peers (and this node) serving `task` (or, for `object.method`, exposing the object), least loaded first. */
  providers (task: string): string[] {
    const { local, objects, peerId, registry } = this.components
    if (routeKind(task) === 'method') return objects.providers(objectOfMethod(task))
    const candidates: Array<{ peer: string, score: number }> = []
    if (local.offers(task)) candidates.push({ peer: peerId, score: loadScore(local.load()) - 0.5 })
    for (const record of registry.providers(task)) {
      const mine = this.outstanding.get(record.peerId) ?? 0
      candidates.push({ peer: record.peerId, score: loadScore(record.load) + mine / Math.max(1, record.load.workers) })
    }
    return candidates.sort((a, b) => a.score - b.score).map(c => c.peer)
  }

  /** Wait until some node serves `task`; resolves with the least loaded provider's peer id. */
  async waitForProvider (task: string, options: MeshCallOptions = {}): Promise<string> {
    const found = this.providers(task)[0]
    if (found !== undefined) return found
    const { registry } = this.components
    const timeout = options.timeout ?? DEFAULT_CALL_TIMEOUT_MS
    return new Promise((resolve, reject) => {
      let unknownTimer: NodeJS.Timeout | undefined
      const lookup = new AbortController()
      const finish = (err?: Error, peer?: string): void => {
        lookup.abort()
        clearTimeout(timer)
        clearTimeout(unknownTimer)
        registry.off('change', onChange)
        options.signal?.removeEventListener('abort', onAbort)
        if (err !== undefined) reject(err)
        else resolve(peer as string)
      }
      const armUnknown = (): void => {
        if (options.unknownAfter === undefined || registry.peers().length === 0) return
        clearTimeout(unknownTimer)
        unknownTimer = setTimeout(() => { finish(this.unknown(task)) }, options.unknownAfter)
      }
      const onChange = (): void => {
        const peer = this.providers(task)[0]
        if (peer !== undefined) finish(undefined, peer)
        else armUnknown()
      }
      const onAbort = (): void => { finish(new CancelledError('the call was cancelled')) }
      const timer = setTimeout(() => {
        const peers = registry.peers().length
        finish(peers === 0
          ? new NoProviderError(`no peer found within ${timeout} ms: is a node running (mesh node --serve ${task}) on this network?`)
          : new NoProviderError(`none of the ${peers} peers found serves "${task}" (waited ${timeout} ms)`))
      }, timeout)
      registry.on('change', onChange)
      options.signal?.addEventListener('abort', onAbort, { once: true })
      armUnknown()
      if (routeKind(task) !== 'method') void this.components.find?.(task, lookup.signal)
    })
  }

  private unknown (task: string): Error {
    if (routeKind(task) === 'method') {
      const objects = [...new Set(this.components.objects.find().map(o => o.name))].sort()
      return new UnknownObjectError(`no node in the mesh exposes "${objectOfMethod(task)}"; objects exposed: ${objects.join(', ') || 'none'}`)
    }
    const known = [...new Set(this.components.registry.peers().flatMap(r => r.tasks.map(t => t.name)))].sort()
    return new UnknownTaskError(`no node in the mesh serves "${task}"; tasks served: ${known.join(', ') || 'none'}`)
  }

  /** Wait until at least `count` peers' records are known. */
  async waitForPeers (count: number, timeout = DEFAULT_CALL_TIMEOUT_MS): Promise<void> {
    const { registry } = this.components
    if (registry.peers().length >= count) return
    await new Promise<void>((resolve, reject) => {
      const onChange = (): void => {
        if (registry.peers().length < count) return
        clearTimeout(timer)
        registry.off('change', onChange)
        resolve()
      }
      const timer = setTimeout(() => {
        registry.off('change', onChange)
        reject(new TimeoutError(`found ${registry.peers().length} of ${count} peers within ${timeout} ms`))
      }, timeout)
      registry.on('change', onChange)
    })
  }
}
