import { DECIMAL_MAX_BLOCKS, DECIMAL_SPLIT_BITS, FACTORIAL_KARATSUBA_BITS, FACTORIAL_SPLIT_THRESHOLD, MATMUL_CACHED_B_BYTES, MATMUL_MIN_CHUNK_ROWS, MATMUL_SPLIT_THRESHOLD } from '../constants.js'
import { decimalDigits } from './kernels/bigint-decimal.js'
import { productRange } from './kernels/factorial.js'
import { matmulRows, matmulRowsRandomB, randomMatrix, randomRows } from './kernels/matmul.js'
import type { ChunkSpec, Matrix, SplitSpec } from './types.js'

/**
 * How the built-in heavy tasks split for work stealing. These are plain
 * definitions: worker threads import them too (through builtins.js).
 */

/** Σ log2 i for i ≤ x (Stirling): the bits of x!, so the cost of a range product is a difference of two. */
function logFactorial (x: number): number {
  if (x < 2) return 0
  return (x * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI * x)) / Math.LN2
}

/** A balanced product tree over the partials, adjacent pairs first, so operands stay similar in size. */
export function productTree (parts: bigint[]): bigint {
  if (parts.length === 0) return 1n
  let level = parts.slice()
  while (level.length > 1) {
    const next: bigint[] = []
    for (let i = 0; i + 1 < level.length; i += 2) next.push(level[i] * level[i + 1])
    if (level.length % 2 === 1) next.push(level[level.length - 1])
    level = next
  }
  return level[0]
}

export interface RangeChunk { lo: number, hi: number }
/** A combination run as a chunk (factorialSplit.combineChunk): the product of two adjacent runs' partials. */
export interface ProductChunk { left: bigint, right: bigint }
/** The join of a big combination's three Karatsuba products (lo = a0·b0, mid = (a0+a1)(b0+b1), hi = a1·b1, cut at `shift` bits). */
export interface KaratsubaJoin { lo: bigint, mid: bigint, hi: bigint, shift: number }
type FactorialChunk = RangeChunk | ProductChunk | KaratsubaJoin

/** a·b from its Karatsuba parts: hi·2^(2s) + (mid − hi − lo)·2^s + lo. */
export function karatsubaJoin ({ lo, mid, hi, shift }: KaratsubaJoin): bigint {
  const s = BigInt(shift)
  return (((hi << s) + (mid - hi - lo)) << s) + lo
}

/**
 * left·right as three products of half the size and their join, or
 * undefined when one operand is too short to cut at half the other's bits.
 * The three run on three nodes at once: a multiplication at the top of the
 * tree (two 9 M-bit numbers for factorial(10^6): ~260 ms, M(4.6 M bits)
 * ~100 ms on one core here) stops being one node's serial work.
 */
export function karatsubaParts (left: bigint, right: bigint, leftBits: number, rightBits: number): { parts: ProductChunk[], shift: number } | undefined {
  const shift = Math.floor(Math.min(leftBits, rightBits) / 2)
  if (shift < 1) return undefined
  const s = BigInt(shift)
  const mask = (1n << s) - 1n
  const a0 = left & mask
  const a1 = left >> s
  const b0 = right & mask
  const b1 = right >> s
  return { parts: [{ left: a0, right: b0 }, { left: a0 + a1, right: b0 + b1 }, { left: a1, right: b1 }], shift }
}

/**
 * Cost units (bits of a range product) per bit of a combination's operands:
 * one multiplication of two B/2-bit numbers takes about a third of the time
 * of a range product of B bits, which is a product tree of its own
 * (factorial(10^6) in 64 chunks, measured on one core: 2.9e-5 ms per bit of
 * a range, 0.7–1.3e-5 ms per operand bit of a combination).
 */
const COMBINE_COST_PER_BIT = 1 / 3
/** A Karatsuba join is a few additions and shifts of the product's size: linear, a small fraction of a multiplication. */
const KARATSUBA_JOIN_COST_PER_BIT = 1 / 50

/**
 * factorial(n) split into ranges lo..hi of the product 1..n, cut so every
 * range has about the same number of bits (later ranges are shorter), merged
 * by a product tree.
 */
