import '../polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2pOptions as Libp2pInit } from 'libp2p'
import { DIAL_TIMEOUT_MS } from '../constants.js'
import { lanDiscovery } from '../discovery/mdns.js'
import { joinChunks } from './coalesce.js'
import { fastNoiseCrypto } from './noise-crypto.js'
import type { MeshComponents, MeshService } from './mesh-service.js'

export interface TransportOptions {
  privateKey: PrivateKey
  listen: string[]
  /** Find peers by mDNS (default); off, peers are reached through `bootstrap` only. */
  mdns: boolean
  /** A pre-shared key (pnet format): only peers with the same key can connect. */
  psk?: Uint8Array
  /** mDNS service name; a private mesh uses one derived from its key. */
  mdnsServiceTag?: string
  /** libp2p's metrics implementation (src/metrics/libp2p.ts), when the node has metrics. */
  metrics?: Libp2pInit['metrics']
  /** Run mesh's private Kademlia DHT: 'server' answers queries and holds provider records, 'client' only asks. Default: none. */
  dht?: 'server' | 'client'
}

/** The default node createMeshNode builds: its `mesh` service is the mesh. */
export type MeshLibp2p = Libp2p<{ mesh: MeshService }>

/**
 * The libp2p node under createMeshNode: TCP, Noise encryption, Yamux
 * multiplexing, mDNS discovery, identify and ping, plus the `mesh` service
 * (a factory from meshService()) when given; without it, a bare node of the
 * same stack. Created unstarted, so the mesh protocols are registered before
 * any peer can connect.
 */
export async function createTransport (options: TransportOptions, mesh: (components: MeshComponents) => MeshService): Promise<MeshLibp2p>
export async function createTransport (options: TransportOptions): Promise<Libp2p>
export async function createTransport (options: TransportOptions, mesh?: (components: MeshComponents) => MeshService): Promise<Libp2p> {
  return createLibp2p({
    start: false,
    privateKey: options.privateKey,
    metrics: options.metrics,
    addresses: { listen: options.listen },
    transports: [tcp()],
    connectionEncrypters: [joinChunks(noise({ crypto: fastNoiseCrypto() }))],
    streamMuxers: [yamux()],
    // pnet is imported only with a key: it instantiates WebAssembly (xsalsa20)
    // at import, memory every node without --psk held for nothing (issue 15).
    ...(options.psk !== undefined ? { connectionProtector: (await import('@libp2p/pnet')).preSharedKey({ psk: options.psk }) } : {}),
    // libp2p's monitor pings every connection every 10 s on a new stream and
    // aborts it when a ping is slow: with 50 peers that was most of an idle
    // node's CPU, and on a loaded machine it cut healthy connections. A dead
    // peer's connection closes by itself; a hung one lapses its RPC lease.
    connectionMonitor: { enabled: false },
    connectionManager: {
      // libp2p's 10 s for a dial and for an inbound upgrade: a node starting
      // among dozens on two busy cores took longer for a Noise handshake, and
      // the aborted attempt was only retried (and aborted) again.
      dialTimeout: DIAL_TIMEOUT_MS,
      inboundUpgradeTimeout: DIAL_TIMEOUT_MS,
      // And for each address: libp2p 3.3 gives one address only 6 s, so a
      // handshake slowed by a busy CPU was aborted (EncryptionFailedError:
      // aborted due to timeout) and started again from nothing, costing the
      // CPU twice. On loopback, the scale tests' client waited 20-40 s so.
      addressDialTimeout: DIAL_TIMEOUT_MS,
      // Every node on one machine dials from 127.0.0.1: libp2p's per-IP
      // inbound rate limit would refuse a few nodes starting together.
      allow: ['/ip4/127.0.0.0/ipcidr/8', '/ip6/::1/ipcidr/128']
    },
    services: {
      identify: identify(),
      ping: ping(),
      // mDNS with announcements and unicast answers (src/discovery/mdns.ts); src/discovery/dialer.ts acts on what it finds.
      ...(options.mdns ? { lanDiscovery: lanDiscovery({ serviceTag: options.mdnsServiceTag }) } : {}),
      // Loaded only by nodes that run it: most never do.
      ...(options.dht !== undefined ? { dht: (await import('./dht.js')).meshDht(options.dht) } : {}),
      ...(mesh !== undefined ? { mesh } : {})
    }
  })
}
