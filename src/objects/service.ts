import type { ComponentLogger, Libp2pEvents, Logger, PeerId, TypedEventTarget } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { DEFAULT_CALL_TIMEOUT_MS, MAX_REFS_PER_PEER } from '../constants.js'
import {
  BadArgumentError, HandleReleasedError, LimitExceededError, NoProviderError, NotRunningError,
  PeerGoneError, UnknownMethodError
} from '../errors.js'
import { loadScore, type ObjectInfo } from '../registry/record.js'
import type { Registry } from '../registry/registry.js'
import { objectOfMethod } from '../execution/routes.js'
import type { CallOptions, IncomingCall } from '../rpc/channel.js'
import { ExposedTable, OBJECT_NAME } from './exposed.js'
import { checkMethodList, exposedMethods } from './exposure.js'
import { markOf } from './marker.js'
import { makeProxy, proxyState, type Invoke } from './proxy.js'
import type { ExposeOptions, LookupOptions, ObjectDescription, ObjectEntry, ObjectStats, Remote } from './types.js'
import { DESCEND, RefIn, RefKind, RefOut, mapArgs, mapDeep, parseRef } from './wire.js'

/**
 * Call names of the object protocol. A method of an exposed object is called
 * by `<object>.<method>` (so `mesh call greeter.welcomeMessage John` needs
 * nothing special); handles, callbacks, release and describe use internal
 * names. All ride the node's RPC channel as ordinary requests: the envelope
 * already has ids, errors, cancellation, timeouts and batching, and a
 * reference inside arguments or results is a codec extension (see wire.ts),
 * so no new message kind is needed.
 */
export const OBJECT_NAMESPACE = '@mesh/obj'
const REF_CALL = `${OBJECT_NAMESPACE}/ref`
const RELEASE_CALL = `${OBJECT_NAMESPACE}/release`
const DESCRIBE_CALL = `${OBJECT_NAMESPACE}/describe`

/** Any method, for proxies passed on (the object behind them checks). */
const ANY = 'any'
type Allowed = ReadonlySet<string> | typeof ANY
/** A function reference exposes only being called. */
const CALL_ONLY: ReadonlySet<string> = new Set([''])

interface ExportEntry {
  id: number
  target: object
  kind: RefKind
  allow: Allowed
  oneway: string[]
  /** References sent and not yet released; the entry goes at zero. */
  refs: number
}

interface PeerExports {
  nextId: number
  byId: Map<number, ExportEntry>
  byTarget: WeakMap<object, ExportEntry>
}

interface Held { peer: string, epoch: number, id: number }

export interface ObjectServiceComponents {
  peerId: PeerId
  logger: ComponentLogger
  /** libp2p's events: a peer's handles and sessions go when it disconnects. */
  events: TypedEventTarget<Libp2pEvents>
  registry: Registry
  /** A call to `peer` over the node's RPC service. */
  call: (peer: PeerId, name: string, args: unknown[], options: CallOptions) => Promise<unknown>
  running: () => boolean
  /** A one-way method (or anything whose caller does not wait) failed here. */
  onError: (object: string, method: string, from: string, err: Error) => void
}

const noop = (): void => {}

/**
 * Remote objects: the table of exposed objects and how they are served, and
 * per peer the handles and callbacks this node lent it (exports) and the
 * generation of that peer's connection (to fail old proxies after it left).
 */
export class ObjectService {
  private readonly exposed = new ExposedTable()
  /** Kept until the peer disconnects, so ids are never reused while it is connected. */
  private readonly exports = new Map<string, PeerExports>()
  private readonly epochs = new Map<string, number>()
  private readonly peerIds = new Map<string, PeerId>()
  private readonly releaseQueue = new Map<string, Held[]>()
  private releaseScheduled = false
  private readonly selfId: string
  private readonly finalizer = new FinalizationRegistry<Held>((held) => { this.queueRelease(held) })
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => { this.dropPeer(evt.detail.toString()) }

  private readonly log: Logger

