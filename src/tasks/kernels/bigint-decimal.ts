/**
 * Exact decimal conversion of huge bigints, faster than BigInt#toString.
 *
 * Divide and conquer over a ladder of powers 10^(2^k): x = hi·10^L + lo with
 * L = 2^k, both halves converted recursively, lo left-padded to L digits.
 * Two things make it beat V8's own (also divide-and-conquer) toString:
 *
 *  - 10^L = 5^L · 2^L, so ⌊x / 10^L⌋ = ⌊(x >> L) / 5^L⌋ and
 *    lo = ((x >> L) − hi·5^L) << L | (x mod 2^L): every division and
 *    multiplication works on operands ~30 % smaller, and the ladder is a
 *    ladder of powers of 5.
 *  - Below the top level, each rung divides many numbers by the same 5^L,
 *    so its reciprocal is computed once and every division becomes two
 *    multiplications (Barrett reduction) instead of a full long division.
 *
 * Pieces below a threshold go to the native toString, and small inputs skip
 * all of this.
 */

/** Below 2^DIRECT_BITS the native toString is used for the whole number. */
const DIRECT_BITS = 1 << 15
const DIRECT_LIMIT = 1n << BigInt(DIRECT_BITS)
/** Smallest split, in digits: pieces below 10^MIN_SPLIT go to the native toString. */
const MIN_SPLIT = Number(process.env.MS ?? 512)
/** Rungs expected to split fewer numbers than this use native division. */
const NATIVE_BELOW_SPLITS = Number(process.env.NB ?? 3)
const LOG2_10 = Math.log2(10)
const LOG2_5 = Math.log2(5)
/** Extra low bits kept in a Barrett quotient estimate, bounding its error to a few units. */
const GUARD_BITS = 64

interface Rung {
  /** L = 2^k: this rung splits x < 10^(2L) into ⌊x / 10^L⌋ and x mod 10^L. */
  digits: number
  shift: bigint
  /** 5^L. */
  pow5: bigint
  /** 2^(⌊L·log2 10⌋ − 1) < 10^L: numbers below it need no split at this rung. */
  below: bigint
  /** Too few splits at this rung for a reciprocal to pay: divide natively. */
  native: boolean
  /** Barrett data, computed on first use: inv = ⌊2^t / 5^L⌋, t = s + e. */
  inv?: bigint
  t?: number
  s?: bigint
  e?: bigint
}

/**
 * Give `rung` (= ladder[k]) its reciprocal. The exponent t = s + e only
 * depends on the bound y < 10^(2L)/2^L; s keeps 64 guard bits below 5^L.
 * When the rung above already has one, derive it with one multiplication:
 * ⌊2^T/5^(2L)⌋·5^L / 2^(T−t) ≤ 2^t/5^L, short by under 2 (T − t > log2 5^L).
 * Otherwise divide natively, once.
 */
function prepareReciprocal (ladder: Rung[], k: number): void {
  const rung = ladder[k]
  const L = rung.digits
  const yBits = Math.ceil((2 * LOG2_10 - 1) * L) + 2
  const s = Math.max(0, Math.floor(L * LOG2_5) - GUARD_BITS)
  const t = yBits + 1
  rung.s = BigInt(s)
  rung.e = BigInt(t - s)
  rung.t = t
  const above = ladder[k + 1]
  if (above?.inv !== undefined) {
    rung.inv = (above.inv * rung.pow5) >> BigInt(above.t! - t)
  } else {
    const n = Math.floor(L * LOG2_5) + 1
    rung.inv = reciprocal(rung.pow5, n, t - n)
  }
}

/** Below this precision a reciprocal is computed by native division. */
const NEWTON_MIN_BITS = 4096

/**
 * ≈ 2^(n+p) / d for d of exactly n bits, to within a few units, by Newton's
 * iteration: r' = r + r·(2^(n+p) − d·r) / 2^(n+p), doubling the precision
 * each step. Only the top p + 64 bits of d matter.
 */
