import assert from 'node:assert/strict'
import { factorial, productRange } from '../../src/tasks/kernels/factorial.js'
import { bigintToDecimal, bigintToDecimalDivideAndConquer } from '../../src/tasks/kernels/bigint-decimal.js'
import { matmul, matmulRows, matmulRowsJs, matmulRowsRandomB, randomMatrix, randomRows, simdAvailable } from '../../src/tasks/kernels/matmul.js'

function naiveRange (lo: bigint, hi: bigint): bigint {
  let r = 1n
  for (let i = lo; i <= hi; i++) r *= i
  return r
}

/** Deterministic pseudo-random bigint of exactly `bits` bits (bits ≥ 1). */
function randomBigInt (bits: number, next: () => number): bigint {
  let hex = ''
  for (let i = 0; i < Math.ceil(bits / 4); i++) hex += Math.floor(next() * 16).toString(16)
  const x = BigInt('0x' + hex) & ((1n << BigInt(bits)) - 1n)
  return x | (1n << BigInt(bits - 1))
}

function lcg (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    return s / 4294967296
  }
}

function naiveMatmul (a: Float64Array, b: Float64Array, m: number, n: number, p: number): Float64Array {
  const c = new Float64Array(m * p)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < p; j++) {
      let s = 0
      for (let k = 0; k < n; k++) s += a[i * n + k] * b[k * p + j]
      c[i * p + j] = s
    }
  }
  return c
}

function assertClose (actual: Float64Array, expected: Float64Array, n: number): void {
  assert.equal(actual.length, expected.length)
  // Entries are sums of n products of [0,1) values; only the summation order differs.
  const tolerance = 1e-15 * Math.max(1, n) * 8
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i])
    if (err > tolerance * Math.max(1, Math.abs(expected[i]))) {
      assert.fail(`entry ${i}: ${actual[i]} vs ${expected[i]}`)
    }
  }
}

describe('kernels: productRange', () => {
  it('is 1 for an empty range (lo > hi)', () => {
    assert.equal(productRange(5n, 4n), 1n)
    assert.equal(productRange(1n, 0n), 1n)
    assert.equal(productRange(100n, -100n), 1n)
  })

  it('is the number itself when lo == hi', () => {
    for (const v of [0n, 1n, 2n, 7n, -3n, 2n ** 60n, -(2n ** 70n)]) assert.equal(productRange(v, v), v)
  })

  it('matches a naive loop on small and mid ranges', () => {
    for (let lo = 1n; lo <= 40n; lo += 3n) {
      for (let hi = lo; hi <= lo + 60n; hi += 7n) assert.equal(productRange(lo, hi), naiveRange(lo, hi), `${lo}..${hi}`)
    }
    assert.equal(productRange(1000n, 3000n), naiveRange(1000n, 3000n))
    assert.equal(productRange(99_990n, 100_000n), naiveRange(99_990n, 100_000n))
  })

  it('handles factors beyond 2^53', () => {
    const lo = 2n ** 53n - 5n
    assert.equal(productRange(lo, lo + 10n), naiveRange(lo, lo + 10n))
    assert.equal(productRange(2n ** 80n, 2n ** 80n + 3n), naiveRange(2n ** 80n, 2n ** 80n + 3n))
  })

  it('handles zero and negative ranges', () => {
    assert.equal(productRange(-5n, 5n), 0n)
    assert.equal(productRange(0n, 9n), 0n)
    assert.equal(productRange(-4n, -1n), 24n)
    assert.equal(productRange(-5n, -3n), -60n)
    assert.equal(productRange(-30n, -20n), naiveRange(-30n, -20n))
  })
})

describe('kernels: factorial', () => {
  it('matches a naive loop for n = 0..300', () => {
    let f = 1n
    for (let n = 0; n <= 300; n++) {
      if (n > 0) f *= BigInt(n)
      assert.equal(factorial(n), f, `${n}!`)
      assert.equal(factorial(BigInt(n)), f, `${n}n!`)
    }
  })

  it('matches a naive loop and productRange for larger n', () => {
    for (const n of [511, 512, 1000, 1023, 1024, 2047, 4099]) {
      const expected = naiveRange(1n, BigInt(n))
      assert.equal(factorial(n), expected, `${n}!`)
      assert.equal(productRange(1n, BigInt(n)), expected, `productRange(1, ${n})`)
    }
    assert.equal(factorial(30_000), productRange(1n, 30_000n))
  })

  it('has 77338 digits for 20000!', () => {
    assert.equal(factorial(20_000).toString().length, 77_338)
  })

  it('throws RangeError for negative or non-integer n', () => {
    assert.throws(() => factorial(-1), RangeError)
    assert.throws(() => factorial(-1n), RangeError)
    assert.throws(() => factorial(2.5), RangeError)
    assert.throws(() => factorial(NaN), RangeError)
    assert.throws(() => factorial(Infinity), RangeError)
  })

  it('throws RangeError up front when n! would exceed the largest BigInt', () => {
    assert.throws(() => factorial(100_000_000), RangeError)
    assert.throws(() => factorial(2n ** 60n), RangeError)
  })
})

