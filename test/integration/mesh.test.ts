import assert from 'node:assert/strict'
import { RPC_PROTOCOL } from '../../src/constants.js'
import { createMeshNode, type MeshNode, matrixToRows } from '../../src/index.js'
import { encodeFrame } from '../../src/rpc/framing.js'
import { inPrivateNetwork, naiveFactorial, rejectsWithCode } from '../helpers.js'

describe('a mesh of real nodes over TCP + Noise + Yamux (direct dials, runs anywhere)', function () {
  let provider: MeshNode
  let caller: MeshNode
  const nodes: MeshNode[] = []

  before(async function () {
    provider = await createMeshNode({ name: 'provider', serve: 'add,factorial,matmul', mdns: false, workers: 1, limits: { maxFactorialN: 50_000 } })
    caller = await createMeshNode({ name: 'caller', mdns: false, bootstrap: provider.addresses })
    nodes.push(provider, caller)
    await caller.waitForPeers(1, 10_000)
  })

  after(async function () {
    await Promise.all(nodes.map(n => n.stop()))
  })

  it('calls add with numbers and with bigints', async function () {
    assert.equal(await caller.call('add', 4, 6), 10)
    assert.equal(await caller.call('add', 2n ** 80n, 1), 2n ** 80n + 1n)
    assert.equal(await caller.call('add', 0.5, 0.25), 0.75)
  })

  it('computes factorial(20000) exactly: 77,338 digits, equal to the naive loop', async function () {
    const result = await caller.call<bigint>('factorial', 20000n)
    assert.equal(typeof result, 'bigint')
    assert.equal(result.toString().length, 77338)
    assert.equal(result, naiveFactorial(20000))
    assert.equal(await caller.call('factorial', 0), 1n)
  })

  it('multiplies given matrices (library form) and random ones (seed form)', async function () {
    const product = await caller.call<any>('matmul', [[1, 2], [3, 4]], [[5, 6], [7, 8]])
    assert.deepEqual(matrixToRows(product), [[19, 22], [43, 50]])
    const random = await caller.call<any>('matmul', 20, 30)
    assert.equal(random.rows, 20)
    assert.equal(random.cols, 20)
    assert.equal(random.data.length, 400)
  })

  it('lists the provider in the registry with its tasks and load', function () {
    const record = caller.records().find(r => r.peerId === provider.peerId)
    assert.ok(record)
    assert.equal(record.name, 'provider')
    assert.deepEqual(record.tasks.map(t => t.name).sort(), ['add', 'decimal', 'factorial', 'matmul'])
    assert.equal(record.load.workers, 1)
    assert.deepEqual(caller.providers('add'), [provider.peerId])
  })

  it('refuses bad input with a coded error, and keeps serving', async function () {
    await rejectsWithCode(caller.callWith('nope', [], { timeout: 5000, unknownAfter: 200 }), 'UNKNOWN_TASK')
    await rejectsWithCode(caller.call('add', 1), 'BAD_ARGUMENT')
    await rejectsWithCode(caller.call('add', 1, 2, 3), 'BAD_ARGUMENT')
    await rejectsWithCode(caller.call('add', 'a', 2), 'BAD_ARGUMENT')
    await rejectsWithCode(caller.call('factorial', -5), 'BAD_ARGUMENT')
    await rejectsWithCode(caller.call('factorial', 'abc'), 'BAD_ARGUMENT')
    await rejectsWithCode(caller.call('factorial', 1.5), 'BAD_ARGUMENT')
    await rejectsWithCode(caller.call('factorial', 50_001), 'LIMIT_EXCEEDED')
    await rejectsWithCode(caller.call('matmul', [[1, 2]], [[1, 2]]), 'BAD_ARGUMENT')
    await rejectsWithCode(caller.call('matmul', 100_000, 100_000), 'LIMIT_EXCEEDED')
    assert.equal(await caller.call('add', 1, 2), 3)
  })

  it('fails with NO_PROVIDER when nobody serves the task within the timeout', async function () {
    await rejectsWithCode(caller.callWith('nope', [], { timeout: 300 }), 'NO_PROVIDER')
  })

  it('times out a call with TIMEOUT', async function () {
    await rejectsWithCode(caller.callWith('factorial', [50_000], { timeout: 1 }), 'TIMEOUT')
    assert.equal(await caller.call('add', 2, 2), 4)
  })

  it('runs many concurrent calls over one stream', async function () {
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => caller.call('add', i, i)))
    assert.deepEqual(results, Array.from({ length: 500 }, (_, i) => 2 * i))
  })

  it('resets only the offending stream on a malformed or oversized frame', async function () {
    for (const bytes of [
      encodeFrame(new Uint8Array([0xc1, 0xc1, 0xc1])), // not MessagePack
      encodeFrame(new Uint8Array([0x93, 0x09, 0x01, 0x02])), // MessagePack, not an RPC message
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2, 3]) // a 4 GiB length prefix
    ]) {
      const stream = await caller.libp2p.dialProtocol(provider.libp2p.peerId, RPC_PROTOCOL)
      const closed = new Promise<void>((resolve) => { stream.addEventListener('close', () => { resolve() }) })
      stream.send(bytes)
      await closed
      assert.equal(await caller.call('add', 20, 22), 42)
    }
  })

  it('makes a node that starts serving callable without configuration, and forgets it when it stops', async function () {
    const late = await createMeshNode({ name: 'late', serve: { shout: (s: string) => s.toUpperCase() }, mdns: false, bootstrap: provider.addresses })
    nodes.push(late)
    const lateCaller = await createMeshNode({ name: 'late-caller', mdns: false, bootstrap: late.addresses })
    nodes.push(lateCaller)
    assert.equal(await lateCaller.call('shout', 'hi'), 'HI')
    await new Promise<void>((resolve) => {
      lateCaller.once('peer:leave', (id) => { assert.equal(id, late.peerId); resolve() })
      void late.stop()
    })
    assert.deepEqual(lateCaller.providers('shout'), [])
  })
})

describe('mDNS discovery (needs the private network namespace: ../shared/netns-run)', function () {
  const nodes: MeshNode[] = []

  before(function () {
    if (!inPrivateNetwork()) this.skip()
  })

  after(async function () {
    await Promise.all(nodes.map(n => n.stop()))
  })

  it('three nodes find each other with no configuration and call across the mesh', async function () {
    const a = await createMeshNode({ name: 'a', serve: 'add' })
    const b = await createMeshNode({ name: 'b', serve: 'factorial', workers: 1 })
    const c = await createMeshNode({ name: 'c' })
    nodes.push(a, b, c)
    await c.waitForPeers(2, 15_000)
    await a.waitForPeers(2, 15_000)
    assert.equal(await c.call('add', 1, 2), 3)
    assert.equal(await a.call('factorial', 25), naiveFactorial(25))
    assert.deepEqual(c.peers().map(p => p.name).sort(), ['a', 'b'])
  })
})
