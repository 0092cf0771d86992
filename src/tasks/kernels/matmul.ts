// TEMPORARY placeholder written by the main engineer so the rest compiles;
// helper-1 owns this file and replaces it with the fast kernel.
export function matmulRows (a: Float64Array, b: Float64Array, n: number, p: number, rowStart: number, rowEnd: number): Float64Array {
  const c = new Float64Array((rowEnd - rowStart) * p)
  for (let i = rowStart; i < rowEnd; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]
      for (let j = 0; j < p; j++) c[(i - rowStart) * p + j] += aik * b[k * p + j]
    }
  }
  return c
}
export function matmul (a: Float64Array, b: Float64Array, m: number, n: number, p: number): Float64Array {
  return matmulRows(a, b, n, p, 0, m)
}
export function randomMatrix (rows: number, cols: number, _seed?: number): Float64Array {
  const m = new Float64Array(rows * cols)
  for (let i = 0; i < m.length; i++) m[i] = Math.random()
  return m
}
