import type { Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { startDialer, type PeerDialer } from '../discovery/dialer.js'

/**
 * libp2p v3 does not dial what discovery finds. createMeshNode's default
 * stack keeps a partial mesh with src/discovery/dialer.ts (retries, tie-break,
 * bounded dials, ring successor); an embedding app keeps its own policy.
 * Call before the node starts, so no discovered peer is missed. A node that
 * serves nothing passes `yieldToLower: false`: it dials what it finds at once.
 */
export function dialDiscovered (libp2p: Libp2p, yieldToLower = true): PeerDialer {
  const dialer = startDialer(libp2p, yieldToLower)
  libp2p.addEventListener('stop', () => { dialer.stop() }, { once: true })
  return dialer
}

/** Dial the bootstrap peers (multiaddrs with /p2p/<id>) for networks mDNS does not reach, and redial them when lost. */
export function dialBootstrap (dialer: PeerDialer, bootstrap: string[]): void {
  dialer.bootstrap(bootstrap.map(a => multiaddr(a)))
}