describe('kernels: bigintToDecimal', () => {
  const check = (x: bigint): void => {
    const expected = x.toString()
    assert.equal(bigintToDecimal(x), expected)
    const dc = bigintToDecimalDivideAndConquer(x)
    if (dc !== expected) assert.fail(`divide and conquer differs for a ${expected.length}-digit value`)
  }

  it('equals toString for zero, small values and negatives', () => {
    for (const x of [0n, 1n, -1n, 9n, 10n, -10n, 2n ** 64n, -(2n ** 64n) + 1n, 12345678901234567890n]) check(x)
  })

  it('equals toString for random bigints of many sizes', () => {
    const next = lcg(42)
    for (let bits = 1; bits < 400_000; bits = Math.ceil(bits * 1.31) + 1) {
      const x = randomBigInt(bits, next)
      check(x)
      check(-x)
    }
  })

  it('equals toString around the internal thresholds', () => {
    const next = lcg(7)
    // Split sizes are powers of two in digits; probe bit lengths around 2^15 and around 10^(2^k).
    for (const bits of [32_767, 32_768, 32_769, 40_000, 65_536]) check(randomBigInt(bits, next))
    for (let k = 9; k <= 16; k++) {
      const p = 10n ** BigInt(2 ** k)
      for (const x of [p - 1n, p, p + 1n, p * p - 1n, p * p, p * p + 1n]) check(x)
    }
  })

  it('equals toString for powers of ten ±1 and long runs of zeros and nines', () => {
    for (const e of [1000, 5000, 9864, 9865, 20_000, 65_536, 100_003]) {
      const p = 10n ** BigInt(e)
      check(p)
      check(p - 1n)
      check(p + 1n)
      check(-p)
      check(-(p - 1n))
    }
    // A 1 followed by 50 000 zeros then digits; digits with zero runs straddling split points.
    check(10n ** 50_000n * 123456789n + 987654321n)
    check((10n ** 40_000n + 1n) * (10n ** 30_000n) + 7n)
    check((10n ** 70_000n - 1n) * 10n ** 1024n)
  })

  it('equals toString for a large factorial', () => {
    check(factorial(25_000))
  })
})

