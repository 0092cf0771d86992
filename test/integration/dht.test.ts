import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { createMeshNode, type MeshNode } from '../../src/index.js'
import { meshDht } from '../../src/node/dht.js'
import { taskKey } from '../../src/registry/dht.js'
import { runCli, startCliNode, until } from '../helpers.js'

/**
 * The DHT path of issue 15 (item 4): providers found without being
 * connected. The only peer the provider and the caller share is a plain
 * libp2p node running mesh's DHT and nothing of mesh (no registry, so no
 * record relaying): the one way the caller can learn of the provider is a
 * DHT lookup of the task's key. Real nodes, real TCP; mDNS off.
 */
async function dhtOnlyNode (): Promise<Libp2p> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping(), dht: meshDht() }
  })
  return node
}


describe('DHT: providers found beyond the peers a node is connected to', function () {
  this.timeout(60_000)
  let hub: Libp2p
  let provider: MeshNode
  const nodes: MeshNode[] = []

  before(async function () {
    hub = await dhtOnlyNode()
    const via = hub.getMultiaddrs().map(String)
    provider = await createMeshNode({ name: 'provider', serve: { triple: (x: number) => 3 * x }, mdns: false, dht: true, bootstrap: via })
    nodes.push(provider)
    await until('the provider record in the DHT', () => provider.libp2p.services.mesh.dht?.providing.includes('triple') === true)
  })

  after(async function () {
    await Promise.all(nodes.map(async n => await n.stop()))
    await hub.stop()
  })

  it('a caller that knows only the DHT node finds the provider, dials it and calls it', async function () {
    const caller = await createMeshNode({ name: 'caller', mdns: false, dht: 'client', bootstrap: hub.getMultiaddrs().map(String) })
    nodes.push(caller)
    await until('the caller connected to the DHT node', () => caller.libp2p.getConnections(hub.peerId).length > 0)
    // Nothing but the DHT links them: no record of the provider and no connection to it yet.
    assert.equal(caller.registry.providers('triple').length, 0)
    assert.equal(caller.libp2p.getConnections(provider.libp2p.peerId).length, 0)
    assert.equal(await caller.call('triple', 14), 42)
    // The provider's own signed record came over the new connection, as from any neighbour.
    assert.deepEqual(caller.registry.providers('triple').map(r => r.peerId), [provider.peerId])
  })

  it('the DHT lists the provider under the task\'s key, and nothing under an unknown task', async function () {
    const asker = await createMeshNode({ name: 'asker', mdns: false, dht: 'client', bootstrap: hub.getMultiaddrs().map(String) })
    nodes.push(asker)
    await until('the asker connected to the DHT node', () => asker.libp2p.getConnections(hub.peerId).length > 0)
    const dht = asker.libp2p.services.mesh.dht
    assert.ok(dht !== undefined)
    const found = await dht.findProviders('triple', AbortSignal.timeout(10_000))
    assert.deepEqual(found.map(p => p.id.toString()), [provider.peerId])
    assert.ok(found[0].multiaddrs.length > 0, 'the provider record carries addresses to dial')
    assert.deepEqual(await dht.findProviders('no-such-task', AbortSignal.timeout(10_000)), [])
    // Keys are per task name, and stable (other implementations can compute them).
    assert.equal((await taskKey('triple')).toString(), (await taskKey('triple')).toString())
    assert.notEqual((await taskKey('triple')).toString(), (await taskKey('add')).toString())
  })

  it('without the DHT the same caller cannot find the provider (the DHT is what found it above)', async function () {
    const blind = await createMeshNode({ name: 'blind', mdns: false, bootstrap: hub.getMultiaddrs().map(String) })
    nodes.push(blind)
    await until('the blind caller connected to the DHT node', () => blind.libp2p.getConnections(hub.peerId).length > 0)
    await assert.rejects(blind.callWith('triple', [1], { timeout: 1500 }), (err: Error & { code?: string }) => err.code === 'NO_PROVIDER')
  })

  it('a provider that stops serving is looked up, fails to dial, and the caller gets a clear NO_PROVIDER', async function () {
    const gone = await createMeshNode({ name: 'gone', serve: { quadruple: (x: number) => 4 * x }, mdns: false, dht: true, bootstrap: hub.getMultiaddrs().map(String) })
    await until('the second provider record in the DHT', () => gone.libp2p.services.mesh.dht?.providing.includes('quadruple') === true)
    await gone.stop()
    const caller = await createMeshNode({ name: 'late', mdns: false, dht: 'client', bootstrap: hub.getMultiaddrs().map(String) })
    nodes.push(caller)
    await until('the late caller connected to the DHT node', () => caller.libp2p.getConnections(hub.peerId).length > 0)
    await assert.rejects(caller.callWith('quadruple', [1], { timeout: 3000 }), (err: Error & { code?: string }) => err.code === 'NO_PROVIDER')
  })

  it('from the CLI: mesh node --dht provides, mesh call --dht finds it through the DHT node alone', async function () {
    const hubAddr = hub.getMultiaddrs()[0].toString()
    const served = await startCliNode(['--serve', 'add', '--no-mdns', '--dht', '--bootstrap', hubAddr])
    try {
      // The CLI node provides once it has started: wait until the DHT node holds its provider record.
      const key = await taskKey('add')
      const held = async (): Promise<boolean> => {
        for await (const p of hub.contentRouting.findProviders(key, { signal: AbortSignal.timeout(5000) })) if (p.id.toString() === served.peerId) return true
        return false
      }
      await until('the CLI node\'s provider record at the DHT node', held)
      const out = await runCli(['call', 'add', '2', '3', '--no-mdns', '--dht', '--bootstrap', hubAddr, '--timeout', '10000'])
      assert.equal(out.code, 0, out.stderr)
      assert.equal(out.stdout.trim(), '5')
    } finally {
      await served.stop()
    }
  })
})
