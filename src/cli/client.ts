import type { MeshNode } from '../node/mesh-node.js'
import { pskFile } from './security-options.js'

export interface ClientOptions {
  timeout: number
  bootstrap?: string[]
  mdns: boolean
  /** Look tasks up in the mesh DHT (as a DHT client: a short-lived node answers no DHT queries). */
  dht?: boolean
  key?: string
  psk?: string
}

/**
 * The short-lived node behind `mesh call`, `mesh ls` and `mesh peers`: it
 * serves nothing, joins the mesh, does one thing and leaves. libp2p is
 * imported here, not at CLI start, so `mesh --help` stays instant.
 */
export async function withClientNode<T> (options: ClientOptions, use: (node: MeshNode) => Promise<T>): Promise<T> {
  const { createMeshNode } = await import('../node/mesh-node.js')
  const node = await createMeshNode({
    name: `mesh-cli-${process.pid}`,
    mdns: options.mdns,
    bootstrap: options.bootstrap,
    ...(options.dht === true ? { dht: 'client' as const } : {}),
    keyFile: options.key,
    psk: pskFile(options.psk)
  })
  try {
    return await use(node)
  } finally {
    await node.stop()
  }
}

/**
 * Wait until the mesh view settles: the first peer record (or the timeout),
 * then until no record has changed for `quietMs`.
 */
export async function settle (node: MeshNode, timeout: number, quietMs = 400): Promise<void> {
  await node.waitForPeers(1, timeout).catch(() => {})
  await new Promise<void>((resolve) => {
    let timer = setTimeout(done, quietMs)
    function done (): void { node.registry.off('change', onChange); resolve() }
    function onChange (): void { clearTimeout(timer); timer = setTimeout(done, quietMs) }
    node.registry.on('change', onChange)
  })
}
