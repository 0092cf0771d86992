import assert from 'node:assert/strict'
import { createMeshNode, type MeshNode } from '../../src/index.js'

/**
 * A client that knows one node learns the others from its relayed records,
 * and calls them directly: the records must carry addresses to dial. The
 * first record is signed as the node starts, before libp2p has filled in its
 * listen addresses; it must be re-signed when they appear, or a client that
 * arrives before the next refresh holds a provider it cannot dial
 * ("no valid addresses"). Real nodes over TCP, mDNS off.
 */
describe('relayed records carry the addresses to dial', function () {
  this.timeout(30_000)
  const nodes: MeshNode[] = []
  after(async function () { await Promise.all(nodes.map(async n => await n.stop())) })

  it('a client bootstrapped to a hub calls a provider it only heard of through the hub, at once', async function () {
    const hub = await createMeshNode({ name: 'hub', mdns: false })
    nodes.push(hub)
    const provider = await createMeshNode({ name: 'provider', mdns: false, serve: 'add', bootstrap: hub.addresses })
    nodes.push(provider)
    const client = await createMeshNode({ name: 'client', mdns: false, bootstrap: hub.addresses })
    nodes.push(client)
    const found = await client.waitForProvider('add', { timeout: 10_000 })
    assert.equal(found, provider.peerId)
    assert.ok((client.registry.get(found)?.addrs.length ?? 0) > 0, 'the relayed record has addresses')
    assert.equal(client.libp2p.getConnections(provider.libp2p.peerId).length, 0, 'not connected before the call')
    assert.equal(await client.call('add', 2, 3), 5)
  })
})