  constructor (private readonly init: ObjectServiceComponents) {
    this.selfId = init.peerId.toString()
    this.log = init.logger.forComponent('mesh:objects')
  }

  start (): void {
    this.init.events.addEventListener('peer:disconnect', this.onDisconnect)
  }

  stop (): void {
    this.init.events.removeEventListener('peer:disconnect', this.onDisconnect)
    this.exposed.dropSessions()
    this.exports.clear()
    this.releaseQueue.clear()
  }

  // ── exposing ──────────────────────────────────────────────────────────────

  expose (name: string, target: unknown, options: ExposeOptions = {}): void {
    this.exposed.add(name, target, options)
    this.published()
  }

  unexpose (name: string): boolean {
    const removed = this.exposed.remove(name)
    if (removed) this.published()
    return removed
  }

  /** What the registry advertises. */
  offer (): ObjectInfo[] {
    return this.exposed.offer()
  }

  stats (): ObjectStats {
    const sessions = this.exposed.sessions
    let exported = 0
    let exportPeers = 0
    for (const t of this.exports.values()) {
      exported += t.byId.size
      if (t.byId.size > 0) exportPeers++
    }
    return { exposed: this.exposed.size, sessions, exported, exportPeers }
  }

  private published (): void {
    this.init.registry.publishNow().catch((err: any) => { this.log('publish failed: %s', err.message) })
  }

  // ── serving ───────────────────────────────────────────────────────────────

  /** The route of `<object>.<method>` calls that arrived from `from` (or this node itself). */
  handleMethod (call: IncomingCall, from: string): unknown {
    const object = objectOfMethod(call.task)
    return this.callNamed(object, call.task.slice(object.length + 1), call.args, from)
  }

  private callNamed (objectName: string, method: string, args: unknown[], from: string): unknown {
    const t = this.exposed.target(objectName, from)
    return this.invoke(t.name, t.instance, t.methods, method, args, from, t.oneway.has(method))
  }

  private invoke (label: string, target: object, allow: Allowed, method: string, rawArgs: unknown[], from: string, oneway: boolean): unknown {
    if (typeof method !== 'string' || (allow !== ANY && !allow.has(method))) {
      throw new UnknownMethodError(method === '' ? `${label} is not a function` : `${label} has no exposed method "${String(method)}"`)
    }
    const fn = method === '' ? target : (target as Record<string, unknown>)[method]
    if (typeof fn !== 'function') throw new UnknownMethodError(`${label} has no exposed method "${method}"`)
    if (method !== '' && rawArgs.length < fn.length) {
      throw new BadArgumentError(`${label}.${method} takes at least ${fn.length} argument${fn.length === 1 ? '' : 's'}, got ${rawArgs.length}`)
    }
    const args = from === this.selfId ? rawArgs : mapArgs(rawArgs, this.importVisitor(from))
    const self = method === '' ? undefined : target
    if (oneway) {
      const fail = (err: any): void => { this.init.onError(label, method, from, err instanceof Error ? err : new Error(String(err))) }
      try {
        const out = fn.apply(self, args)
        if (out instanceof Promise) out.catch(fail)
      } catch (err) {
        fail(err)
      }
      return undefined
    }
    const out = fn.apply(self, args)
    if (out instanceof Promise) return out.then((value) => this.exportValue(value, from))
    return this.exportValue(out, from)
  }

  /** The route of the object protocol's internal calls (`@mesh/obj/...`). */
  handleInternal (call: IncomingCall, from: string): unknown {
    const { task: name, args } = call
    switch (name) {
      case REF_CALL: {
        const id = args[0]
        const entry = typeof id === 'number' ? this.exports.get(from)?.byId.get(id) : undefined
        if (entry === undefined) throw new HandleReleasedError(`handle ${String(id)} is unknown here or was released`)
        const method = args[1] as string
        return this.invoke(entry.kind === RefKind.Function ? 'the callback' : `handle ${entry.id}`, entry.target, entry.allow,
          method, args.slice(2), from, entry.oneway.includes(method))
      }
      case RELEASE_CALL: {
        const table = this.exports.get(from)
        let released = 0
        for (const id of Array.isArray(args[0]) ? args[0] : []) {
          const entry = table?.byId.get(id)
          if (entry === undefined || --entry.refs > 0) continue
          table!.byId.delete(id)
          table!.byTarget.delete(entry.target)
          released++
        }
        return released
      }
      case DESCRIBE_CALL: {
        return this.exposed.describe(args[0] as string)
      }
      default:
        throw new UnknownMethodError(`unknown object protocol call "${name}"`)
    }
  }

