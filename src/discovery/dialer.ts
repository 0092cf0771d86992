import type { Connection, Libp2p, Logger, PeerId } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { CODE_P2P, type Multiaddr } from '@multiformats/multiaddr'
import {
  DIAL_BACKOFF_MAX_MS, DIAL_BACKOFF_BASE_MS, DIAL_FORGET_MS, DIAL_MAX_PARALLEL, DIAL_MAX_PEERS, DIAL_TARGET_PEERS, DIAL_TIMEOUT_MS, DIAL_YIELD_MS
} from '../constants.js'
import type { DiscoveredPeer, LanDiscovery } from './mdns.js'

/** A peer the dialer means to stay connected to. */
interface Target {
  id: PeerId
  addrs: Multiaddr[]
  /** When discovery last reported it (epoch ms). */
  seen: number
  /** A bootstrap peer: redialled for good, never forgotten. */
  pinned: boolean
  /** Failed dials since the last connection. */
  failures: number
  timer?: NodeJS.Timeout
  queued: boolean
  dialing: boolean
  /** Aborts this node's dial in flight when the peer's own dial to us connects first. */
  abort?: AbortController
}

/**
 * Keeps this node connected to some of the peers discovery reports (and to
 * its bootstrap peers), which libp2p v3 leaves to the application.
 *
 * - A partial mesh: a node dials while it has fewer than DIAL_TARGET_PEERS
 *   peers, and always its ring successor (the next peer id up, wrapping), so
 *   the mesh is connected whatever the order nodes came in. Records are
 *   relayed (src/registry/relay.ts), so every node still knows every
 *   provider, and a call to one it is not connected to dials it then. A full
 *   mesh of N nodes is N(N-1)/2 connections at ~40-100 ms of CPU each to set
 *   up (Noise, identify, registry streams, peer store): 1,225 for 50 nodes,
 *   more than two cores can set up in seconds; this is ~N·DIAL_TARGET_PEERS.
 *
 * - Of two nodes that find each other, the one with the lower peer id dials
 *   at once and the other only after DIAL_YIELD_MS if no connection came:
 *   a mesh forms with one connection per pair, not two (each one a Noise
 *   handshake, an identify and registry streams).
 * - A failed dial is retried with jittered exponential backoff while
 *   discovery still reports the peer (within DIAL_FORGET_MS), and a lost
 *   connection is redialled the same way. (Dialling on libp2p's
 *   `peer:discovery` tried each peer once ever: that event fires only when
 *   the peer store first sees a peer, so under load a mesh stayed partial.)
 * - At most DIAL_MAX_PARALLEL dials run at once, so a node joining a large
 *   LAN does not start dozens of handshakes together.
 * - At most DIAL_MAX_PEERS targets are kept; past it the one discovery
 *   reported least recently (not a bootstrap peer) is dropped: a peer that
 *   floods discovery with fake peers costs bounded memory, and honest peers
 *   are re-reported by their own announcements and answers.
 */
export class PeerDialer {
  private readonly log: Logger = logger('mesh:discovery:dialer')
  private readonly targets = new Map<string, Target>()
  private readonly queue: Target[] = []
  private active = 0
  private running = false
  private readonly self: string