function reciprocal (d: bigint, n: number, p: number): bigint {
  const keep = p + GUARD_BITS
  if (n > keep) return reciprocal(d >> BigInt(n - keep), keep, p)
  if (p <= NEWTON_MIN_BITS) return (1n << BigInt(n + p)) / d
  const h = (p >> 1) + 16
  const r = reciprocal(d, n, h) // ≈ 2^(n+h) / d
  const e = (1n << BigInt(n + h)) - d * r
  return (r << BigInt(p - h)) + ((r * e) >> BigInt(n + 2 * h - p))
}

/**
 * Split y (= x >> L, x < 10^(2L)) into q = ⌊y / 5^L⌋ and r = y − q·5^L with
 * the rung's reciprocal. The estimate never exceeds the true quotient and is
 * below it by less than 2; the loop corrects that, with a long division as a
 * fallback that the bounds say is never taken.
 */
function barrettDivmod (y: bigint, rung: Rung): [bigint, bigint] {
  const d = rung.pow5
  let q = ((y >> rung.s!) * rung.inv!) >> rung.e!
  let r = y - q * d
  for (let guard = 0; r >= d || r < 0n; guard++) {
    if (guard === 4) {
      // Unreachable by the error bounds; kept so a wrong estimate can never give a wrong digit.
      const q2 = r / d - (r < 0n ? 1n : 0n)
      q += q2
      r -= q2 * d
      break
    }
    if (r < 0n) {
      r += d
      q -= 1n
    } else {
      r -= d
      q += 1n
    }
  }
  return [q, r]
}

/**
 * Append the decimal digits of 0 ≤ x < 10^(2·ladder[k].digits) to out,
 * left-padded with zeros to `pad` digits. `top` marks the one call at the
 * top of the tree, whose single division is left to the native operator.
 */
function convert (x: bigint, ladder: Rung[], k: number, pad: number, out: string[]): void {
  if (k < 0) {
    const s = x.toString()
    if (pad > s.length) out.push('0'.repeat(pad - s.length))
    out.push(s)
    return
  }
  const rung = ladder[k]
  if (x < rung.below && pad <= rung.digits) {
    // x < 10^L: the high half would be empty.
    convert(x, ladder, k - 1, pad, out)
    return
  }
  const L = rung.digits
  const y = x >> rung.shift
  let q: bigint, r: bigint
  if (rung.native) {
    q = y / rung.pow5
    r = y - q * rung.pow5
  } else {
    if (rung.inv === undefined) prepareReciprocal(ladder, k)
    ;[q, r] = barrettDivmod(y, rung)
  }
  const lo = (r << rung.shift) | (x & ((1n << rung.shift) - 1n))
  if (q === 0n && pad <= L) {
    // Nothing above 10^L: no need to emit the high half at all.
    convert(lo, ladder, k - 1, pad, out)
    return
  }
  convert(q, ladder, k - 1, pad - L, out)
  convert(lo, ladder, k - 1, L, out)
}

/**
 * Exact decimal string of x, identical to x.toString() for every bigint,
 * sub-quadratic and faster than the native conversion for huge values.
 */
export function bigintToDecimal (x: bigint): string {
  if (typeof x !== 'bigint') throw new TypeError('bigintToDecimal: x must be a bigint')
  if (x < 0n) return '-' + bigintToDecimal(-x)
  if (x < DIRECT_LIMIT) return x.toString()

  // Ladder of 5^L for L = MIN_SPLIT, 2·MIN_SPLIT, ... up to the first L with x < 10^(2L).
  const digits = x.toString(16).length * 4 / LOG2_10
  const ladder: Rung[] = []
  let pow5 = 5n ** BigInt(MIN_SPLIT)
  for (let L = MIN_SPLIT; ; L *= 2) {
    ladder.push({
      digits: L,
      shift: BigInt(L),
      pow5,
      below: 1n << BigInt(Math.floor(L * LOG2_10) - 1),
      native: digits / (2 * L) < NATIVE_BELOW_SPLITS
    })
    // 2^(⌊2L·log2 10⌋ − 1) < 10^(2L): a cheap sufficient test for x < 10^(2L).
    if (x < (1n << BigInt(Math.floor(2 * L * LOG2_10) - 1))) break
    pow5 *= pow5
  }
  const out: string[] = []
  convert(x, ladder, ladder.length - 1, 0, out)
  return out.join('')
}