export const factorialSplit: SplitSpec<FactorialChunk, undefined, bigint, bigint> = {
  cost: ([n]) => Number(n),
  threshold: FACTORIAL_SPLIT_THRESHOLD,
  split: ([n], _limits, { chunks: wanted }) => {
    const total = logFactorial(n)
    const count = Math.max(1, Math.min(wanted, Math.floor(n / 2)))
    const chunks: Array<ChunkSpec<RangeChunk>> = []
    let lo = 1
    for (let k = 1; k <= count; k++) {
      let hi = n
      if (k < count) {
        // The smallest hi with logFactorial(hi) ≥ k/count of the total.
        const target = total * k / count
        let a = lo
        let b = n
        while (a < b) {
          const mid = Math.floor((a + b) / 2)
          if (logFactorial(mid) >= target) b = mid
          else a = mid + 1
        }
        hi = Math.max(lo, a)
      }
      if (hi >= lo) {
        chunks.push({ data: { lo, hi }, cost: Math.max(1, logFactorial(hi) - logFactorial(lo - 1)) })
        lo = hi + 1
      }
      if (lo > n) break
    }
    return { chunks }
  },
  runChunk: (chunk) => 'left' in chunk
    ? chunk.left * chunk.right
    : 'shift' in chunk ? karatsubaJoin(chunk) : productRange(BigInt(chunk.lo), BigInt(chunk.hi)),
  merge: (partials) => productTree(partials),
  combine: (left, right) => left * right,
  // The tree's multiplications run as chunks on whichever node is free, not all on the owner;
  // with peers, the biggest ones as three Karatsuba products on three nodes at once.
  combineChunk: (left, right, { peers }) => {
    const leftBits = bitLength(left)
    const rightBits = bitLength(right)
    const bits = leftBits + rightBits
    const product = (l: bigint, r: bigint, b: number): ChunkSpec<FactorialChunk> => ({ data: { left: l, right: r }, cost: b * COMBINE_COST_PER_BIT, bytes: Math.ceil(b / 8) + 16 })
    const split = (peers ?? 1) > 1 && bits >= FACTORIAL_KARATSUBA_BITS ? karatsubaParts(left, right, leftBits, rightBits) : undefined
    if (split === undefined) return product(left, right, bits)
    return {
      parts: split.parts.map(p => product(p.left, p.right, bits / 2)),
      join: ([lo, mid, hi]) => ({ data: { lo, mid, hi, shift: split.shift }, cost: bits * KARATSUBA_JOIN_COST_PER_BIT, bytes: Math.ceil(2 * bits / 8) + 32 })
    }
  }
}

export interface RowChunk { rowStart: number, rowEnd: number, a?: Float64Array }
/** Given matrices: B itself. The random form: only a seed, from which any node regenerates B and its rows of A. */
export type MatmulShared = { b: Float64Array, m: number, n: number, p: number } | { seed: number, m: number, n: number, p: number }

/** The seeds of A and B in the random form matmul(m, n) with job seed `seed`. */
function operandSeeds (seed: number): { a: number, b: number } {
  return { a: seed >>> 0, b: (seed ^ 0x5BD1E995) >>> 0 }
}

/** A (m×n) and B (n×m) of the random form with seed `seed`: what the whole call multiplies. */
export function seededOperands (m: number, n: number, seed: number): { a: Float64Array, b: Float64Array } {
  const seeds = operandSeeds(seed)
  return { a: randomMatrix(m, n, seeds.a), b: randomMatrix(n, m, seeds.b) }
}

/** A fresh random job seed. */
export function randomSeed (): number {
  return Math.floor(Math.random() * 4294967296)
}

/** The whole random-form product matmul(m, n) with job seed `seed`: A generated, B straight into the kernel's panels. */
export function seededProduct (m: number, n: number, seed: number): Float64Array {
  const seeds = operandSeeds(seed)
  return matmulRowsRandomB(randomMatrix(m, n, seeds.a), n, m, 0, m, seeds.b)
}

/**
 * matmul split into row blocks of A. Given matrices: every block needs all of
 * B, which is the shared data (sent to a thief once per job), and each chunk
 * carries its rows of A. The random form matmul(m, n): nothing but a seed is
 * shared and chunks are bare row ranges; each thread regenerates B once per
 * job (straight into the kernel's panels) and only its own rows of A (as
 * Dask's da.random generates chunks on the workers), so only result rows travel. Merged by stacking the blocks.
 */
