import type { Libp2p } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'

const log = logger('mesh:discovery')

/**
 * libp2p v3 does not dial what mDNS (or any discovery) finds: dial each
 * discovered peer once, unless already connected. Used by createMeshNode's
 * default stack; an embedding app keeps its own policy.
 */
export function dialDiscovered (libp2p: Libp2p): void {
  libp2p.addEventListener('peer:discovery', (evt) => {
    const peer = evt.detail.id
    if (peer.equals(libp2p.peerId) || libp2p.getConnections(peer).length > 0) return
    libp2p.dial(peer).catch((err: any) => { log('dial %p failed: %s', peer, err.message) })
  })
}

/** Dial the bootstrap peers (multiaddrs with /p2p/<id>) for networks mDNS does not reach. */
export function dialBootstrap (libp2p: Libp2p, bootstrap: string[]): void {
  for (const addr of bootstrap) {
    libp2p.dial(multiaddr(addr)).catch((err: any) => { log('bootstrap dial %s failed: %s', addr, err.message) })
  }
}
