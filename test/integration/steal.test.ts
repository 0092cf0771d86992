import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { peerIdFromString } from '@libp2p/peer-id'
import { createMeshNode, MeshError, type MeshNode, type Matrix } from '../../src/index.js'
import type { JobProgress } from '../../src/stealing/index.js'
import { factorial as factorialKernel } from '../../src/tasks/kernels/factorial.js'
import { naiveFactorial, until } from '../helpers.js'
import { assertClose, naiveMatmul, randomMatrixOf } from '../unit/split.test.js'

/** Small jobs cut into many chunks, so a few-second test exercises the whole mechanism. */
const STEAL = { chunks: 16, threshold: 1, splitAlone: true }

async function mesh (count: number, options: Array<{ throttle?: number }> = []): Promise<MeshNode[]> {
  const first = await createMeshNode({ name: 'n0', serve: 'factorial,matmul', mdns: false, workers: 1, steal: { ...STEAL, ...options[0] } })
  const nodes = [first]
  for (let i = 1; i < count; i++) {
    nodes.push(await createMeshNode({ name: `n${i}`, serve: 'factorial,matmul', mdns: false, workers: 1, bootstrap: nodes.map(n => n.addresses[0]), steal: { ...STEAL, ...options[i] } }))
  }
  // Every node knows every other's record: thieves find their victims there.
  await Promise.all(nodes.map(n => n.waitForPeers(count - 1, 10_000)))
  return nodes
}

for (const count of [1, 2, 3]) {
  describe(`split jobs on ${count} node${count === 1 ? '' : 's'} give the oracle's result`, function () {
    let nodes: MeshNode[]
    before(async function () { nodes = await mesh(count) })
    after(async function () { await Promise.all(nodes.map(n => n.stop())) })

    it('factorial exactly (naive loop and prime-swing kernel as oracles)', async function () {
      let last: JobProgress | undefined
      const small = await nodes[0].callWith<bigint>('factorial', [20000], { onProgress: (p) => { last = p as JobProgress } })
      assert.equal(small, naiveFactorial(20000))
      // 16 range chunks and the 15 multiplications of their tree, each run as a chunk.
      assert.ok(last !== undefined && last.final === true && last.done === last.total && last.total === 16 + 15)
      assert.equal(await nodes[0].call('factorial', 120000), factorialKernel(120000))
    })

    if (count > 1) {
      it('factorial big enough to cut its top multiplication into three Karatsuba products, exactly', async function () {
        let last: JobProgress | undefined
        // 500000! has ~8.9 M bits: its last combination is past FACTORIAL_KARATSUBA_BITS.
        const big = await nodes[0].callWith<bigint>('factorial', [500000], { onProgress: (p) => { last = p as JobProgress } })
        assert.equal(big, factorialKernel(500000))
        // 16 chunks, 15 combinations, and 3 more chunks for each one cut in three.
        assert.ok(last !== undefined && last.final === true && last.done === last.total && last.total > 31 && (last.total - 31) % 3 === 0, JSON.stringify(last))
      })
    }

    it('matmul of given matrices within 1e-9, and the random form by shape', async function () {
      const a = randomMatrixOf(96, 64)
      const b = randomMatrixOf(64, 80)
      const c = await nodes[0].call<Matrix>('matmul', a, b)
      assert.equal(c.rows, 96)
      assert.equal(c.cols, 80)
      assertClose(c.data, naiveMatmul(a, b))
      const r = await nodes[0].call<Matrix>('matmul', 64, 32)
      assert.equal(r.data.length, 64 * 64)
    })
  })
}

