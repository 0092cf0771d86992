import assert from 'node:assert/strict'
import { createMeshNode, MeshError, type MeshNode, type Matrix } from '../../src/index.js'
import type { JobProgress } from '../../src/stealing/index.js'
import { factorial as factorialKernel } from '../../src/tasks/kernels/factorial.js'
import { naiveFactorial, until } from '../helpers.js'
import { assertClose, naiveMatmul, randomMatrixOf } from '../unit/split.test.js'

/**
 * The split paths of issue 9, through a separate caller (which receives
 * results as streamed parts): decimal conversion in digit blocks, matmul
 * parts assembled by the caller, factorial — on 1, 2 and 3 real nodes.
 */
async function mesh (count: number, steal: Record<string, unknown>): Promise<{ nodes: MeshNode[], caller: MeshNode }> {
  const nodes: MeshNode[] = []
  for (let i = 0; i < count; i++) {
    nodes.push(await createMeshNode({ name: `d${i}`, serve: 'factorial,matmul', mdns: false, workers: 1, bootstrap: nodes.map(n => n.addresses[0]), steal }))
  }
  await Promise.all(nodes.map(n => n.waitForPeers(count - 1, 10_000)))
  const caller = await createMeshNode({ name: 'caller', mdns: false, bootstrap: nodes.map(n => n.addresses[0]) })
  await caller.waitForPeers(count, 10_000)
  return { nodes, caller }
}

for (const count of [1, 2, 3]) {
  describe(`issue 9 split paths on ${count} node${count === 1 ? '' : 's'}, called from elsewhere`, function () {
    let nodes: MeshNode[]
    let caller: MeshNode
    before(async function () { ({ nodes, caller } = await mesh(count, { threshold: 1, splitAlone: true })) })
    after(async function () { await Promise.all([caller, ...nodes].map(n => n.stop())) })

    it('decimal digits exactly as V8\'s toString (factorials, powers of ten and their neighbours, negatives)', async function () {
      for (const x of [factorialKernel(20000), 10n ** 6000n, 10n ** 6000n - 1n, 10n ** 6000n + 1n, -factorialKernel(9000), 12345n, 0n]) {
        assert.equal(await caller.call<string>('decimal', x), x.toString())
      }
    })

    it('matmul assembled from streamed parts within 1e-9, and the random form by shape', async function () {
      const a = randomMatrixOf(96, 64)
      const b = randomMatrixOf(64, 80)
      let last: JobProgress | undefined
      const c = await caller.callWith<Matrix>('matmul', [a, b], { onProgress: (p) => { last = p as JobProgress } })
      assert.equal(c.rows, 96)
      assert.equal(c.cols, 80)
      assertClose(c.data, naiveMatmul(a, b))
      assert.ok(last?.final === true && last.done === last.total && last.total > 1)
      const r = await caller.call<Matrix>('matmul', 64, 32)
      assert.equal(r.data.length, 64 * 64)
    })

    it('factorial exactly for n around the split edges', async function () {
      for (const n of [0, 1, 2, 3, 15, 16, 17, 1000, 20000]) {
        assert.equal(await caller.call<bigint>('factorial', n), n <= 1000 ? naiveFactorial(n) : factorialKernel(n), `n = ${n}`)
      }
    })
  })
}

describe('decimal conversion spread over 3 nodes', function () {
  let nodes: MeshNode[]
  let caller: MeshNode
  // Slow nodes: every block takes long enough that the offers reach the idle peers first.
  before(async function () { ({ nodes, caller } = await mesh(3, { threshold: 1, throttle: 0.2 })) })
  after(async function () { await Promise.all([caller, ...nodes].map(n => n.stop())) })
  const x = factorialKernel(60000)

  it('stats show the digit blocks converted on more than one peer', async function () {
    let last: JobProgress | undefined
    const digits = await caller.callWith<string>('decimal', [x], { onProgress: (p) => { last = p as JobProgress } })
    assert.equal(digits, x.toString())
    assert.equal(last?.total, 3)
    const working = last.peers.filter(p => p.chunks > 0)
    assert.ok(working.length >= 2, `blocks ran on ${working.length} peer(s): ${JSON.stringify(last.peers)}`)
  })

  it('thieves send their digit blocks straight to the caller, not through the owner', async function () {
    let last: JobProgress | undefined
    assert.equal(await caller.callWith<string>('decimal', [x], { onProgress: (p) => { last = p as JobProgress } }), x.toString())
    const thieves = last!.peers.filter(p => p.name !== 'self' && p.chunks > 0)
    assert.ok(thieves.length >= 1, JSON.stringify(last!.peers))
    for (const t of thieves) assert.equal(t.direct, t.chunks, `${t.name} sent ${t.direct} of its ${t.chunks} blocks to the caller itself`)
    assert.equal(last!.peers.find(p => p.name === 'self')?.direct ?? 0, 0, 'the owner\'s own blocks go on its answer stream')
  })

  it('cancel during the conversion stops it on every peer', async function () {
    const controller = new AbortController()
    let stolen = false
    const job = caller.callWith('decimal', [x], {
      signal: controller.signal,
      onProgress: (p) => {
        if (!stolen && (p as JobProgress).peers?.some(s => s.steals > 0)) { stolen = true; controller.abort() }
      }
    })
    await assert.rejects(job, (err: any) => err instanceof MeshError && err.code === 'CANCELLED')
    assert.ok(stolen, 'cancelled after a steal')
    await until('every node to drop the job', () => nodes.every(n => n.steal!.activity.owned === 0 && n.steal!.activity.borrowed === 0))
    assert.equal(await caller.call<string>('decimal', 987654321987654321n), '987654321987654321')
  })
})