  // ── references ────────────────────────────────────────────────────────────

  /** A value going to `to`: functions, marked objects and proxies become references. */
  private exportValue (value: unknown, to: string): unknown {
    if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return value
    return mapDeep(value, to === this.selfId ? this.localVisitor : this.exportVisitor(to))
  }

  private exportVisitor (to: string): (v: object) => unknown {
    return (v) => {
      if (typeof v === 'function') {
        const state = proxyState(v)
        return this.lend(to, v, RefKind.Function, CALL_ONLY, state !== undefined ? [...state.oneway] : [])
      }
      const mark = markOf(v)
      if (mark !== undefined) {
        const allow = mark.methods !== undefined ? checkMethodList('methods', mark.methods) : exposedMethods(v)
        return this.lend(to, v, RefKind.Object, allow, mark.oneway ?? [])
      }
      const state = proxyState(v)
      if (state !== undefined) return this.lend(to, v, RefKind.Object, ANY, [...state.oneway])
      return DESCEND
    }
  }

  private lend (to: string, target: object, kind: RefKind, allow: Allowed, oneway: string[]): RefOut {
    let table = this.exports.get(to)
    if (table === undefined) {
      table = { nextId: 1, byId: new Map(), byTarget: new WeakMap() }
      this.exports.set(to, table)
    }
    let entry = table.byTarget.get(target)
    if (entry === undefined) {
      if (table.byId.size >= MAX_REFS_PER_PEER) throw new LimitExceededError(`the peer holds ${table.byId.size} handles and callbacks here, the limit is ${MAX_REFS_PER_PEER}: release some`)
      entry = { id: table.nextId++, target, kind, allow, oneway, refs: 0 }
      table.byId.set(entry.id, entry)
      table.byTarget.set(target, entry)
    }
    entry.refs++
    return new RefOut(entry.id, entry.kind, entry.oneway)
  }

  /** Results of a call this node made to itself: handles become local proxies, so both look alike. */
  private readonly localVisitor = (v: object): unknown => {
    const mark = typeof v === 'object' ? markOf(v) : undefined
    if (mark === undefined) return DESCEND
    const allow = mark.methods !== undefined ? checkMethodList('methods', mark.methods) : exposedMethods(v)
    const oneway = new Set(mark.oneway ?? [])
    const state = { released: false, label: 'local handle', oneway }
    return makeProxy(false, state, this.guard((method, args) => this.invoke('local handle', v, allow, method, args, this.selfId, oneway.has(method))), async () => {})
  }

  private importVisitor (from: string): (v: object) => unknown {
    return (v) => v instanceof RefIn ? this.bind(from, v) : DESCEND
  }

  private importValue (value: unknown, from: string): unknown {
    if (value === null || typeof value !== 'object') return value
    return mapDeep(value, this.importVisitor(from))
  }

