import type { MeshService } from '../node/mesh-service.js'
import { MeshView, type JobHistory } from './view.js'

/** What a view needs of a node: a MeshNode, or the mesh service of an app's own libp2p node. */
export type WatchedNode = Pick<MeshService, 'peerId' | 'activity' | 'records' | 'registry' | 'protocolCall'>

/** A live view of the whole mesh from `node` (started; stop() it when done). */
export function watchMesh (node: WatchedNode, history?: JobHistory): MeshView {
  const view = new MeshView({
    peerId: node.peerId,
    activity: node.activity,
    self: () => node.records().find(r => r.peerId === node.peerId) ?? node.registry.self,
    peers: () => node.registry.peers(),
    onRegistryChange: (listener) => {
      node.registry.on('change', listener)
      return () => { node.registry.off('change', listener) }
    },
    stream: (peer, route, onProgress) => node.protocolCall(peer, route, [], { onProgress })
  }, history)
  view.start()
  return view
}