export const matmulSplit: SplitSpec<RowChunk, MatmulShared, Float64Array, Matrix> = {
  cost: ([first, second]) => {
    if (typeof first === 'number') return first * (second as number) * first
    const a = first as Matrix
    const b = second as Matrix
    return a.rows * a.cols * b.cols
  },
  threshold: MATMUL_SPLIT_THRESHOLD,
  split: ([first, second], _limits, { chunks: wanted, peers }) => {
    const seeded = typeof first === 'number'
    const m = seeded ? first : (first as Matrix).rows
    const n = seeded ? second as number : (first as Matrix).cols
    const p = seeded ? first : (second as Matrix).cols
    let count = Math.min(wanted, m)
    // B that does not fit in a core's cache is streamed from memory once per chunk: thin chunks pay that pass for little work.
    const tallest = Math.floor(m / MATMUL_MIN_CHUNK_ROWS)
    if (n * p * 8 > MATMUL_CACHED_B_BYTES && tallest < count) {
      // Cut short by the minimum height, keep a whole number of chunks per node: one node with an extra chunk is the job's tail.
      const nodes = peers ?? 1
      count = tallest > nodes ? tallest - tallest % nodes : tallest
    }
    count = Math.max(1, count)
    const chunks: Array<ChunkSpec<RowChunk>> = []
    for (let k = 0; k < count; k++) {
      const rowStart = Math.floor(k * m / count)
      const rowEnd = Math.floor((k + 1) * m / count)
      if (rowEnd <= rowStart) continue
      const data: RowChunk = seeded ? { rowStart, rowEnd } : { rowStart, rowEnd, a: (first as Matrix).data.slice(rowStart * n, rowEnd * n) }
      chunks.push({ data, cost: (rowEnd - rowStart) * n * p })
    }
    const shared: MatmulShared = seeded ? { seed: randomSeed(), m, n, p } : { b: (second as Matrix).data, m, n, p }
    return { shared, chunks }
  },
  runChunk: ({ rowStart, rowEnd, a }, shared) => {
    const { n, p } = shared
    if ('seed' in shared) {
      const seeds = operandSeeds(shared.seed)
      // B is generated once per job and thread, straight into the kernel's panels (see matmulRowsRandomB).
      return matmulRowsRandomB(randomRows(seeds.a, rowStart, rowEnd, n), n, p, 0, rowEnd - rowStart, seeds.b)
    }
    return matmulRows(a as Float64Array, shared.b, n, p, 0, rowEnd - rowStart, shared.b)
  },
  merge: (blocks, { m, p }) => {
    const data = new Float64Array(m * p)
    let offset = 0
    for (const block of blocks) {
      data.set(block, offset)
      offset += block.length
    }
    return { rows: m, cols: p, data }
  },
  parts: ({ m, p }) => ({ kind: 'f64', field: 'data', shape: { rows: m, cols: p } }),
  mergeOn: 'inline'
}

export interface DigitBlock { low: number, count?: number }

/** Bits of x > 0. */
export function bitLength (x: bigint): number {
  const hex = x.toString(16)
  return (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0], 16)))
}

/**
 * decimal(x) split into blocks of digits, one per node serving it: block j
 * is ⌊x / 10^low⌋ mod 10^count, computed from x itself (the shared data), so
 * no block waits for another's division; the blocks, most significant first,
 * concatenate to the decimal string. Each block costs one or two divisions of
 * about x's size besides converting its own digits, so more blocks than nodes
 * would cost more than they save.
 */
export const decimalSplit: SplitSpec<DigitBlock, bigint, string, string> = {
  cost: ([x]) => bitLength(x < 0n ? -(x as bigint) : x as bigint),
  threshold: DECIMAL_SPLIT_BITS,
  split: ([x], _limits, { chunks: wanted, peers }) => {
    const abs = x < 0n ? -(x as bigint) : x as bigint
    const bits = bitLength(abs)
    // A lower bound of the digit count: x ≥ 2^(bits − 1).
    const digits = Math.floor((bits - 1) * Math.LOG10E * Math.LN2) + 1
    const count = Math.max(1, Math.min(peers ?? wanted, wanted, DECIMAL_MAX_BLOCKS, Math.floor(digits / 1000)))
    const size = Math.floor(digits / count)
    const chunks: Array<ChunkSpec<DigitBlock>> = []
    for (let j = count - 1; j >= 0; j--) {
      chunks.push({ data: j === count - 1 ? { low: j * size } : { low: j * size, count: size }, cost: bits / count })
    }
    return { shared: x as bigint, chunks }
  },
  runChunk: ({ low, count }, x) => decimalDigits(x < 0n ? -x : x, low, count),
  merge: (blocks, x) => (x < 0n ? '-' : '') + blocks.join(''),
  parts: (x) => ({ kind: 'string', prefix: x < 0n ? '-' : '' }),
  mergeOn: 'inline'
}
