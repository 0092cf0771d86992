import { EventEmitter } from 'node:events'
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import type { ComponentLogger, Logger, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { isPrivate } from '@libp2p/utils'
import { CODE_P2P, multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import dnsPacket, { type Answer, type Packet } from 'dns-packet'
import multicastDNS from 'multicast-dns'
import {
  MDNS_ANNOUNCE_REPEAT_MS, MDNS_MAX_ADDRS_PER_PEER, MDNS_MAX_ANSWERS, MDNS_QUERY_INTERVAL_MS,
  MDNS_QUERY_SCHEDULE_MS, MDNS_RECORD_TTL_S, MDNS_RESPONSE_DELAY_MS
} from '../constants.js'

/**
 * LAN discovery by multicast DNS, on the wire format of libp2p's mDNS
 * (`@libp2p/mdns`, go-libp2p: a PTR record for the service name and TXT
 * records `dnsaddr=<multiaddr>/p2p/<id>`), so it finds and is found by them.
 *
 * What it does differently, and why (issue 15: @libp2p/mdns stopped a mesh
 * forming beyond ~10 nodes on one machine):
 *
 * - @libp2p/mdns queries every interval and every node multicasts its answer
 *   to every query, so each answer is parsed (and merged into the peer
 *   store) by every node: N³ packet handlings per interval, 125,000 a second
 *   for 50 nodes at a 1 s interval, which saturated two cores by ~25 nodes.
 *   Here a node *announces* itself when it starts (an unsolicited response,
 *   sent twice, RFC 6762 §8.3: N handlings per join) and queries from a
 *   one-shot socket on an ephemeral port; responders answer such a query by
 *   unicast to the querier alone (RFC 6762 §6.7, "legacy unicast"), so a
 *   query costs N handlings, not N². Queries back off (MDNS_QUERY_SCHEDULE_MS)
 *   to one a minute: they are the backstop for lost announcements only.
 * - Queries from port 5353 (other implementations) are still answered by
 *   multicast, after the random 20–120 ms delay RFC 6762 §6 asks of shared
 *   records, so their bursts spread out.
 * - Found peers go to an event, not into libp2p's peer store: the peer store
 *   emits `peer:discovery` only the first time it sees a peer, so a first
 *   dial that failed was never retried. The dialer (./dialer.ts) decides.
 *
 * Bounded input: a packet's answers beyond MDNS_MAX_ANSWERS and a peer's
 * addresses beyond MDNS_MAX_ADDRS_PER_PEER are ignored; malformed packets
 * are dropped. Nothing here keeps per-peer state.
 */
export interface LanDiscoveryInit {
  /** The DNS-SD service name, e.g. `_p2p._udp.local` (a private mesh derives its own). */
  serviceTag?: string
  /** Multicast group and port: the mDNS defaults. */
  ip?: string
  port?: number
}

export interface LanDiscoveryComponents {
  peerId: PeerId
  logger: ComponentLogger
  addressManager: { getAddresses: () => Multiaddr[] }
}

export interface DiscoveredPeer { id: PeerId, multiaddrs: Multiaddr[] }

export interface LanDiscoveryEvents {
  peer: [peer: DiscoveredPeer]
  /** The peer said goodbye (a record with TTL 0): it stopped. */
  gone: [peer: PeerId]
}

const DEFAULT_SERVICE_TAG = '_p2p._udp.local'

export class LanDiscovery extends EventEmitter<LanDiscoveryEvents> {
  private readonly log: Logger
  private readonly serviceTag: string
  private readonly ip: string
  private readonly port: number
  /** A random instance name, as @libp2p/mdns uses: `<name>.<serviceTag>`. */
  private readonly instance: string
  private mdns?: multicastDNS.MulticastDNS
  private querySocket?: Socket
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor (private readonly components: LanDiscoveryComponents, init: LanDiscoveryInit = {}) {
    super()
    this.log = components.logger.forComponent('mesh:discovery:mdns')
    this.serviceTag = init.serviceTag ?? DEFAULT_SERVICE_TAG
    this.ip = init.ip ?? '224.0.0.251'
    this.port = init.port ?? 5353
    this.instance = components.peerId.toString().slice(-48).toLowerCase()
  }

  readonly [Symbol.toStringTag] = 'mesh:lan-discovery'

  isStarted (): boolean { return this.mdns !== undefined }

  async start (): Promise<void> {
    if (this.mdns !== undefined) return
    this.mdns = multicastDNS({ port: this.port, ip: this.ip })
    this.mdns.on('query', (query, rinfo) => { this.onQuery(query, rinfo) })
    this.mdns.on('response', (response) => { this.onResponse(response) })
    this.mdns.on('warning', (err) => { this.log('mdns warning: %s', err.message) })
    this.mdns.on('error', (err) => { this.log.error('mdns error: %s', err.message) })
    const socket = createSocket({ type: 'udp4' })
    socket.on('message', (buf) => {
      try {
        const packet = dnsPacket.decode(buf)
        if (packet.type === 'response') this.onResponse(packet)
      } catch { /* not DNS: ignore */ }
    })
    socket.on('error', (err) => { this.log('query socket: %s', err.message) })
    await new Promise<void>((resolve) => { socket.bind(0, resolve) })
    socket.setMulticastTTL(255)
    socket.setMulticastLoopback(true)
    this.querySocket = socket
  }

  /**
   * Begin finding and being found; call once the node listens (libp2p's
   * `afterStart`), so what it announces can be dialled.
   */
  afterStart (): void {
    this.announce()
    this.later(MDNS_ANNOUNCE_REPEAT_MS, () => { this.announce() })
    for (const at of MDNS_QUERY_SCHEDULE_MS) this.later(at, () => { this.query() })
    const every = setInterval(() => { this.query() }, MDNS_QUERY_INTERVAL_MS)
    every.unref()
    this.timers.add(every)
  }

  async stop (): Promise<void> {
    for (const t of this.timers) { clearTimeout(t); clearInterval(t) }
    this.timers.clear()
    // A goodbye (TTL 0) lets peers that track records drop this one at once.
    if (this.mdns !== undefined) this.send(this.answers(0))
    const mdns = this.mdns
    this.mdns = undefined
    await new Promise<void>((resolve) => { if (mdns === undefined) resolve(); else mdns.destroy(() => { resolve() }) })
    this.querySocket?.close()
    this.querySocket = undefined
  }

  private later (ms: number, fn: () => void): void {
    const t = setTimeout(() => { this.timers.delete(t); fn() }, ms)
    t.unref()
    this.timers.add(t)
  }

  /** Ask who serves the tag, from the ephemeral-port socket: responders answer it by unicast. */
  private query (): void {
    if (this.querySocket === undefined) return
    const buf = dnsPacket.encode({ type: 'query', id: 0, questions: [{ name: this.serviceTag, type: 'PTR', class: 'IN' }] })
    this.querySocket.send(buf, this.port, this.ip, (err) => { if (err != null) this.log('query failed: %s', err.message) })
  }

  private announce (): void {
    this.send(this.answers(MDNS_RECORD_TTL_S))
  }

  private send (answers: Answer[], to?: RemoteInfo): void {
    if (answers.length === 0) return
    if (to === undefined) {
      this.mdns?.respond({ answers }, () => {})
      return
    }
    try {
      const buf = dnsPacket.encode({ type: 'response', id: 0, flags: dnsPacket.AUTHORITATIVE_ANSWER, answers })
      this.querySocket?.send(buf, to.port, to.address)
    } catch (err: any) {
      this.log('unicast answer failed: %s', err.message)
    }
  }

  /** PTR to this instance, and one TXT `dnsaddr=` per private address, as @libp2p/mdns answers. */
  private answers (ttl: number): Answer[] {
    const addrs = this.components.addressManager.getAddresses().filter(a => isPrivate(a))
    if (addrs.length === 0) return []
    const name = `${this.instance}.${this.serviceTag}`
    const answers: Answer[] = [{ name: this.serviceTag, type: 'PTR', class: 'IN', ttl, data: name }]
    for (const addr of addrs) {
      const data = `dnsaddr=${addr.toString()}`
      // A TXT string holds at most 255 bytes (RFC 6763 §6.1).
      if (data.length > 255 || addr.getComponents().findLast(c => c.code === CODE_P2P) === undefined) continue
      answers.push({ name, type: 'TXT', class: 'IN', ttl, data })
    }
    return answers
  }

  private onQuery (query: Packet, rinfo: RemoteInfo): void {
    if (!(query.questions ?? []).some(q => q.name === this.serviceTag)) return
    const answers = this.answers(MDNS_RECORD_TTL_S)
    // A one-shot querier (source port not 5353) gets its answer alone, at once.
    if (rinfo.port !== this.port) { this.send(answers, rinfo); return }
    const [lo, hi] = MDNS_RESPONSE_DELAY_MS
    this.later(lo + Math.random() * (hi - lo), () => { this.send(answers) })
  }

  private onResponse (response: Packet): void {
    const records = [...(response.answers ?? []), ...(response.additionals ?? [])].slice(0, MDNS_MAX_ANSWERS) as Array<{ type: string, name: string, ttl?: number, data?: unknown }>
    // Several instances may answer in one packet: group TXT records by instance name.
    const instances = new Set(records.filter(a => a.type === 'PTR' && a.name === this.serviceTag).map(a => String(a.data)))
    for (const name of instances) {
      if (name.startsWith(`${this.instance}.`)) continue
      const addrs: Multiaddr[] = []
      for (const a of records) {
        if (a.type !== 'TXT' || a.name !== name) continue
        for (const chunk of ([] as unknown[]).concat(a.data)) {
          const text = String(chunk)
          if (!text.startsWith('dnsaddr=') || addrs.length >= MDNS_MAX_ADDRS_PER_PEER) continue
          try { addrs.push(multiaddr(text.slice('dnsaddr='.length))) } catch { /* a bad address: skip it */ }
        }
      }
      this.found(addrs, records.some(a => a.name === name && a.ttl === 0))
    }
  }

  private found (addrs: Multiaddr[], goodbye: boolean): void {
    const id = addrs[0]?.getComponents().findLast(c => c.code === CODE_P2P)?.value
    if (id === undefined) return
    let peer: PeerId
    try { peer = peerIdFromString(id) } catch { return }
    if (peer.equals(this.components.peerId)) return
    if (goodbye) { this.emit('gone', peer); return }
    const multiaddrs = addrs.filter(a => a.getComponents().findLast(c => c.code === CODE_P2P)?.value === id)
    this.emit('peer', { id: peer, multiaddrs })
  }
}

/** The libp2p service factory: `services: { lanDiscovery: lanDiscovery({ serviceTag }) }`. */
export function lanDiscovery (init: LanDiscoveryInit = {}): (components: LanDiscoveryComponents) => LanDiscovery {
  return (components) => new LanDiscovery(components, init)
}
