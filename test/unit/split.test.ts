import assert from 'node:assert/strict'
import { DEFAULT_LIMITS } from '../../src/node/mesh-node.js'
import { isNodeRecord } from '../../src/registry/record.js'
import { byteSize, shareMemory } from '../../src/stealing/index.js'
import { factorialSplit, karatsubaJoin, matmulSplit, productTree, seededOperands, type RangeChunk } from '../../src/tasks/split-builtins.js'
import { matmul } from '../../src/tasks/builtins.js'
import { MATMUL_MIN_CHUNK_ROWS } from '../../src/constants.js'
import { matmul as matmulKernel } from '../../src/tasks/kernels/matmul.js'
import type { ChunkSpec, Matrix, SplitSpec } from '../../src/tasks/types.js'
import { naiveFactorial } from '../helpers.js'

/** Split, run every chunk, merge: what a job does, without the network. */
function runSplit<R> (spec: SplitSpec, args: unknown[], chunks: number): { result: R, count: number } {
  const { shared, chunks: parts } = spec.split(args, DEFAULT_LIMITS, { chunks })
  const partials = parts.map(c => spec.runChunk(c.data, shared))
  return { result: spec.merge(partials, shared, args) as R, count: parts.length }
}

export function naiveMatmul (a: Matrix, b: Matrix): Float64Array {
  const c = new Float64Array(a.rows * b.cols)
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.cols; j++) {
      let s = 0
      for (let k = 0; k < a.cols; k++) s += a.data[i * a.cols + k] * b.data[k * b.cols + j]
      c[i * b.cols + j] = s
    }
  }
  return c
}

export function randomMatrixOf (rows: number, cols: number): Matrix {
  const data = new Float64Array(rows * cols)
  for (let i = 0; i < data.length; i++) data[i] = Math.random() * 2 - 1
  return { rows, cols, data }
}

export function assertClose (actual: Float64Array, expected: Float64Array, tolerance = 1e-9): void {
  assert.equal(actual.length, expected.length)
  for (let i = 0; i < actual.length; i++) {
    if (Math.abs(actual[i] - expected[i]) > tolerance * Math.max(1, Math.abs(expected[i]))) {
      assert.fail(`element ${i}: ${actual[i]} vs ${expected[i]}`)
    }
  }
}

