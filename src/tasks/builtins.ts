import { BadArgumentError, LimitExceededError } from '../errors.js'
import { factorial as factorialKernel } from './kernels/factorial.js'
import { matmul as matmulKernel } from './kernels/matmul.js'
import { toMatrix } from './params.js'
import { bigintToDecimal } from './kernels/bigint-decimal.js'
import { decimalSplit, factorialSplit, matmulSplit, randomSeed, seededProduct } from './split-builtins.js'
import type { Matrix, TaskDefinition, TaskLimits } from './types.js'

/**
 * The reference workloads of the tutorials mesh replaces. This module is
 * imported by worker threads too, so it holds only plain definitions.
 */

/** add(x, y): numbers or bigints; a bigint on either side makes the sum exact. */
export const add: TaskDefinition = {
  name: 'add',
  description: 'x + y (exact when either is a bigint)',
  params: [{ name: 'x', type: 'numeric' }, { name: 'y', type: 'numeric' }],
  mode: 'inline',
  idempotent: true,
  validate: ([x, y]) => {
    if (typeof x === typeof y) return [x, y]
    const mixedNumber = typeof x === 'number' ? x : y as number
    if (!Number.isSafeInteger(mixedNumber)) throw new BadArgumentError(`add: cannot add the non-integer ${mixedNumber} to a bigint exactly`)
    return [BigInt(x as number | bigint), BigInt(y as number | bigint)]
  },
  run: (x: any, y: any) => x + y
}

/** factorial(n): n! exactly, as a bigint, by a balanced product tree. */
export const factorial: TaskDefinition = {
  name: 'factorial',
  description: 'n! exactly, as a big integer',
  params: [{ name: 'n', type: 'integer' }],
  mode: 'pool',
  idempotent: true,
  validate: ([n], limits) => {
    const value = Number(n)
    if (value < 0) throw new BadArgumentError(`factorial: n must be ≥ 0, got ${String(n)}`)
    if (value > limits.maxFactorialN) throw new LimitExceededError(`factorial: n = ${String(n)} is over this node's limit of ${limits.maxFactorialN}`)
    return [value]
  },
  run: (n: number): bigint => factorialKernel(n),
  split: factorialSplit
}

function checkMatrixSize (rows: number, cols: number, what: string, limits: TaskLimits): void {
  if (rows > limits.maxMatrixDim || cols > limits.maxMatrixDim || rows * cols > limits.maxMatrixElements) {
    throw new LimitExceededError(`matmul: ${what} is ${rows}×${cols}, over this node's limit (sides ≤ ${limits.maxMatrixDim}, ≤ ${limits.maxMatrixElements} elements)`)
  }
}

/**
 * matmul(m, n): a random m×n matrix A times a random n×m matrix B (the
 * tutorials' form); matmul(a, b): the product of two given matrices.
 * Either way the result is a Matrix.
 */
export const matmul: TaskDefinition = {
  name: 'matmul',
  description: 'matmul(m, n): random A (m×n) · B (n×m); matmul(a, b): a · b',
  params: [{ name: 'm|a', type: 'any' }, { name: 'n|b', type: 'any' }],
  mode: 'pool',
  idempotent: true,
  validate: ([first, second], limits) => {
    if (typeof first === 'number' || typeof first === 'bigint') {
      const dims = [first, second].map((d, i) => {
        if ((typeof d !== 'number' && typeof d !== 'bigint') || !Number.isSafeInteger(Number(d)) || Number(d) < 1) {
          throw new BadArgumentError(`matmul: ${i === 0 ? 'm' : 'n'} must be a positive integer, got ${typeof d === 'string' ? JSON.stringify(d) : String(d)}`)
        }
        return Number(d)
      })
      checkMatrixSize(dims[0], dims[1], 'A', limits)
      return dims
    }
    const a = toMatrix(first, 'matmul: a')
    const b = toMatrix(second, 'matmul: b')
    if (a.cols !== b.rows) throw new BadArgumentError(`matmul: a is ${a.rows}×${a.cols} and b is ${b.rows}×${b.cols}; a's columns must equal b's rows`)
    checkMatrixSize(a.rows, a.cols, 'a', limits)
    checkMatrixSize(b.rows, b.cols, 'b', limits)
    checkMatrixSize(a.rows, b.cols, 'the product', limits)
    return [a, b]
  },
  run: (first: number | Matrix, second: number | Matrix): Matrix => {
    if (typeof first === 'number') {
      return { rows: first, cols: first, data: seededProduct(first, second as number, randomSeed()) }
    }
    const b = second as Matrix
    return { rows: first.rows, cols: b.cols, data: matmulKernel(first.data, b.data, first.rows, first.cols, b.cols) }
  },
  split: matmulSplit,
  // The product, and every row block of it, is a new array.
  freshResults: true
}

/**
 * decimal(x): the decimal string of the integer x. Printing a huge integer
 * costs more than computing it (10^6! takes ~2 s to print, ~0.4 s to
 * compute), so it is a task the mesh splits: `mesh call` asks the mesh for
 * it, and blocks of digits are converted on different nodes.
 */
export const decimal: TaskDefinition = {
  name: 'decimal',
  description: 'the decimal digits of the integer x',
  params: [{ name: 'x', type: 'bigint' }],
  mode: 'pool',
  idempotent: true,
  run: (x: bigint): string => bigintToDecimal(x),
  split: decimalSplit
}

export const builtinTasks: Record<string, TaskDefinition> = { add, factorial, matmul, decimal }

/** Built-ins served along with another: a node serving factorial also prints its results (decimal). */
export const companionTasks: Record<string, string[]> = { factorial: ['decimal'] }

export default builtinTasks
