/**
 * Micro-benchmark of the CPU kernels: `node dist/bench/kernels.js`.
 * Single-threaded; takes ~30–60 s. Prints wall-clock milliseconds (best of a
 * few runs where runs are cheap) and GFLOP/s (2·m·n·p / seconds), each with
 * the figure from this process's CPU time in parentheses: on a busy machine
 * the wall clock includes time spent waiting for a core, CPU time does not.
 */
import { loadavg } from 'node:os'
import { factorial, productRange } from '../src/tasks/kernels/factorial.js'
import { bigintToDecimal } from '../src/tasks/kernels/bigint-decimal.js'
import { matmul, matmulRowsJs, randomMatrix, simdAvailable } from '../src/tasks/kernels/matmul.js'

interface Timing<T> { ms: number, cpuMs: number, value: T }

function time<T> (fn: () => T, runs = 1): Timing<T> {
  let ms = Infinity
  let cpuMs = Infinity
  let value!: T
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    value = fn()
    ms = Math.min(ms, performance.now() - t0)
    const c = process.cpuUsage(c0)
    cpuMs = Math.min(cpuMs, (c.user + c.system) / 1000)
  }
  return { ms, cpuMs, value }
}

const num = (ms: number): string => ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)
const fmt = (t: Timing<unknown>): string => `${num(t.ms)} (${num(t.cpuMs)})`
const pad = (s: string, n: number): string => s.padEnd(n)

function naiveFactorial (n: number): bigint {
  let r = 1n
  for (let i = 2n; i <= BigInt(n); i++) r *= i
  return r
}

function ikj (a: Float64Array, b: Float64Array, m: number, n: number, p: number): Float64Array {
  const c = new Float64Array(m * p)
  for (let i = 0; i < m; i++) {
    const ci = i * p
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]
      const bk = k * p
      for (let j = 0; j < p; j++) c[ci + j] += aik * b[bk + j]
    }
  }
  return c
}

console.log(`node ${process.version}, ${process.arch}, load average ${loadavg().map(l => l.toFixed(2)).join(' ')}`)

console.log('\nfactorial, ms (cpu ms)   prime swing       product tree      naive loop')
// Warm up the JIT on small inputs first.
for (let i = 0; i < 20; i++) { factorial(3000); productRange(1n, 3000n) }
for (const n of [20_000, 100_000, 1_000_000]) {
  const runs = n <= 100_000 ? 5 : 1
  const swing = time(() => factorial(n), runs)
  const tree = time(() => productRange(1n, BigInt(n)), runs)
  if (swing.value !== tree.value) throw new Error(`factorial(${n}) disagrees with productRange`)
  const naive = n <= 20_000 ? fmt(time(() => naiveFactorial(n))) : '-'
  console.log(`  ${pad(`${n}!`, 18)} ${pad(fmt(swing), 17)} ${pad(fmt(tree), 17)} ${naive}`)
}

console.log('\ndecimal string, ms       bigintToDecimal   native toString   digits')
for (const n of [100_000, 1_000_000]) {
  const x = factorial(n)
  const runs = n <= 100_000 ? 3 : 1
  const mine = time(() => bigintToDecimal(x), runs)
  const native = time(() => x.toString(), runs)
  if (mine.value !== native.value) throw new Error(`bigintToDecimal(${n}!) differs from toString`)
  console.log(`  ${pad(`${n}!`, 18)} ${pad(fmt(mine), 17)} ${pad(fmt(native), 17)} ${native.value.length}`)
}

console.log(`\nmatmul, GFLOP/s, 1 core   matmul${simdAvailable() ? ' (wasm simd)' : ''}     TS kernel         plain i-k-j`)
{
  // Warm-up.
  const a = randomMatrix(96, 96, 1)
  for (let i = 0; i < 5; i++) { matmul(a, a, 96, 96, 96); matmulRowsJs(a, a, 96, 96, 0, 96); ikj(a, a, 96, 96, 96) }
}
for (const size of [500, 1000, 1500]) {
  const a = randomMatrix(size, size, 1)
  const b = randomMatrix(size, size, 2)
  const flops = 2 * size ** 3
  const runs = size <= 500 ? 3 : 1
  const gf = (t: Timing<unknown>): string => `${(flops / t.ms / 1e6).toFixed(2)} (${(flops / t.cpuMs / 1e6).toFixed(2)})`
  const fast = time(() => matmul(a, b, size, size, size), runs)
  const ts = time(() => matmulRowsJs(a, b, size, size, 0, size), runs)
  const plain = time(() => ikj(a, b, size, size, size), runs)
  console.log(`  ${pad(`${size}×${size}`, 18)} ${pad(gf(fast), 23)} ${pad(gf(ts), 17)} ${gf(plain)}`)
}
