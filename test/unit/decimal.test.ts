import assert from 'node:assert/strict'
import { DECIMAL_SPLIT_BITS } from '../../src/constants.js'
import { DEFAULT_LIMITS } from '../../src/index.js'
import { decimalDigits } from '../../src/tasks/kernels/bigint-decimal.js'
import { factorial } from '../../src/tasks/kernels/factorial.js'
import { bitLength, decimalSplit } from '../../src/tasks/split-builtins.js'

/** Split x as an owner would for `peers` nodes, run every block, merge: the digits a split job prints. */
function splitDigits (x: bigint, peers: number): { digits: string, blocks: number } {
  const { shared, chunks } = decimalSplit.split([x], DEFAULT_LIMITS, { chunks: 8 * peers, peers })
  return { digits: decimalSplit.merge(chunks.map(c => decimalSplit.runChunk(c.data, shared as bigint)), shared as bigint, [x]), blocks: chunks.length }
}

describe('decimal conversion split into digit blocks', function () {
  it('decimalDigits gives any block of digits, padded, and the top block unpadded', function () {
    const x = 1234567890123456789012345678901234567890n
    const s = x.toString()
    assert.equal(decimalDigits(x, 0), s)
    assert.equal(decimalDigits(x, 0, 5), s.slice(-5))
    assert.equal(decimalDigits(x, 5, 10), s.slice(-15, -5))
    assert.equal(decimalDigits(x, 30), s.slice(0, -30))
    assert.equal(decimalDigits(1000000000000000000001n, 1, 10), '0000000000')
    assert.throws(() => decimalDigits(-1n, 0), TypeError)
  })

  it('blocks concatenate to V8\'s toString for 1, 2, 3, 5 and 8 nodes, numbers of many shapes (powers of ten, all nines, factorials, negatives)', function () {
    const values = [
      10n ** 5000n, 10n ** 5000n - 1n, 10n ** 4999n + 7n, factorial(3000), factorial(20000), -factorial(12345),
      (1n << 70000n) + 12345n, 7n ** 40000n
    ]
    for (const x of values) {
      for (const peers of [1, 2, 3, 5, 8]) {
        const { digits, blocks } = splitDigits(x, peers)
        assert.equal(digits, x.toString(), `${peers} nodes, ${bitLength(x < 0n ? -x : x)} bits`)
        assert.ok(blocks <= peers)
      }
    }
  })

  it('splits only from DECIMAL_SPLIT_BITS up; the cost is the bit length', function () {
    assert.equal(decimalSplit.threshold, DECIMAL_SPLIT_BITS)
    assert.equal(decimalSplit.cost([(1n << 1000n) - 1n]), 1000)
    assert.equal(decimalSplit.cost([-(1n << 1000n)]), 1001)
    assert.equal(bitLength(1n), 1)
    assert.equal(bitLength(255n), 8)
    assert.equal(bitLength(256n), 9)
  })
})