describe('kernels: matmul', () => {
  const shapes: Array<[number, number, number]> = [
    [1, 1, 1], [1, 7, 1], [3, 5, 7], [5, 3, 2], [17, 13, 19], [64, 64, 64],
    [33, 65, 31], [7, 300, 5], [130, 257, 129], [250, 3, 250], [61, 1, 67]
  ]

  it('matches a naive triple loop for odd sizes (auto kernel)', () => {
    for (const [m, n, p] of shapes) {
      const a = randomMatrix(m, n, m * 1000 + n)
      const b = randomMatrix(n, p, n * 1000 + p)
      assertClose(matmul(a, b, m, n, p), naiveMatmul(a, b, m, n, p), n)
    }
  })

  it('matches a naive triple loop for odd sizes (TypeScript kernel)', () => {
    for (const [m, n, p] of shapes) {
      const a = randomMatrix(m, n, m + 1)
      const b = randomMatrix(n, p, p + 2)
      assertClose(matmulRowsJs(a, b, n, p, 0, m), naiveMatmul(a, b, m, n, p), n)
    }
  })

  it('reports whether the SIMD kernel is in use', () => {
    // Node 20 supports WebAssembly SIMD; the fallback is covered by the TypeScript kernel test.
    assert.equal(typeof simdAvailable(), 'boolean')
  })

  it('computes a middle block of rows with matmulRows', () => {
    const m = 103
    const n = 71
    const p = 45
    const a = randomMatrix(m, n, 11)
    const b = randomMatrix(n, p, 12)
    const full = naiveMatmul(a, b, m, n, p)
    for (const [lo, hi] of [[37, 81], [0, 1], [102, 103], [50, 50], [5, 11]]) {
      const expected = full.subarray(lo * p, hi * p)
      assertClose(matmulRows(a, b, n, p, lo, hi), expected, n)
      assertClose(matmulRowsJs(a, b, n, p, lo, hi), expected, n)
    }
  })

  it('handles empty dimensions', () => {
    assert.deepEqual(matmul(new Float64Array(0), new Float64Array(0), 0, 0, 0), new Float64Array(0))
    assert.deepEqual(matmul(new Float64Array(0), new Float64Array(0), 3, 0, 2), new Float64Array(6))
  })

  it('rejects inconsistent arguments', () => {
    const a = randomMatrix(4, 4, 1)
    assert.throws(() => matmulRows(a, a, 4, 4, 2, 1), RangeError)
    assert.throws(() => matmulRows(a, a, 4, 4, 0, 5), RangeError)
    assert.throws(() => matmulRows(a, a, 4, 5, 0, 4), RangeError)
    assert.throws(() => matmul(a, a, 4, 4.5, 4), RangeError)
  })

  it('randomMatrix is reproducible with a seed and uniform in [0, 1)', () => {
    const x = randomMatrix(50, 40, 1234)
    assert.deepEqual(randomMatrix(50, 40, 1234), x)
    assert.notDeepEqual(randomMatrix(50, 40, 1235), x)
    assert.notDeepEqual(randomMatrix(50, 40), randomMatrix(50, 40))
    let sum = 0
    for (const v of x) {
      assert.ok(v >= 0 && v < 1)
      sum += v
    }
    assert.ok(Math.abs(sum / x.length - 0.5) < 0.05)
  })

  it('matmulRows with a bKey packs B once and still gives the same blocks; another key repacks', () => {
    const [m, n, p] = [48, 40, 36]
    const a = randomMatrix(m, n, 5)
    const b1 = randomMatrix(n, p, 6)
    const b2 = randomMatrix(n, p, 7)
    for (const b of [b1, b2, b1]) {
      for (let r = 0; r < m; r += 16) {
        assert.deepEqual(matmulRows(a, b, n, p, r, r + 16, b), matmulRows(a, b, n, p, r, r + 16))
      }
    }
  })

  it('randomRows yields exactly the rows of randomMatrix with the same seed, for any row block', () => {
    const whole = randomMatrix(37, 29, 987654321)
    for (const [start, end] of [[0, 37], [0, 1], [5, 6], [3, 20], [36, 37], [10, 10]]) {
      assert.deepEqual(randomRows(987654321, start, end, 29), whole.subarray(start * 29, end * 29))
    }
    // Rows are not copies of each other.
    assert.notDeepEqual(whole.subarray(0, 29), whole.subarray(29, 58))
    assert.throws(() => randomRows(1, 5, 4, 3), RangeError)
  })
})

describe('matmulRowsRandomB (B of the random form generated straight into the kernel\'s panels)', function () {
  it('equals matmulRows with B = randomMatrix(n, p, seed), for shapes on and off the tile edges, on both kernels', function () {
    for (const [m, n, p] of [[1, 1, 1], [3, 5, 7], [8, 64, 64], [37, 130, 61], [64, 200, 203]]) {
      for (const seed of [1, 0xdeadbeef]) {
        const a = randomMatrix(m, n, seed + 1)
        const want = matmulRows(a, randomMatrix(n, p, seed), n, p, 0, m)
        const got = matmulRowsRandomB(a, n, p, 0, m, seed)
        assert.equal(got.length, want.length)
        for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-9 * Math.max(1, Math.abs(want[i])), `${m}×${n}×${p} seed ${seed}: element ${i}`)
      }
    }
  })

  it('makes the panels again for another seed or shape, and when a given B was packed in between', function () {
    const n = 96
    const a = randomMatrix(40, n, 5)
    const check = (p: number, seed: number): void => {
      const want = matmulRows(a, randomMatrix(n, p, seed), n, p, 0, 40)
      const got = matmulRowsRandomB(a, n, p, 0, 40, seed)
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-9 * Math.max(1, Math.abs(want[i])))
    }
    check(96, 1)
    check(96, 2)
    check(80, 2)
    const given = randomMatrix(n, 96, 9)
    matmulRows(a, given, n, 96, 0, 40, given)
    check(96, 2)
    check(96, 2)
  })
})
