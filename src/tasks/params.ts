import { BadArgumentError } from '../errors.js'
import type { Matrix, ParamSpec, ParamType } from './types.js'

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (value instanceof Uint8Array) return 'bytes'
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`
  if (typeof value === 'number' || typeof value === 'bigint') return `${typeof value} ${String(value)}`
  return typeof value
}

/** Accept a Matrix or number[][] and return a Matrix; anything else throws. */
export function toMatrix (value: unknown, what: string): Matrix {
  if (value != null && typeof value === 'object' && !Array.isArray(value)) {
    const m = value as Partial<Matrix>
    if (m.data instanceof Float64Array && Number.isSafeInteger(m.rows) && Number.isSafeInteger(m.cols) &&
        (m.rows as number) > 0 && (m.cols as number) > 0 && m.data.length === (m.rows as number) * (m.cols as number)) {
      return m as Matrix
    }
    throw new BadArgumentError(`${what} must be a matrix {rows, cols, data: Float64Array} with rows×cols elements`)
  }
  if (!Array.isArray(value) || value.length === 0 || !Array.isArray(value[0]) || value[0].length === 0) {
    throw new BadArgumentError(`${what} must be a matrix: a non-empty array of equal-length number rows, got ${describe(value)}`)
  }
  const rows = value.length
  const cols = (value[0] as unknown[]).length
  const data = new Float64Array(rows * cols)
  for (let i = 0; i < rows; i++) {
    const row = value[i]
    if (!Array.isArray(row) || row.length !== cols) throw new BadArgumentError(`${what} row ${i} does not have ${cols} columns`)
    for (let j = 0; j < cols; j++) {
      const x = row[j]
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new BadArgumentError(`${what}[${i}][${j}] is not a finite number`)
      data[i * cols + j] = x
    }
  }
  return { rows, cols, data }
}

/** The rows of a matrix as plain arrays, for printing as JSON. */
export function matrixToRows (m: Matrix): number[][] {
  const rows: number[][] = []
  for (let i = 0; i < m.rows; i++) rows.push(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)))
  return rows
}

function checkOne (type: ParamType, value: unknown, what: string): unknown {
  const fail = (expected: string): never => { throw new BadArgumentError(`${what} must be ${expected}, got ${describe(value)}`) }
  switch (type) {
    case 'any': return value
    case 'number': return typeof value === 'number' && Number.isFinite(value) ? value : fail('a finite number')
    case 'numeric':
      return typeof value === 'bigint' || (typeof value === 'number' && Number.isFinite(value)) ? value : fail('a number or bigint')
    case 'integer':
      return typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value)) ? value : fail('an integer')
    case 'bigint':
      if (typeof value === 'bigint') return value
      return typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : fail('an integer')
    case 'string': return typeof value === 'string' ? value : fail('a string')
    case 'boolean': return typeof value === 'boolean' ? value : fail('a boolean')
    case 'bytes': return value instanceof Uint8Array ? value : fail('bytes')
    case 'matrix': return toMatrix(value, what)
  }
}

/** Check the count and types of `args` against `params`; returns the normalised arguments. */
export function checkParams (task: string, params: ParamSpec[], args: unknown[]): unknown[] {
  const required = params.filter(p => p.optional !== true).length
  if (args.length < required || args.length > params.length) {
    const expected = required === params.length ? `${required}` : `${required} to ${params.length}`
    throw new BadArgumentError(`${task} takes ${expected} argument${params.length === 1 ? '' : 's'} (${formatParams(params)}), got ${args.length}`)
  }
  return args.map((value, i) => checkOne(params[i].type, value, `${task}: ${params[i].name}`))
}

export function formatParams (params: ParamSpec[] | undefined): string {
  if (params === undefined) return '...args'
  return params.map(p => `${p.name}${p.optional === true ? '?' : ''}: ${p.type}`).join(', ')
}
