import { EventEmitter } from 'node:events'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, PeerStore, PrivateKey, Stream, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { peerIdFromString } from '@libp2p/peer-id'
import { CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { decode, encode } from '../codec.js'
import {
  LOAD_PUBLISH_DEBOUNCE_MS, MAX_RECORD_BYTES, RECORD_REFRESH_MAX_MS, RECORD_REFRESH_MS, RECORD_REFRESH_PER_PEER_MS, RECORD_TTL_MS, REGISTRY_EXPIRE_CHECK_MS, REGISTRY_MAX_INBOUND_STREAMS, REGISTRY_MAX_LISTENERS,
  ADDRS_RELEARN_MS, REGISTRY_MAX_OUTBOUND_STREAMS, REGISTRY_PROTOCOL, RELAY_ANNOUNCE_MS, RELAY_PULL_TIMEOUT_MS, RELAY_REFRESH_ANNOUNCE_MS
} from '../constants.js'
import { FrameDecoder, encodeFrame } from '../rpc/framing.js'
import { PullTable, haveFrames, readHave, readWant, type Announced } from './pull.js'
import { openRecord, signRecord, type NodeRecord } from './record.js'
import { RelayTable, peek, type Held } from './relay.js'
import type { OfferPart, Registry, RegistryEvents } from './registry.js'

/** The libp2p components the LAN registry uses. */
export interface LanRegistryComponents {
  peerId: PeerId
  privateKey: PrivateKey
  logger: ComponentLogger
  events: TypedEventTarget<Libp2pEvents>
  registrar: Registrar
  connectionManager: ConnectionManager
  addressManager: AddressManager
  /** Relayed records' addresses go here, so a call to a peer not connected can dial it. */
  peerStore: PeerStore
}

/**
 * The registry that replaces a name server. Every node signs a record of what
 * it serves and pushes it to each peer it connects to, on a long-lived stream;
 * it pushes again when the offer changes. Records are only accepted signed
 * by the key of the peer they describe, and with a growing seq. Each node
 * relays the records it accepts, unchanged, to its other neighbours, and
 * offers a new neighbour every record it holds (./relay.ts): the mesh need
 * not be fully connected, and one connection shows a client all of it.
 * Relayed records are announced (`have`: origin and seq, batched) and sent
 * only to a neighbour that asks (`want`, on the same stream), so each
 * record crosses to each node about once (./pull.ts). A
 * record goes away when its peer's connection closes (and the neighbour that
 * saw it close tells the others: a `lost` notice), or when it is not
 * refreshed in time.
 */
export class LanRegistry extends EventEmitter<RegistryEvents> implements Registry {
  private readonly relay = new RelayTable()
  private readonly pulls = new PullTable()
  /** Origins waiting for the next batch of announcements, by neighbour. */
  private readonly announcing = new Map<string, Set<string>>()
  /** Each neighbour's stream to us: where `want`s for what it announced go. */
  private readonly inbound = new Map<string, Stream>()
  private announceTimer?: NodeJS.Timeout
  /** When the pending batch of announcements goes out (performance.now() ms). */
  private announceDue = 0
  /**
   * What came in over the registry streams: signed records (and of them,
   * duplicates dropped before verifying), records announced by neighbours
   * and asked for. How much the relay costs, for tests and tuning.
   */
  readonly traffic = { records: 0, duplicates: 0, announced: 0, asked: 0 }
  private pullTimer?: NodeJS.Timeout
  private readonly parts: Array<() => OfferPart> = []
  private readonly log: Logger
  private readonly pushStreams = new Map<string, Stream>()
  private readonly opening = new Set<string>()
  private seq = Date.now()
  private current?: { record: NodeRecord, frame: Uint8Array }
  private publishTimer?: NodeJS.Timeout
  private nextExpiry = 0
  private refreshTimer?: NodeJS.Timeout
  private running = false

  /** `name` is the human name the record carries (`mesh ls`). */
  constructor (private readonly components: LanRegistryComponents, private readonly name: string) {
    super()
    // Every service of the node follows the registry (caller, results, stealing, objects, workflows, dashboard…):
    // more than EventEmitter's default of 10 listeners is the design, not a leak.
    this.setMaxListeners(REGISTRY_MAX_LISTENERS)
    this.log = components.logger.forComponent('mesh:registry')
  }

  addOffer (part: () => OfferPart): void {
    this.parts.push(part)
  }

  private readonly onConnect = (evt: CustomEvent<PeerId>): void => { void this.openPushStream(evt.detail) }
  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => { this.forget(evt.detail.toString()) }

  async start (): Promise<void> {
    this.running = true
    await this.components.registrar.handle(REGISTRY_PROTOCOL, (stream, connection) => { this.receive(stream, connection) }, {
      maxInboundStreams: REGISTRY_MAX_INBOUND_STREAMS,
      maxOutboundStreams: REGISTRY_MAX_OUTBOUND_STREAMS
    })
    this.components.events.addEventListener('peer:connect', this.onConnect)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.components.events.addEventListener('self:peer:update', this.onSelfUpdate)
    this.components.events.addEventListener('transport:listening', this.onSelfUpdate)
    await this.sign()
    this.scheduleRefresh()
    this.pullTimer = setInterval(() => { this.retryPulls() }, RELAY_PULL_TIMEOUT_MS / 4)
    this.pullTimer.unref()
  }

  async stop (): Promise<void> {
    this.running = false
    clearTimeout(this.refreshTimer)
    clearInterval(this.pullTimer)
    clearTimeout(this.publishTimer)
    clearTimeout(this.announceTimer)
    this.components.events.removeEventListener('peer:connect', this.onConnect)
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    this.components.events.removeEventListener('self:peer:update', this.onSelfUpdate)
    this.components.events.removeEventListener('transport:listening', this.onSelfUpdate)
    await this.components.registrar.unhandle(REGISTRY_PROTOCOL).catch(() => {})
    for (const stream of this.pushStreams.values()) stream.abort(new Error('node stopping'))
    this.pushStreams.clear()
    this.inbound.clear()
    this.announcing.clear()
    this.pulls.clear()
    this.relay.clear()
  }

  /** How often this node re-signs its record now: grows with the records it holds (RECORD_REFRESH_PER_PEER_MS). */
  get refreshInterval (): number {
    return Math.min(RECORD_REFRESH_MAX_MS, Math.max(RECORD_REFRESH_MS, this.relay.held.size * RECORD_REFRESH_PER_PEER_MS))
  }

  /** The next refresh, at the interval the record just signed promised its holders. */
  private scheduleRefresh (): void {
    if (!this.running) return
    this.refreshTimer = setTimeout(() => {
      this.expire()
      void this.publishNow().finally(() => { this.scheduleRefresh() })
    }, this.current?.record.refresh ?? RECORD_REFRESH_MS)
    this.refreshTimer.unref()
  }

  /** This node's own current record. */
  get self (): NodeRecord | undefined { return this.current?.record }

  /** Every peer's record (not this node's own). */
  peers (): NodeRecord[] {
    this.expireSoon()
    const out: NodeRecord[] = []
    for (const h of this.relay.held.values()) out.push(h.record)
    return out
  }

  get (peerId: string): NodeRecord | undefined {
    return this.relay.held.get(peerId)?.record
  }

  providers (task: string): NodeRecord[] {
    this.expireSoon()
    const out: NodeRecord[] = []
    for (const h of this.relay.held.values()) {
      for (const t of h.record.tasks) if (t.name === task) { out.push(h.record); break }
    }
    return out
  }

  /** The offer changed (a task, an object, the load): push it soon. Coalesces bursts. */
  publish (): void {
    if (!this.running || this.publishTimer !== undefined) return
    this.publishTimer = setTimeout(() => {
      this.publishTimer = undefined
      void this.publishNow()
    }, LOAD_PUBLISH_DEBOUNCE_MS)
  }

  /** Re-sign and push to every peer now (used when tasks or objects change). */
  async publishNow (): Promise<void> {
    if (!this.running) return
    await this.sign()
    for (const [peer, stream] of this.pushStreams) this.sendCurrent(peer, stream)
  }

  private async sign (): Promise<void> {
    const record: NodeRecord = {
      peerId: this.components.peerId.toString(),
      name: this.name,
      seq: ++this.seq,
      expires: Date.now() + RECORD_TTL_MS,
      refresh: this.refreshInterval,
      addrs: this.components.addressManager.getAddresses().map(String),
      tasks: [],
      objects: [],
      load: { running: 0, queued: 0, workers: 0 }
    }
    for (const part of this.parts) {
      const offer = part()
      if (offer.tasks !== undefined) record.tasks.push(...offer.tasks)
      if (offer.objects !== undefined) record.objects.push(...offer.objects)
      if (offer.load !== undefined) Object.assign(record.load, offer.load)
    }
    const signed = await signRecord(record, this.components.privateKey)
    // Only the newest signature wins if signs overlap.
    if (this.current === undefined || this.current.record.seq < record.seq) {
      this.current = { record, frame: encodeFrame(encode(signed)) }
    }
  }

  private sendCurrent (peer: string, stream: Stream): void {
    if (this.current !== undefined) this.sendFrame(peer, stream, this.current.frame)
  }

  /** Several frames in one write (one Yamux frame, one Noise box). */
  private sendFrames (peer: string, stream: Stream, frames: Uint8Array[]): void {
    if (frames.length === 0) return
    this.sendFrame(peer, stream, frames.length === 1 ? frames[0] : Buffer.concat(frames))
  }

  private sendFrame (peer: string, stream: Stream, frame: Uint8Array): void {
    try {
      stream.send(frame)
    } catch (err: any) {
      this.log('push to %s failed: %s', peer, err.message)
      stream.abort(err)
    }
  }

  private async openPushStream (peer: PeerId): Promise<void> {
    const key = peer.toString()
    if (!this.running || this.pushStreams.has(key) || this.opening.has(key)) return
    this.opening.add(key)
    try {
      const stream = await this.components.connectionManager.openStream(peer, REGISTRY_PROTOCOL)
      if (!this.running) { stream.abort(new Error('node stopping')); return }
      this.pushStreams.set(key, stream)
      this.answerWants(key, stream)
      stream.addEventListener('close', () => {
        if (this.pushStreams.get(key) !== stream) return
        this.pushStreams.delete(key)
        // The connection it rode on closed but another may remain: reopen.
        if (this.running && this.components.connectionManager.getConnections(peer).length > 0) void this.openPushStream(peer)
      })
      this.sendCurrent(key, stream)
      // Everything this node knows, so a new neighbour (a client) sees the whole mesh at once: it asks for what it lacks.
      const held: Announced[] = []
      for (const h of this.relay.held.values()) if (h.record.peerId !== key && h.via !== key) held.push([h.record.peerId, h.record.seq])
      this.sendFrames(key, stream, haveFrames(held))
    } catch (err: any) {
      this.log('cannot open registry stream to %p: %s', peer, err.message)
    } finally {
      this.opening.delete(key)
    }
  }

  /** `want` frames a neighbour writes back on our push stream: answer each with the records it names. */
  private answerWants (peer: string, stream: Stream): void {
    const decoder = new FrameDecoder(MAX_RECORD_BYTES)
    stream.addEventListener('message', (evt) => {
      try {
        for (const frame of decoder.push(evt.data)) {
          const want = readWant(decode(frame))
          if (want === undefined) throw new Error('not a want frame')
          const frames: Uint8Array[] = []
          for (const origin of want) {
            const h = this.relay.held.get(origin)
            if (h !== undefined) frames.push(h.frame)
          }
          this.sendFrames(peer, stream, frames)
        }
      } catch (err: any) {
        this.log('bad want from %s: %s', peer, err.message)
        stream.abort(err)
      }
    })
  }

  private receive (stream: Stream, connection: Connection): void {
    const from = connection.remotePeer.toString()
    const decoder = new FrameDecoder(MAX_RECORD_BYTES)
    stream.maxReadBufferLength = MAX_RECORD_BYTES * 2
    this.inbound.set(from, stream)
    stream.addEventListener('close', () => { if (this.inbound.get(from) === stream) this.inbound.delete(from) })
    // Records are verified one at a time, in order, so a slow verify cannot
    // let an older record overtake a newer one.
    let chain = Promise.resolve()
    // A peer that stops writing will push nothing more: free the stream slot.
    stream.addEventListener('remoteCloseWrite', () => { void chain.then(async () => { await stream.close() }).catch(() => {}) })
    stream.addEventListener('message', (evt) => {
      let frames: Uint8Array[]
      try {
        frames = decoder.push(evt.data)
      } catch (err: any) {
        this.log('bad registry stream from %s: %s', from, err.message)
        stream.abort(err)
        return
      }
      for (const frame of frames) {
        chain = chain.then(async () => { await this.accept(from, frame) }).catch((err: any) => {
          this.log('rejected record from %s: %s', from, err.message)
        })
      }
    })
  }

  private async accept (from: string, frame: Uint8Array): Promise<void> {
    const envelope = decode(frame)
    const lost = envelope as { lost?: unknown, seq?: unknown } | null
    if (typeof lost?.lost === 'string' && typeof lost.seq === 'number') { this.onLost(from, lost.lost, lost.seq); return }
    const have = readHave(envelope)
    if (have !== undefined) { this.onHave(from, have); return }
    const head = peek(envelope)
    if (head === undefined) throw new Error('not a signed record')
    if (head.peerId === this.components.peerId.toString()) return
    // Whatever becomes of it, it is no longer awaited.
    this.pulls.settled(head.peerId, head.seq)
    this.traffic.records++
    const why = this.relay.refuse(from, head.peerId, head.seq, frame.byteLength)
    if (why === 'duplicate') this.traffic.duplicates++
    if (why === 'duplicate' || why === 'dropped') return
    if (why !== undefined) throw new Error(why)
    const record = await openRecord(envelope)
    if (record.peerId !== head.peerId || record.seq !== head.seq) throw new Error('record changed while verified')
    if (record.expires <= Date.now()) throw new Error('record already expired')
    // Verifying took a while: a newer copy (from another neighbour) may have won.
    if (this.relay.refuse(from, record.peerId, record.seq, frame.byteLength) !== undefined) return
    // The neighbour may have disconnected while the record was being verified.
    if (!this.connected(from)) return
    // Held and forwarded as it arrived: the origin's bytes and signature, length-prefixed again.
    const framed = encodeFrame(frame)
    const before = this.relay.held.get(record.peerId)?.record.addrs
    const forward = this.relay.hold(from, record, framed)
    // The addresses are in the peer store before anyone hears of the record: a caller that picks this
    // peer at once must be able to dial it (emitted first, a CLI call raced the merge: "no valid addresses").
    // Only when they changed, or now and then (ADDRS_RELEARN_MS): a merge costs the peer store a lock, a
    // protobuf round trip and a write, and merging every refresh of every peer was ~12 % of a 50-node
    // mesh's CPU at rest.
    const held = this.relay.held.get(record.peerId) as Held
    const changed = before === undefined || before.length !== record.addrs.length || before.some((a, i) => a !== record.addrs[i])
    if (record.peerId !== from && (changed || Date.now() - held.addrsLearnedAt > ADDRS_RELEARN_MS) && !this.connected(record.peerId)) {
      held.addrsLearnedAt = Date.now()
      await this.learnAddrs(record)
    }
    this.emit('change', record.peerId, record)
    if (forward !== undefined) this.announce(record, from, forward === 'now' ? RELAY_ANNOUNCE_MS : RELAY_REFRESH_ANNOUNCE_MS)
  }

  /**
   * A neighbour announced records: ask it for those this node lacks and
   * would take, but not for a record whose origin pushes to us itself.
   */
  private onHave (from: string, have: Announced[]): void {
    const self = this.components.peerId.toString()
    const worth = (peer: string, seq: number): boolean => peer !== self && !this.inbound.has(peer) && this.relay.refuse(from, peer, seq, 0) === undefined
    const want = this.pulls.wanted(from, have, worth)
    this.traffic.announced += have.length
    this.ask(from, want)
  }

  private ask (neighbour: string, origins: string[]): void {
    const stream = this.inbound.get(neighbour)
    if (stream === undefined || origins.length === 0) return
    this.traffic.asked += origins.length
    this.sendFrame(neighbour, stream, encodeFrame(encode({ want: origins })))
  }

  /** Pulls whose neighbour went or stayed silent: ask the next neighbour that announced them. */
  private retryPulls (): void {
    if (this.pulls.size === 0) return
    for (const [neighbour, origins] of this.pulls.retry(n => !this.inbound.has(n))) this.ask(neighbour, origins)
  }

  /**
   * This node's addresses changed (libp2p fills them in as its listeners
   * come up, after the first record was signed: 'transport:listening'; and
   * later, 'self:peer:update'): re-sign at once, or peers
   * that learn of this node through a relay hold a record with no address
   * to dial until the next refresh.
   */
  private readonly onSelfUpdate = (): void => {
    if (!this.running) return
    const addrs = this.components.addressManager.getAddresses().map(String)
    const signed = this.current?.record.addrs ?? []
    if (addrs.length !== signed.length || addrs.some((a, i) => a !== signed[i])) void this.publishNow().catch(() => {})
  }

  private connected (peer: string): boolean {
    return this.components.connectionManager.getConnections().some(c => c.remotePeer.toString() === peer)
  }

  /** A relayed record's addresses go to the peer store, so a call to that peer can dial it. */
  private async learnAddrs (record: NodeRecord): Promise<void> {
    try {
      const multiaddrs = record.addrs.map(a => multiaddr(a).decapsulateCode(CODE_P2P))
      await this.components.peerStore.merge(peerIdFromString(record.peerId), { multiaddrs })
    } catch (err: any) {
      this.log('bad addresses in the record of %s: %s', record.peerId, err.message)
    }
  }

  /** Announce `record` to every neighbour but `from` and its origin, in a batch sent within `within` ms. */
  private announce (record: NodeRecord, from: string, within: number): void {
    for (const peer of this.pushStreams.keys()) {
      if (peer === from || peer === record.peerId) continue
      let batch = this.announcing.get(peer)
      if (batch === undefined) this.announcing.set(peer, batch = new Set())
      batch.add(record.peerId)
    }
    const due = performance.now() + within
    if (this.announcing.size > 0 && (this.announceTimer === undefined || due < this.announceDue)) {
      clearTimeout(this.announceTimer)
      this.announceDue = due
      this.announceTimer = setTimeout(() => { this.flushAnnouncements() }, within)
    }
  }

  private flushAnnouncements (): void {
    this.announceTimer = undefined
    for (const [peer, batch] of this.announcing) {
      const stream = this.pushStreams.get(peer)
      if (stream === undefined) continue
      // The newest seq held now; a record dropped meanwhile is not announced.
      const have: Announced[] = []
      for (const origin of batch) {
        const h = this.relay.held.get(origin)
        if (h !== undefined) have.push([origin, h.record.seq])
      }
      this.sendFrames(peer, stream, haveFrames(have))
    }
    this.announcing.clear()
  }

  /**
   * A neighbour lost its connection to `peer` (or its own source of `peer`'s
   * record did): drop our copy if it came from that neighbour, unless ours is
   * newer or we are connected to `peer` (./relay.ts).
   */
  private onLost (from: string, peer: string, seq: number): void {
    const h = this.relay.held.get(peer)
    if (h === undefined || h.via !== from || h.record.seq > seq || this.connected(peer)) return
    this.drop(peer, from)
  }

  /** Drop `peer`'s record and tell the neighbours (but `from`) it is lost. */
  private drop (peer: string, from?: string): void {
    const h = this.relay.drop(peer)
    if (h === undefined) return
    this.emit('change', peer, undefined)
    const notice = encodeFrame(encode({ lost: peer, seq: h.record.seq }))
    for (const [p, stream] of this.pushStreams) if (p !== from && p !== peer) this.sendFrame(p, stream, notice)
  }

  /**
   * The last connection to `peer` closed: its record goes if it came from
   * `peer` itself, or from a neighbour no longer connected either. A copy
   * relayed by a neighbour still connected stays: that neighbour may still
   * reach `peer` (a call's connection closing says nothing of its health),
   * and if not, its `lost` notice follows.
   */
  private forget (peer: string): void {
    const via = this.relay.held.get(peer)?.via
    if (via !== undefined && (via === peer || !this.connected(via))) this.drop(peer)
    this.relay.orphan(peer)
  }

  /**
   * Expire at most every REGISTRY_EXPIRE_CHECK_MS: peers() and providers() run
   * on every call, and records live for tens of seconds.
   */
  private expireSoon (): void {
    const now = performance.now()
    if (now < this.nextExpiry) return
    this.nextExpiry = now + REGISTRY_EXPIRE_CHECK_MS
    this.expire()
  }

  private expire (): void {
    for (const peer of this.relay.stale()) {
      if (this.relay.drop(peer) !== undefined) this.emit('change', peer, undefined)
    }
  }
}
