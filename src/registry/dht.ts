import type { ComponentLogger, ContentRouting, Libp2pEvents, Logger, PeerId, PeerInfo, PeerStore, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { DHT_FIND_MAX_DIALS, DHT_PROVIDE_RETRY_MS, DHT_PROVIDE_SETTLED_PEERS } from '../constants.js'

/** The libp2p components the DHT directory uses: content routing (a DHT the node runs), dialling, and the peer store. */
export interface DhtDirectoryComponents {
  peerId: PeerId
  contentRouting: ContentRouting
  connectionManager: ConnectionManager
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

/** The DHT key under which the providers of a task are found: the CID (raw, sha2-256) of `mesh/task/<name>`. */
export async function taskKey (task: string): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(`mesh/task/${task}`)))
}

/** One lookup of a task's providers, shared by every caller waiting for that task. */
interface SharedLookup {
  /** Aborts the lookup and its dials: once every caller that joined it has given up. */
  controller: AbortController
  /** Callers whose signal has not aborted yet. */
  waiting: number
  /** Settles when the DHT query ends (its dials may still be under way). */
  done: Promise<void>
}

/**
 * Providers found beyond the peers a node is connected to, for meshes that
 * mDNS and record relaying do not span (docs/dht.md): a node that serves
 * tasks puts a provider record under each task's key in a Kademlia DHT, and a
 * caller that knows no provider of a task looks the key up and dials what
 * it finds. It needs nothing else: once connected, the registry exchanges
 * signed records as with any neighbour, so a provider record only says whom
 * to dial, and a forged one costs a dial (the record that decides is signed).
 * Which DHT is the node's own (createMeshNode's `dht: true` runs one with
 * mesh's private protocol id; an embedding app may bring its own).
 */
export class DhtDirectory {
  private readonly log: Logger
  private tasks: string[] = []
  private provided = new Set<string>()
  private roundTimer?: NodeJS.Timeout
  /** Connections when the last provide round started. */
  private peersAtRound = 0
  private running = false
  private readonly lookups = new Map<string, SharedLookup>()

  constructor (private readonly components: DhtDirectoryComponents) {
    this.log = components.logger.forComponent('mesh:dht')
  }

  start (): void {
    this.running = true
    this.components.events.addEventListener('peer:connect', this.onConnect)
  }

  stop (): void {
    this.running = false
    clearTimeout(this.roundTimer)
    this.roundTimer = undefined
    this.components.events.removeEventListener('peer:connect', this.onConnect)
  }

  /** Announce the tasks this node serves (again whenever they change); the DHT re-provides them before they expire. */
  provide (tasks: string[]): void {
    this.tasks = [...tasks]
    this.provided = new Set([...this.provided].filter(t => this.tasks.includes(t)))
    clearTimeout(this.roundTimer)
    this.roundTimer = undefined
    this.schedule(0)
  }

  /** Tasks whose provider record is placed. */
  get providing (): string[] { return [...this.provided] }

  /**
   * Look up the providers of `task` and dial those not connected (at most
   * DHT_FIND_MAX_DIALS), until the lookup ends or `signal` aborts; their
   * records then arrive through the registry. One lookup per task at a time,
   * shared by its callers: it (and its dials) stops when the last of them
   * aborts, not when the first does, so a short call that gives up does not
   * cancel the lookup a longer one is waiting on. Resolves when the query
   * ends or `signal` aborts, whichever is first.
   */
  async find (task: string, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return
    let shared = this.lookups.get(task)
    if (shared === undefined) {
      const controller = new AbortController()
      const created: SharedLookup = {
        controller,
        waiting: 0,
        done: this.lookup(task, controller.signal).finally(() => { if (this.lookups.get(task) === created) this.lookups.delete(task) })
      }
      this.lookups.set(task, created)
      shared = created
    }
    const lookup = shared
    lookup.waiting++
    const left = Promise.withResolvers<void>()
    signal.addEventListener('abort', () => {
      if (--lookup.waiting === 0) lookup.controller.abort()
      left.resolve()
    }, { once: true })
    await Promise.race([lookup.done, left.promise])
  }

  /** Peers the DHT lists as providers of `task` (this node excluded), without dialling them. */
  async findProviders (task: string, signal: AbortSignal): Promise<PeerInfo[]> {
    const out: PeerInfo[] = []
    const self = this.components.peerId
    for await (const info of this.components.contentRouting.findProviders(await taskKey(task), { signal })) {
      if (!info.id.equals(self) && !out.some(o => o.id.equals(info.id))) out.push(info)
    }
    return out
  }

  private async lookup (task: string, signal: AbortSignal): Promise<void> {
    const { connectionManager, contentRouting, peerId, peerStore } = this.components
    let dials = 0
    try {
      for await (const info of contentRouting.findProviders(await taskKey(task), { signal })) {
        if (info.id.equals(peerId) || connectionManager.getConnections(info.id).length > 0) continue
        if (dials++ >= DHT_FIND_MAX_DIALS) break
        if (info.multiaddrs.length > 0) await peerStore.merge(info.id, { multiaddrs: info.multiaddrs })
        connectionManager.openConnection(info.id, { signal }).catch((err: Error) => { this.log('dial of provider %p of %s failed: %s', info.id, task, err.message) })
      }
    } catch (err) {
      // No peers to ask yet, the lookup cancelled, a peer answering garbage: the caller keeps waiting for other ways in.
      if (!signal.aborted) this.log('lookup of %s ended: %s', task, (err as Error).message)
    }
  }

  /** A new peer may be closer to a task's key than those holding its provider record: provide again while the node has few peers. */
  private readonly onConnect = (): void => {
    if (this.tasks.length > 0 && this.peersAtRound < DHT_PROVIDE_SETTLED_PEERS) this.schedule(DHT_PROVIDE_RETRY_MS)
  }

  private schedule (ms: number): void {
    if (!this.running || this.roundTimer !== undefined) return
    this.roundTimer = setTimeout(() => {
      this.roundTimer = undefined
      void this.round()
    }, ms)
  }

  /** Provide every task; a failure (no DHT peers yet) is retried after a while or when a peer connects. */
  private async round (): Promise<void> {
    if (!this.running) return
    this.peersAtRound = this.components.connectionManager.getConnections().length
    const tasks = this.tasks
    for (const task of tasks) {
      try {
        await this.components.contentRouting.provide(await taskKey(task))
        if (this.tasks.includes(task)) this.provided.add(task)
      } catch (err) {
        this.log('provide of %s failed (retrying): %s', task, (err as Error).message)
        this.peersAtRound = 0
        this.schedule(DHT_PROVIDE_RETRY_MS)
        return
      }
    }
  }
}