  /** A reference that arrived from `from`: a proxy that calls back over the RPC channel to it. */
  private bind (from: string, ref: RefIn): object {
    const parsed = parseRef(ref)
    if (parsed === undefined) throw new BadArgumentError('malformed handle reference')
    const { id, kind } = parsed
    const epoch = this.epochOf(from)
    const peerId = this.peerIdOf(from)
    const label = kind === RefKind.Function ? `callback ${id} of ${from}` : `handle ${id} of ${from}`
    const state = { released: false, label, oneway: new Set(parsed.oneway) }
    const held: Held = { peer: from, epoch, id }
    const toPeer = this.exportVisitor(from)
    const invoke: Invoke = (method, args) => {
      if (this.epochOf(from) !== epoch) return Promise.reject(new PeerGoneError(`${label}: that peer disconnected`))
      if (!this.init.running()) return Promise.reject(new NotRunningError('the node is stopped'))
      let wire: unknown[]
      try {
        wire = mapArgs(args, toPeer)
      } catch (err) {
        return Promise.reject(err)
      }
      return this.init.call(peerId, REF_CALL, [id, method, ...wire], { timeout: DEFAULT_CALL_TIMEOUT_MS })
        .then((value) => this.importValue(value, from))
    }
    const proxy = makeProxy(kind === RefKind.Function, state, invoke, async () => {
      this.finalizer.unregister(state)
      await this.sendRelease(from, epoch, [id])
    })
    this.finalizer.register(proxy, held, state)
    return proxy
  }

  private queueRelease (held: Held): void {
    if (this.epochOf(held.peer) !== held.epoch) return
    const list = this.releaseQueue.get(held.peer) ?? []
    list.push(held)
    this.releaseQueue.set(held.peer, list)
    if (this.releaseScheduled) return
    this.releaseScheduled = true
    setImmediate(() => {
      this.releaseScheduled = false
      for (const [peer, items] of this.releaseQueue) {
        const current = items.filter(h => h.epoch === this.epochOf(peer))
        if (current.length > 0) this.sendRelease(peer, current[0].epoch, current.map(h => h.id)).catch(noop)
      }
      this.releaseQueue.clear()
    }).unref()
  }

  private async sendRelease (peer: string, epoch: number, ids: number[]): Promise<void> {
    // A peer that left already dropped everything it lent us.
    if (this.epochOf(peer) !== epoch || !this.init.running()) return
    try {
      await this.init.call(this.peerIdOf(peer), RELEASE_CALL, [ids], { timeout: DEFAULT_CALL_TIMEOUT_MS })
    } catch (err: any) {
      this.log('release of %d handles at %s failed: %s', ids.length, peer, err.message)
    }
  }

  private epochOf (peer: string): number {
    return this.epochs.get(peer) ?? 0
  }

  private peerIdOf (peer: string): PeerId {
    let id = this.peerIds.get(peer)
    if (id === undefined) {
      id = peerIdFromString(peer)
      this.peerIds.set(peer, id)
    }
    return id
  }

  /** A peer's last connection closed: its sessions and everything lent to it go; its proxies fail. */
  private dropPeer (peer: string): void {
    this.epochs.set(peer, this.epochOf(peer) + 1)
    this.peerIds.delete(peer)
    this.exports.delete(peer)
    this.releaseQueue.delete(peer)
    this.exposed.dropSessions(peer)
  }

  /** Run a local invocation as a promise, so sync throws become rejections. */
  private guard (fn: (method: string, args: unknown[]) => unknown): Invoke {
    return (method, args) => {
      try {
        return Promise.resolve(fn(method, args))
      } catch (err) {
        return Promise.reject(err)
      }
    }
  }

  // ── finding and looking up ────────────────────────────────────────────────

  /** Peers (this node first) exposing `name`, least loaded first. */
  providers (name: string): string[] {
    const candidates: Array<{ peer: string, score: number }> = []
    if (this.exposed.has(name)) candidates.push({ peer: this.selfId, score: -1 })
    for (const record of this.init.registry.peers()) {
      if (record.objects.some(o => o.name === name)) candidates.push({ peer: record.peerId, score: loadScore(record.load) })
    }
    return candidates.sort((a, b) => a.score - b.score).map(c => c.peer)
  }

  /** Every object in the mesh as the registry knows it, with all of `tags` if given. */
  find (tags: string | string[] = []): ObjectEntry[] {
    const want = typeof tags === 'string' ? [tags] : tags
    const all: ObjectEntry[] = this.exposed.entries().map(e => ({ ...e, peerId: this.selfId }))
    for (const record of this.init.registry.peers()) {
      for (const o of record.objects) all.push({ name: o.name, metadata: [...o.metadata], peerId: record.peerId })
    }
    return all.filter(o => want.every(t => o.metadata.includes(t)))
  }