describe('splittable built-ins', function () {
  it('factorial: ranges of equal bits cover 1..n exactly; merged, equal to the naive loop', function () {
    for (const [n, chunks] of [[2, 4], [10, 3], [1000, 7], [5000, 64], [12000, 16]]) {
      const { result, count } = runSplit<bigint>(factorialSplit, [n], chunks)
      assert.ok(count >= 1 && count <= chunks)
      assert.equal(result, naiveFactorial(n), `n = ${n}, ${chunks} chunks`)
    }
    const chunks = factorialSplit.split([100000], DEFAULT_LIMITS, { chunks: 8 }).chunks as Array<ChunkSpec<RangeChunk>>
    // Later ranges are shorter: their numbers have more bits.
    assert.ok(chunks[0].data.hi - chunks[0].data.lo > chunks[7].data.hi - chunks[7].data.lo)
    assert.equal(chunks[0].data.lo, 1)
    assert.equal(chunks[7].data.hi, 100000)
    for (let i = 1; i < chunks.length; i++) assert.equal(chunks[i].data.lo, chunks[i - 1].data.hi + 1)
  })

  it('factorial: a combination run as a chunk is the product of its two runs, its size and cost declared', function () {
    const left = naiveFactorial(3000)
    const right = 3001n * 3002n * 3003n
    const chunk = factorialSplit.combineChunk!(left, right, { chunks: 8, peers: 3 }) as ChunkSpec
    assert.equal(factorialSplit.runChunk(chunk.data, undefined), left * right)
    assert.equal(factorialSplit.runChunk(chunk.data, undefined), factorialSplit.combine!(left, right))
    // Declared bytes: the operands' bits, so the steal policy need not walk megabyte integers.
    const bits = left.toString(2).length + right.toString(2).length
    assert.ok(chunk.bytes! >= bits / 8 && chunk.bytes! <= bits / 8 + 32)
    assert.ok(chunk.cost > 0 && chunk.cost < bits)
  })

  it('factorial: a big combination is three Karatsuba products and a join, exact; alone (no peers) it stays one chunk', function () {
    // Operands past FACTORIAL_KARATSUBA_BITS together, of unequal sizes, odd and even.
    const left = (1n << 4_100_001n) - 12345n
    const right = (1n << 3_999_998n) + 987654321n
    const split = factorialSplit.combineChunk!(left, right, { chunks: 16, peers: 4 })
    assert.ok('parts' in split, 'a combination this big is split with peers')
    assert.equal(split.parts.length, 3)
    const partials = split.parts.map(p => factorialSplit.runChunk(p.data, undefined))
    const join = split.join(partials)
    assert.equal(factorialSplit.runChunk(join.data, undefined), left * right)
    for (const p of [...split.parts, join]) assert.ok(p.cost > 0 && p.bytes! > 0)
    assert.equal(karatsubaJoin({ lo: 6n, mid: 20n, hi: 4n, shift: 3 }), (4n << 6n) + (10n << 3n) + 6n)
    const alone = factorialSplit.combineChunk!(left, right, { chunks: 16, peers: 1 })
    assert.ok(!('parts' in alone))
    assert.equal(factorialSplit.runChunk(alone.data, undefined), left * right)
  })

  it('factorial: the product tree multiplies in order-independent exactness', function () {
    assert.equal(productTree([]), 1n)
    assert.equal(productTree([7n]), 7n)
    assert.equal(productTree([2n, 3n, 5n, 7n, 11n]), 2310n)
  })

  it('matmul: row blocks of given matrices, stacked, equal the naive product', function () {
    const a = randomMatrixOf(37, 23)
    const b = randomMatrixOf(23, 19)
    for (const chunks of [1, 5, 37, 100]) {
      const { result, count } = runSplit<Matrix>(matmulSplit, [a, b], chunks)
      assert.equal(count, Math.min(chunks, 37))
      assert.equal(result.rows, 37)
      assert.equal(result.cols, 19)
      assertClose(result.data, naiveMatmul(a, b))
    }
    // The random form: m×n times n×m.
    const { result } = runSplit<Matrix>(matmulSplit, [30, 20], 4)
    assert.equal(result.rows, 30)
    assert.equal(result.cols, 30)
    assert.equal(matmulSplit.cost([30, 20]), 30 * 20 * 30)
  })

  it('matmul(m, n): only a seed is shared, chunks are bare row ranges, and split equals the whole call with that seed', function () {
    for (const [m, n, chunks] of [[64, 48, 4], [30, 20, 7], [5, 3, 2]]) {
      const { shared, chunks: parts } = matmulSplit.split([m, n], DEFAULT_LIMITS, { chunks })
      assert.ok(shared !== undefined && 'seed' in shared)
      assert.ok(byteSize(shared) < 100)
      for (const c of parts) assert.deepEqual(Object.keys(c.data).sort(), ['rowEnd', 'rowStart'])
      const merged = matmulSplit.merge(parts.map(c => matmulSplit.runChunk(c.data, shared)), shared, [m, n])
      const { a, b } = seededOperands(m, n, shared.seed)
      const whole = matmul.run(m, n) as Matrix // a different seed: same shape, other values
      assert.equal(whole.rows, m)
      assert.notDeepEqual(whole.data, merged.data)
      // Identical to the whole-call kernel on the operands of that seed, and to the naive oracle.
      assert.deepEqual(merged.data, matmulKernel(a, b, m, n, m))
      assertClose(merged.data, naiveMatmul({ rows: m, cols: n, data: a }, { rows: n, cols: m, data: b }))
    }
  })

  it('matmul: a B too big for cache is not cut into chunks thinner than MATMUL_MIN_CHUNK_ROWS, and the count is a whole number per node', function () {
    const heights = (m: number, n: number, chunks: number, peers: number): number[] =>
      matmulSplit.split([m, n], DEFAULT_LIMITS, { chunks, peers }).chunks.map(c => c.data.rowEnd - c.data.rowStart)
    // 2000² on 8 nodes × 8 chunks would be 31-row chunks: 33 fit at 60 rows, cut to 32 (4 per node).
    const eight = heights(2000, 2000, 64, 8)
    assert.equal(eight.length, 32)
    assert.ok(eight.every(h => h >= MATMUL_MIN_CHUNK_ROWS))
    assert.equal(eight.reduce((a, b) => a + b, 0), 2000)
    // On 2 nodes (16 chunks of 125 rows) nothing changes.
    assert.equal(heights(2000, 2000, 16, 2).length, 16)
    // Fewer rows than nodes × the minimum: as many chunks as fit, at least one.
    assert.equal(heights(100, 20000, 64, 8).length, 1)
    assert.equal(heights(50, 20000, 64, 8).length, 1)
    // A B that fits in cache (200 × 200 doubles = 320 KB) keeps thin chunks.
    assert.equal(heights(200, 200, 40, 5).length, 40)
  })

  it('thresholds: small calls run whole; factorial never splits by default (the whole-call kernel wins)', function () {
    assert.ok(factorialSplit.cost([20000]) < factorialSplit.threshold)
    assert.ok(factorialSplit.cost([5_000_000]) < factorialSplit.threshold)
    assert.ok(matmulSplit.cost([100, 100]) < matmulSplit.threshold)
    assert.ok(matmulSplit.cost([2000, 2000]) >= matmulSplit.threshold)
  })
})

describe('stealing helpers', function () {
  it('shareMemory puts big typed arrays in shared memory once, and keeps values', function () {
    const big = new Float64Array(20000).map((_, i) => i)
    const shared = shareMemory({ b: big, n: 3, small: new Float64Array(4) }) as any
    assert.ok(shared.b.buffer instanceof SharedArrayBuffer)
    assert.deepEqual(Array.from(shared.b.subarray(0, 5)), [0, 1, 2, 3, 4])
    assert.equal(shared.n, 3)
    assert.ok(!(shared.small.buffer instanceof SharedArrayBuffer))
    assert.equal(shareMemory(undefined), undefined)
  })

  it('byteSize estimates what a steal moves', function () {
    assert.equal(byteSize(new Float64Array(1000)), 8000)
    assert.ok(byteSize({ lo: 1, hi: 2 }) < 32)
    assert.ok(byteSize(2n ** 8000n) >= 1000)
  })

  it('a registry record with stealable load hints is valid; a malformed one is not; old records stay valid', function () {
    const record = { peerId: 'p', name: 'n', seq: 1, expires: 2, addrs: [], tasks: [], objects: [], load: { running: 0, queued: 0, workers: 1 } }
    assert.ok(isNodeRecord(record))
    assert.ok(isNodeRecord({ ...record, load: { ...record.load, stealable: { factorial: 12 } } }))
    assert.ok(!isNodeRecord({ ...record, load: { ...record.load, stealable: { factorial: -1 } } }))
    assert.ok(!isNodeRecord({ ...record, load: { ...record.load, stealable: [3] } }))
  })
})
