import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { createMeshNode, meshService, type MeshNode, type MeshService, type NodeRecord } from '../../src/index.js'

class Counter {
  private n = 0
  inc (by = 1): number { this.n += by; return this.n }
}

/** An app's own libp2p node: its own transports, no mDNS, and the mesh as one of its services. */
async function appNode (): Promise<Libp2p<{ identify: unknown, mesh: MeshService }>> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      mesh: meshService({ name: 'embedded', serve: { triple: (x: number) => 3 * x } })
    }
  })
}

describe('embedding: meshService in an app\'s own libp2p node', function () {
  let app: Libp2p<{ identify: unknown, mesh: MeshService }>
  let node: MeshNode

  before(async function () {
    node = await createMeshNode({ name: 'default-stack', serve: 'add,factorial', mdns: false })
    node.expose('counter', new Counter())
    app = await appNode()
    app.services.mesh.expose('appCounter', new Counter())
    const joined = new Promise<NodeRecord>((resolve) => { app.services.mesh.once('peer:join', resolve) })
    // No discovery at all: the app dials the mesh node directly.
    await app.dial(multiaddr(node.addresses[0]))
    assert.equal((await joined).peerId, node.peerId)
    await node.waitForPeers(1, 10_000)
  })

  after(async function () {
    await app?.stop()
    await node?.stop()
  })

  it('starts with libp2p: the service serves its tasks and knows its peer id', function () {
    assert.equal(app.services.mesh.peerId, app.peerId.toString())
    assert.deepEqual(app.services.mesh.served, ['triple'])
    assert.ok(app.services.mesh.addresses.every(a => a.endsWith(`/p2p/${app.peerId.toString()}`)))
  })

  it('the embedded node calls a task and an object method on a createMeshNode node', async function () {
    const mesh = app.services.mesh
    assert.equal(await mesh.call('add', 2, 3), 5)
    assert.equal(await mesh.call('factorial', 20n), 2432902008176640000n)
    assert.deepEqual(mesh.providers('add'), [node.peerId])
    const counter = await mesh.lookup<Counter>('counter')
    assert.equal(await counter.inc(2), 2)
    assert.equal(await mesh.call('counter.inc', 3), 5)
    assert.ok(mesh.records().some(r => r.peerId === node.peerId && r.objects.some(o => o.name === 'counter')))
  })

  it('the createMeshNode node calls a task and an object method on the embedded node', async function () {
    assert.equal(await node.call('triple', 14), 42)
    const counter = await node.lookup<Counter>('appCounter')
    assert.equal(await counter.inc(), 1)
    assert.equal(await node.call('appCounter.inc', 4), 5)
    assert.deepEqual(node.peers().map(p => [p.peerId, p.tasks]), [[app.peerId.toString(), ['triple']]])
  })

  it('emits task events on the service like MeshNode does', async function () {
    const started = new Promise<[string, string]>((resolve) => { app.services.mesh.once('task:start', (task, from) => { resolve([task, from]) }) })
    assert.equal(await node.call('triple', 1), 3)
    assert.deepEqual(await started, ['triple', node.peerId])
  })

  it('declares that it needs identify: a node without it is refused at creation', async function () {
    await assert.rejects(createLibp2p({
      start: false,
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { mesh: meshService() }
    }), /identify/)
  })

  it('refuses bad options with BAD_CONFIG before libp2p is built', function () {
    assert.throws(() => meshService({ workers: 0 }), (err: any) => err.code === 'BAD_CONFIG' && /workers/.test(err.message))
    assert.throws(() => meshService({ limits: { maxFrameBytes: -1 } }), (err: any) => err.code === 'BAD_CONFIG' && /maxFrameBytes/.test(err.message))
  })

  it('stops with libp2p: its protocols are gone and calls are refused', async function () {
    const other = await appNode()
    await other.stop()
    assert.ok(!other.getProtocols().some(p => p.startsWith('/mesh/')))
    assert.throws(() => other.services.mesh.submit('add', [1, 2]), (err: any) => err.code === 'NOT_RUNNING')
  })
})