  /**
   * `yieldToLower`: the tie-break above. Off for a node that serves nothing
   * (a CLI client): nodes do not dial a client they never heard announce, so
   * a client with the higher peer id waited DIAL_YIELD_MS for nothing (half
   * of all cold `mesh call`s found by mDNS took 1–1.5 s more).
   */
  constructor (private readonly libp2p: Libp2p, private readonly yieldToLower = true) {
    this.self = libp2p.peerId.toString()
  }

  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    const t = this.targets.get(evt.detail.toString())
    if (t === undefined) return
    t.failures = 0
    clearTimeout(t.timer)
    t.timer = undefined
  }

  /**
   * Both ends dialled (the other's yield ran out while our handshake was
   * still under way on a busy CPU) and theirs arrived first: stop ours. A
   * second connection would cost both ends a handshake, identify and the
   * registry streams again, for nothing.
   */
  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    if (evt.detail.direction !== 'inbound') return
    const t = this.targets.get(evt.detail.remotePeer.toString())
    if (t?.dialing === true) t.abort?.abort()
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const t = this.targets.get(evt.detail.toString())
    if (t !== undefined) this.schedule(t, this.backoff(0))
    // Below the target: make up for it with peers we know but do not dial now.
    let deficit = DIAL_TARGET_PEERS - this.libp2p.getPeers().length
    for (const c of this.targets.values()) {
      if (deficit <= 0) break
      if (c === t || c.timer !== undefined || c.queued || c.dialing || this.connected(c)) continue
      this.schedule(c, this.backoff(0))
      deficit--
    }
  }

  start (): void {
    this.running = true
    this.libp2p.addEventListener('peer:connect', this.onConnect)
    this.libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    this.libp2p.addEventListener('connection:open', this.onOpen)
  }

  stop (): void {
    this.running = false
    this.libp2p.removeEventListener('peer:connect', this.onConnect)
    this.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    this.libp2p.removeEventListener('connection:open', this.onOpen)
    for (const t of this.targets.values()) clearTimeout(t.timer)
    this.targets.clear()
    this.queue.length = 0
  }

  /** Discovery reported `peer`: connect to it unless connected already. */
  discovered (peer: DiscoveredPeer): void {
    const key = peer.id.toString()
    if (!this.running || key === this.self || peer.multiaddrs.length === 0) return
    let t = this.targets.get(key)
    if (t === undefined) {
      t = this.add({ id: peer.id, addrs: peer.multiaddrs, seen: Date.now(), pinned: false, failures: 0, queued: false, dialing: false })
      // The lower peer id dials first; the other gives it time to.
      this.schedule(t, !this.yieldToLower || this.self < key ? 0 : DIAL_YIELD_MS * (1 + Math.random() / 2))
      return
    }
    t.seen = Date.now()
    t.addrs = peer.multiaddrs
    if (this.connected(t)) return
    // Found again while not connected: dial soon, but keep a failing peer's backoff.
    this.schedule(t, t.failures === 0 ? 0 : this.backoff(t.failures))
  }

  /** Discovery heard `peer` say goodbye: stop redialling it (a bootstrap peer stays). */
  gone (peer: PeerId): void {
    const t = this.targets.get(peer.toString())
    if (t !== undefined && !t.pinned) this.drop(t)
  }

  /** A bootstrap address (`.../p2p/<id>`): dial it now, and redial it whenever it is lost. */
  pin (addr: Multiaddr): boolean {
    const id = addr.getComponents().findLast(c => c.code === CODE_P2P)?.value
    if (id === undefined || !this.running) return false
    let peer: PeerId
    try { peer = peerIdFromString(id) } catch { return false }
    if (peer.toString() === this.self) return false
    const t = this.targets.get(id) ?? this.add({ id: peer, addrs: [], seen: Date.now(), pinned: true, failures: 0, queued: false, dialing: false })
    t.pinned = true
    if (!t.addrs.some(a => a.equals(addr))) t.addrs = [...t.addrs, addr]
    this.schedule(t, 0)
    return true
  }

  /** Dial these bootstrap addresses and keep them connected; one without a peer id is dialled once. */
  bootstrap (addrs: Multiaddr[]): void {
    for (const addr of addrs) {
      if (this.pin(addr)) continue
      this.libp2p.dial(addr).catch((err: any) => { this.log('bootstrap dial %a failed: %s', addr, err.message) })
    }
  }

  /** Peers the dialer tracks, for tests and `mesh peers`. */
  get size (): number { return this.targets.size }

  private add (t: Target): Target {
    if (this.targets.size >= DIAL_MAX_PEERS) {
      let oldest: Target | undefined
      for (const c of this.targets.values()) {
        if (!c.pinned && !c.dialing && (oldest === undefined || c.seen < oldest.seen)) oldest = c
      }
      if (oldest !== undefined) this.drop(oldest)
    }
    this.targets.set(t.id.toString(), t)
    return t
  }

  private drop (t: Target): void {
    clearTimeout(t.timer)
    t.timer = undefined
    this.targets.delete(t.id.toString())
  }

  private stopping (): boolean {
    return this.libp2p.status === 'stopping' || this.libp2p.status === 'stopped'
  }

  private connected (t: Target): boolean {
    return this.libp2p.getConnections(t.id).length > 0
  }

  /**
   * Whether to dial `t` now: a bootstrap peer, the ring successor, or while
   * under the target degree, counting the dials already in flight: counting
   * connections alone, a node joining 20 others dialled nearly all of them
   * while its first handshakes were still running.
   */
  private wanted (t: Target): boolean {
    return t.pinned || this.libp2p.getPeers().length + this.active < DIAL_TARGET_PEERS || this.successor() === t
  }

  /** The known peer with the next peer id up from ours (wrapping around). */
  private successor (): Target | undefined {
    let next: Target | undefined
    let lowest: Target | undefined
    for (const [key, t] of this.targets) {
      if (key > this.self && (next === undefined || key < next.id.toString())) next = t
      if (lowest === undefined || key < lowest.id.toString()) lowest = t
    }
    return next ?? lowest
  }

  private backoff (failures: number): number {
    const ceiling = Math.min(DIAL_BACKOFF_MAX_MS, DIAL_BACKOFF_BASE_MS * 2 ** failures)
    return ceiling / 2 + Math.random() * ceiling / 2
  }

  private schedule (t: Target, delay: number): void {
    if (!this.running || this.stopping() || t.timer !== undefined || t.queued || t.dialing) return
    t.timer = setTimeout(() => {
      t.timer = undefined
      if (this.targets.get(t.id.toString()) !== t || this.connected(t) || !this.wanted(t)) return
      t.queued = true
      this.queue.push(t)
      this.pump()
    }, delay)
    t.timer.unref()
  }

  private pump (): void {
    while (this.running && !this.stopping() && this.active < DIAL_MAX_PARALLEL && this.queue.length > 0) {
      const t = this.queue.shift() as Target
      t.queued = false
      if (this.targets.get(t.id.toString()) !== t || this.connected(t) || !this.wanted(t)) continue
      this.active++
      t.dialing = true
      t.abort = new AbortController()
      this.libp2p.dial(t.addrs, { signal: AbortSignal.any([t.abort.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) }).then(() => {
        t.failures = 0
      }, (err: any) => {
        if (this.connected(t)) return // aborted: the peer's own dial connected first
        t.failures++
        this.log('dial %p failed (%d): %s', t.id, t.failures, err.message)
      }).finally(() => {
        this.active--
        t.dialing = false
        t.abort = undefined
        if (this.running && this.targets.get(t.id.toString()) === t && !this.connected(t)) {
          if (!t.pinned && Date.now() - t.seen > DIAL_FORGET_MS) this.drop(t)
          else this.schedule(t, this.backoff(t.failures))
        }
        this.pump()
      })
    }
  }
}

/**
 * Wire a dialer to a libp2p node before it starts, so no peer its LAN
 * discovery service (if any) reports is missed. Returns it started; give it
 * the bootstrap addresses once the node runs; stop it before the node.
 */
export function startDialer (libp2p: Libp2p, yieldToLower = true): PeerDialer {
  const dialer = new PeerDialer(libp2p, yieldToLower)
  dialer.start()
  const discovery = (libp2p.services as Record<string, unknown>).lanDiscovery as LanDiscovery | undefined
  discovery?.on('peer', (peer) => { dialer.discovered(peer) })
  discovery?.on('gone', (peer) => { dialer.gone(peer) })
  return dialer
}