  async lookup<T> (name: string, options: LookupOptions = {}): Promise<Remote<T>> {
    if (typeof name !== 'string' || !OBJECT_NAME.test(name)) throw new BadArgumentError(`object name "${String(name)}" must be letters, digits, _ or -`)
    const timeout = options.timeout ?? DEFAULT_CALL_TIMEOUT_MS
    const wanted = options.peerId
    const peer = await this.waitFor(
      () => wanted === undefined ? this.providers(name)[0] : this.providers(name).find(p => p === wanted),
      timeout,
      () => this.notFound(`"${name}"${wanted !== undefined ? ` at ${wanted}` : ''}`, timeout)
    )
    return this.proxyFor<T>(name, peer, options.callTimeout ?? DEFAULT_CALL_TIMEOUT_MS, timeout)
  }

  async lookupByMetadata<T> (tags: string | string[], options: LookupOptions = {}): Promise<Array<Remote<T>>> {
    const timeout = options.timeout ?? DEFAULT_CALL_TIMEOUT_MS
    const found = await this.waitFor(() => { const f = this.find(tags); return f.length > 0 ? f : undefined }, timeout,
      () => this.notFound(`tagged ${JSON.stringify(tags)}`, timeout))
    return Promise.all(found.map(o => this.proxyFor<T>(o.name, o.peerId, options.callTimeout ?? DEFAULT_CALL_TIMEOUT_MS, timeout)))
  }

  private notFound (what: string, timeout: number): Error {
    const peers = this.init.registry.peers().length
    const known = [...new Set(this.find().map(o => o.name))].sort()
    return peers === 0
      ? new NoProviderError(`no peer found within ${timeout} ms, so no object ${what}: is a node exposing it on this network?`)
      : new NoProviderError(`none of the ${peers} peers found exposes an object ${what} (waited ${timeout} ms); objects: ${known.join(', ') || 'none'}`)
  }

  private async proxyFor<T> (name: string, peer: string, callTimeout: number, timeout: number): Promise<Remote<T>> {
    if (peer === this.selfId) {
      const state = { released: false, label: `object ${name}`, oneway: new Set(this.exposed.oneway(name)) }
      return makeProxy(false, state, this.guard((method, args) => this.callNamed(name, method, args, this.selfId)), async () => {}) as Remote<T>
    }
    const peerId = this.peerIdOf(peer)
    const description = await this.init.call(peerId, DESCRIBE_CALL, [name], { timeout }) as ObjectDescription
    const state = { released: false, label: `object ${name} at ${peer}`, oneway: new Set(Array.isArray(description?.oneway) ? description.oneway : []) }
    const names = new Map<string, string>()
    const toPeer = this.exportVisitor(peer)
    const invoke: Invoke = (method, args) => {
      if (!this.init.running()) return Promise.reject(new NotRunningError('the node is stopped'))
      let callName = names.get(method)
      if (callName === undefined) {
        callName = `${name}.${method}`
        names.set(method, callName)
      }
      let wire: unknown[]
      try {
        wire = mapArgs(args, toPeer)
      } catch (err) {
        return Promise.reject(err)
      }
      return this.init.call(peerId, callName, wire, { timeout: callTimeout }).then((value) => this.importValue(value, peer))
    }
    return makeProxy(false, state, invoke, async () => {}) as Remote<T>
  }

  private async waitFor<R> (pick: () => R | undefined, timeout: number, fail: () => Error): Promise<R> {
    const now = pick()
    if (now !== undefined) return now
    const registry = this.init.registry
    return new Promise<R>((resolve, reject) => {
      const onChange = (): void => {
        const found = pick()
        if (found === undefined) return
        clearTimeout(timer)
        registry.off('change', onChange)
        resolve(found)
      }
      const timer = setTimeout(() => {
        registry.off('change', onChange)
        reject(fail())
      }, timeout)
      registry.on('change', onChange)
    })
  }
}
