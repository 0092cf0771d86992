import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { defaultLogger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { encode } from '../../src/codec.js'
import { REGISTRY_PROTOCOL, RELAY_PULL_TIMEOUT_MS } from '../../src/constants.js'
import { createTransport } from '../../src/node/libp2p.js'
import { LanRegistry, type LanRegistryComponents } from '../../src/registry/lan.js'
import { PeerIds } from '../../src/registry/peer-ids.js'
import { signRecord, type NodeRecord } from '../../src/registry/record.js'
import type { Registry } from '../../src/registry/registry.js'
import { encodeFrame } from '../../src/rpc/framing.js'

/** The registry's components, taken from a bare libp2p node's public API: a service can be built alone. */
function componentsOf (libp2p: Libp2p, privateKey: PrivateKey): LanRegistryComponents {
  return {
    peerId: libp2p.peerId,
    privateKey,
    logger: defaultLogger(),
    events: libp2p,
    registrar: { handle: libp2p.handle.bind(libp2p), unhandle: libp2p.unhandle.bind(libp2p) } as any,
    connectionManager: {
      openStream: async (peer: any, protocol: string, options: any) => libp2p.dialProtocol(peer, protocol, options),
      getConnections: (peer?: any) => libp2p.getConnections(peer)
    } as any,
    addressManager: { getAddresses: () => libp2p.getMultiaddrs() } as any,
    peerStore: libp2p.peerStore
  }
}

async function registryNode (name: string): Promise<{ libp2p: Libp2p, registry: LanRegistry, offer: { tasks: string[] } }> {
  const privateKey = await generateKeyPair('Ed25519')
  const libp2p = await createTransport({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
  const registry = new LanRegistry(componentsOf(libp2p, privateKey), name)
  const offer = { tasks: [] as string[] }
  registry.addOffer(() => ({ tasks: offer.tasks.map(t => ({ name: t, args: '' })), load: { running: 0, queued: 0, workers: 2 } }))
  registry.addOffer(() => ({ objects: [{ name: 'greeter', metadata: ['demo'] }], load: { queued: 1 } }))
  await registry.start()
  await libp2p.start()
  return { libp2p, registry, offer }
}

/** The next change event of `registry` that `ok` accepts. */
async function change (registry: Registry, ok: (peer: string, record: NodeRecord | undefined) => boolean): Promise<[string, NodeRecord | undefined]> {
  return new Promise((resolve) => {
    const listener = (peer: string, record: NodeRecord | undefined): void => {
      if (!ok(peer, record)) return
      registry.off('change', listener)
      resolve([peer, record])
    }
    registry.on('change', listener)
  })
}

describe('LAN registry', function () {
  const nodes: Array<{ libp2p: Libp2p, registry: LanRegistry }> = []
  afterEach(async function () {
    for (const n of nodes.splice(0)) {
      await n.registry.stop()
      await n.libp2p.stop()
    }
  })

  it('exchanges signed records on connect, merging every offer part', async function () {
    const a = await registryNode('a')
    const b = await registryNode('b')
    nodes.push(a, b)
    a.offer.tasks = ['add']
    await a.registry.publishNow()
    const seen = change(b.registry, (_, r) => r !== undefined)
    await b.libp2p.dial(a.libp2p.getMultiaddrs()[0])
    const [peer, record] = await seen
    assert.equal(peer, a.libp2p.peerId.toString())
    assert.equal(record?.name, 'a')
    assert.deepEqual(record?.tasks.map(t => t.name), ['add'])
    assert.deepEqual(record?.objects, [{ name: 'greeter', metadata: ['demo'] }])
    assert.deepEqual(record?.load, { running: 0, queued: 1, workers: 2 })
    assert.deepEqual(record?.addrs, a.libp2p.getMultiaddrs().map(String))
    assert.deepEqual(b.registry.providers('add').map(r => r.peerId), [peer])
    assert.deepEqual(b.registry.providers('matmul'), [])
    assert.equal(b.registry.get(peer)?.seq, a.registry.self?.seq)
  })

  it('pushes a changed offer to connected peers, with a growing seq', async function () {
    const a = await registryNode('a')
    const b = await registryNode('b')
    nodes.push(a, b)
    const first = change(b.registry, (_, r) => r !== undefined)
    await b.libp2p.dial(a.libp2p.getMultiaddrs()[0])
    const [, before] = await first
    assert.deepEqual(before?.tasks, [])
    const updated = change(b.registry, (_, r) => r?.tasks.length === 1)
    a.offer.tasks = ['factorial']
    await a.registry.publishNow()
    const [, after] = await updated
    assert.equal(after?.tasks[0].name, 'factorial')
    assert.ok((after?.seq ?? 0) > (before?.seq ?? 0))
  })

  it('drops a peer\'s record when its connection closes', async function () {
    const a = await registryNode('a')
    const b = await registryNode('b')
    nodes.push(a, b)
    const joined = change(b.registry, (_, r) => r !== undefined)
    await b.libp2p.dial(a.libp2p.getMultiaddrs()[0])
    await joined
    const left = change(b.registry, (_, r) => r === undefined)
    await b.libp2p.hangUp(a.libp2p.peerId)
    assert.equal((await left)[0], a.libp2p.peerId.toString())
    assert.deepEqual(b.registry.peers(), [])
  })

  it('parses a known peer\'s id once, and forgets it with its record', async function () {
    const a = await registryNode('a')
    const b = await registryNode('b')
    nodes.push(a, b)
    const ids = new PeerIds(b.registry)
    const peer = a.libp2p.peerId.toString()
    // Not known yet: parsed each time, not kept.
    assert.ok(ids.of(peer).equals(a.libp2p.peerId))
    assert.notEqual(ids.of(peer), ids.of(peer))
    const joined = change(b.registry, (_, r) => r !== undefined)
    await b.libp2p.dial(a.libp2p.getMultiaddrs()[0])
    await joined
    const kept = ids.of(peer)
    assert.equal(ids.of(peer), kept)
    const left = change(b.registry, (_, r) => r === undefined)
    await b.libp2p.hangUp(a.libp2p.peerId)
    await left
    assert.notEqual(ids.of(peer), kept)
    assert.throws(() => ids.of('not-a-peer-id'))
  })

  it('relays a record two hops, each version reaching a node once however many paths lead there (announced, then pulled)', async function () {
    // A square: a–b, a–c, b–d, c–d. d hears of a's record from both b and c.
    const [a, b, c, d] = await Promise.all(['a', 'b', 'c', 'd'].map(registryNode))
    nodes.push(a, b, c, d)
    const aId = a.libp2p.peerId.toString()
    const reached = change(d.registry, (peer, r) => peer === aId && r !== undefined)
    await Promise.all([b.libp2p.dial(a.libp2p.getMultiaddrs()[0]), c.libp2p.dial(a.libp2p.getMultiaddrs()[0])])
    await Promise.all([d.libp2p.dial(b.libp2p.getMultiaddrs()[0]), d.libp2p.dial(c.libp2p.getMultiaddrs()[0])])
    await reached
    assert.equal(d.libp2p.getConnections(a.libp2p.peerId).length, 0, 'd is not connected to a')
    // Copies still in flight from the joins (b's and c's records) land before counting starts.
    await new Promise(resolve => setTimeout(resolve, 300))
    const before = { ...d.registry.traffic }
    // Five new versions of a's offer (a changed offer is relayed at once).
    for (let i = 1; i <= 5; i++) {
      const next = change(d.registry, (peer, r) => peer === aId && r?.tasks.length === i)
      a.offer.tasks = Array.from({ length: i }, (_, k) => `task${k}`)
      await a.registry.publishNow()
      await next
    }
    // Let any late copy arrive before counting.
    await new Promise(resolve => setTimeout(resolve, 300))
    const t = d.registry.traffic
    assert.equal(d.registry.get(aId)?.seq, a.registry.self?.seq)
    assert.equal(t.records - before.records, 5, 'each of the five versions of a arrived once')
    assert.equal(t.duplicates - before.duplicates, 0)
    assert.ok(t.announced - before.announced >= 5, 'announced by b and c')
  })

  it('pulls from the next announcer when a neighbour announces a record and never sends it', async function () {
    this.timeout(20_000)
    const [a, b, d] = await Promise.all(['a', 'b', 'd'].map(registryNode))
    nodes.push(a, b, d)
    const liar = await createTransport({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
    await liar.start()
    try {
      const aId = a.libp2p.peerId.toString()
      await d.libp2p.dial(b.libp2p.getMultiaddrs()[0])
      // The liar announces a's current record to d, and ignores d's `want`.
      const stream = await liar.dialProtocol(multiaddr(d.libp2p.getMultiaddrs()[0]), REGISTRY_PROTOCOL)
      const seq = a.registry.self?.seq as number
      const asked = d.registry.traffic.asked
      stream.send(encodeFrame(encode({ have: [[aId, seq], ['not-a-peer', 1], 'garbage'] })))
      while (d.registry.traffic.asked === asked) await new Promise(resolve => setTimeout(resolve, 20))
      // Now b learns a's record and announces it to d, while d still waits on the liar.
      const reached = change(d.registry, (peer, r) => peer === aId && r !== undefined)
      const t0 = Date.now()
      await b.libp2p.dial(a.libp2p.getMultiaddrs()[0])
      await reached
      const waited = Date.now() - t0
      assert.equal(d.registry.get(aId)?.seq, seq)
      assert.ok(waited < RELAY_PULL_TIMEOUT_MS + 3_000, `took ${waited} ms`)
      assert.ok(d.registry.traffic.asked >= asked + 2, 'asked the liar, then b')
      stream.abort(new Error('done'))
    } finally {
      await liar.stop()
    }
  })

  it('drops a relayed record on a lost notice only from the neighbour it came from', async function () {
    const [a, b, d] = await Promise.all(['a', 'b', 'd'].map(registryNode))
    nodes.push(a, b, d)
    const otherKey = await generateKeyPair('Ed25519')
    const other = await createTransport({ privateKey: otherKey, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
    await other.start()
    try {
      const aId = a.libp2p.peerId.toString()
      const reached = change(d.registry, (peer, r) => peer === aId && r !== undefined)
      await d.libp2p.dial(b.libp2p.getMultiaddrs()[0])
      await b.libp2p.dial(a.libp2p.getMultiaddrs()[0])
      await reached
      // Another neighbour of d says a is lost: d's copy came from b, so it stays.
      const stream = await other.dialProtocol(multiaddr(d.libp2p.getMultiaddrs()[0]), REGISTRY_PROTOCOL)
      stream.send(encodeFrame(encode({ lost: aId, seq: Number.MAX_SAFE_INTEGER })))
      // A record of its own after the notice: once d holds it, the notice was judged.
      const otherId = other.peerId.toString()
      const judged = change(d.registry, (peer, r) => peer === otherId && r !== undefined)
      stream.send(encodeFrame(encode(await signRecord({ peerId: otherId, name: 'other', seq: 1, expires: Date.now() + 60_000, addrs: [], tasks: [], objects: [], load: { running: 0, queued: 0, workers: 0 } }, otherKey))))
      await judged
      assert.ok(d.registry.get(aId) !== undefined, 'a notice from a neighbour the record did not come from is ignored')
      // b, where d's copy came from, loses a: d drops it.
      const left = change(d.registry, (peer, r) => peer === aId && r === undefined)
      await b.libp2p.hangUp(a.libp2p.peerId)
      await left
      assert.equal(d.registry.get(aId), undefined)
      stream.abort(new Error('done'))
    } finally {
      await other.stop()
    }
  })

  it('drops a relayed copy when the origin\'s own connection closes and the neighbour it came from is gone too', async function () {
    const [a, b, d] = await Promise.all(['a', 'b', 'd'].map(registryNode))
    nodes.push(b, d)
    const bId = b.libp2p.peerId.toString()
    // d hears of b through a, then connects to b itself (b's record is the same version: d's copy stays a's).
    const reached = change(d.registry, (peer, r) => peer === bId && r !== undefined)
    await d.libp2p.dial(a.libp2p.getMultiaddrs()[0])
    await a.libp2p.dial(b.libp2p.getMultiaddrs()[0])
    await reached
    await d.libp2p.dial(b.libp2p.getMultiaddrs()[0])
    await new Promise(resolve => setTimeout(resolve, 200))
    assert.equal(d.registry.get(bId)?.seq, b.registry.self?.seq)
    // a goes (as if killed), then d's connection to b closes: nothing vouches for b any more.
    await a.registry.stop()
    await a.libp2p.stop()
    await new Promise(resolve => setTimeout(resolve, 200))
    assert.ok(d.registry.get(bId) !== undefined, 'b still connected to d: its record stays')
    const left = change(d.registry, (peer, r) => peer === bId && r === undefined)
    await d.libp2p.hangUp(b.libp2p.peerId)
    await left
    assert.equal(d.registry.get(bId), undefined)
  })
})