describe('work stealing between real nodes', function () {
  let nodes: MeshNode[]
  // The owner (n0) runs at a tenth of full speed, so idle peers surely find chunks left to steal.
  before(async function () { nodes = await mesh(3, [{ throttle: 0.1 }]) })
  after(async function () { await Promise.all(nodes.map(n => n.stop())) })

  it('spreads a job: stats show chunks computed on more than one peer and steals', async function () {
    let last: JobProgress | undefined
    const result = await nodes[0].callWith<bigint>('factorial', [60000], { onProgress: (p) => { last = p as JobProgress } })
    assert.equal(result, factorialKernel(60000))
    assert.ok(last?.final)
    const working = last.peers.filter(p => p.chunks > 0)
    assert.ok(working.length >= 2, `chunks ran on ${working.length} peer(s): ${JSON.stringify(last.peers)}`)
    assert.ok(last.peers.some(p => p.steals > 0 && p.peer !== nodes[0].peerId))
    assert.equal(last.peers.reduce((n, p) => n + p.chunks, 0), last.total)
    // The product tree's multiplications ran as chunks too, and not only on the (slow) owner.
    assert.ok(last.peers.some(p => p.peer !== nodes[0].peerId && (p.combined ?? 0) > 0), `no thief combined: ${JSON.stringify(last.peers)}`)
    assert.equal(last.peers.reduce((n, p) => n + (p.combined ?? 0), 0), 16 - 1)
    // The owner advertised its stealable chunks and stops advertising once the job is over.
    await until('the owner record to show no stealable chunks', () => nodes[1].registry.get(nodes[0].peerId)?.load.stealable === undefined)
  })

  it('a thief pulls the shared B once and big row blocks of A as it needs them; the product is right', async function () {
    const a = randomMatrixOf(512, 1600) // 32 rows × 1600 doubles = 400 KB a chunk: pulled, not inlined
    const b = randomMatrixOf(1600, 64)
    let last: JobProgress | undefined
    const c = await nodes[0].callWith<Matrix>('matmul', [a, b], { onProgress: (p) => { last = p as JobProgress } })
    assertClose(c.data, naiveMatmul(a, b))
    assert.ok(last?.peers.some(p => p.peer !== nodes[0].peerId && p.chunks > 0), JSON.stringify(last?.peers))
  })

  it('a caller elsewhere gets progress events and the result', async function () {
    const caller = await createMeshNode({ name: 'caller', mdns: false, bootstrap: [nodes[0].addresses[0]] })
    try {
      await caller.waitForPeers(1, 10_000)
      const events: JobProgress[] = []
      const a = randomMatrixOf(64, 48)
      const b = randomMatrixOf(48, 40)
      const c = await caller.callWith<Matrix>('matmul', [a, b], { onProgress: (p) => { events.push(p as JobProgress) } })
      assertClose(c.data, naiveMatmul(a, b))
      assert.ok(events.length >= 2)
      assert.equal(events[events.length - 1].done, 16)
      assert.ok(events.every((e, i) => i === 0 || e.done >= events[i - 1].done))
    } finally {
      await caller.stop()
    }
  })

  it('cancelling a job stops its chunks on every peer', async function () {
    const controller = new AbortController()
    let stolen = false
    const job = nodes[0].callWith('factorial', [200000], {
      signal: controller.signal,
      onProgress: (p) => {
        if (!stolen && (p as JobProgress).final !== true && (p as JobProgress).peers.some(s => s.steals > 0)) { stolen = true; controller.abort() }
      }
    })
    await assert.rejects(job, (err: any) => err instanceof MeshError && err.code === 'CANCELLED')
    assert.ok(stolen, 'the job was cancelled after a steal')
    await until('every node to drop the job', () => nodes.every(n => n.steal!.activity.owned === 0 && n.steal!.activity.borrowed === 0))
    // The mesh still works afterwards.
    assert.equal(await nodes[0].call('factorial', 30000), factorialKernel(30000))
  })

  it('refuses work pushed by a peer it did not ask, and chunks to a peer not serving the task', async function () {
    const rpc = (nodes[1] as any).rpc
    const push = rpc.call(peerIdFromString(nodes[2].peerId), '@mesh/work', [{ job: 'x', work: 1, task: 'factorial', hasShared: false, chunks: [[0, { lo: 1, hi: 1e12 }]] }])
    await assert.rejects(push, (err: any) => err instanceof MeshError && err.code === 'FORBIDDEN')
    const caller = await createMeshNode({ name: 'not-a-server', mdns: false, bootstrap: [nodes[0].addresses[0]] })
    try {
      await caller.waitForPeers(1, 10_000)
      const job = nodes[0].callWith('factorial', [100000])
      const reply = await (caller as any).rpc.call(peerIdFromString(nodes[0].peerId), '@mesh/steal', [{ tasks: ['factorial'], have: [], slots: 1 }])
      assert.deepEqual(reply, { granted: 0 })
      await job
    } finally {
      await caller.stop()
    }
  })

  it('a job over its timeout fails with TIMEOUT and stops everywhere', async function () {
    const job = nodes[0].callWith('factorial', [400000], { timeout: 300 })
    await assert.rejects(job, (err: any) => err instanceof MeshError && err.code === 'TIMEOUT')
    await until('every node to drop the job', () => nodes.every(n => n.steal!.activity.owned === 0 && n.steal!.activity.borrowed === 0))
  })
})

describe('a user task module that is splittable (examples/splittable-tasks.js)', function () {
  const example = fileURLToPath(new URL('../../../examples/splittable-tasks.js', import.meta.url))
  let nodes: MeshNode[]
  before(async function () {
    const first = await createMeshNode({ name: 'u0', serve: example, mdns: false, workers: 1, steal: { ...STEAL, throttle: 0.2 } })
    const second = await createMeshNode({ name: 'u1', serve: example, mdns: false, workers: 1, bootstrap: first.addresses, steal: STEAL })
    nodes = [first, second]
    await Promise.all(nodes.map(n => n.waitForPeers(1, 10_000)))
  })
  after(async function () { await Promise.all(nodes.map(n => n.stop())) })

  it('splits, steals and merges a user task: primes below 2,000,000 is 148,933', async function () {
    let last: JobProgress | undefined
    const count = await nodes[0].callWith('primesBelow', [2_000_000], { onProgress: (p) => { last = p as JobProgress } })
    assert.equal(count, 148933)
    assert.equal(last?.total, 16)
    assert.equal(await nodes[0].call('primesBelow', 100), 25)
  })
})
