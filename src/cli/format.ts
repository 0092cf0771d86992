import type { Matrix } from '../tasks/types.js'
import { matrixToRows } from '../tasks/params.js'

/**
 * The CLI's rendering of results. It imports no task kernel: a huge integer
 * is printed by the mesh (the decimal task, see commands/call.ts), so here
 * V8's own toString is enough (matrixToRows is the public API's).
 */

function isMatrix (v: unknown): v is Matrix {
  return v != null && typeof v === 'object' && (v as Matrix).data instanceof Float64Array &&
    typeof (v as Matrix).rows === 'number' && typeof (v as Matrix).cols === 'number'
}

/** JSON with bigints as decimal strings, typed arrays as arrays and matrices as rows. */
export function toJson (value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === 'bigint') return v.toString()
    if (isMatrix(v)) return matrixToRows(v)
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>)
    return v
  }, indent)
}

/** A result as the CLI prints it: integers in decimal, strings bare, the rest JSON. */
export function renderResult (value: unknown): string {
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (typeof value === 'string') return value
  if (value === undefined) return ''
  if (isMatrix(value)) return toJson(matrixToRows(value))
  return toJson(value)
}

/** A plain left-aligned text table. */
export function table (header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells.map((c, i) => (c ?? '').padEnd(widths[i])).join('  ').trimEnd()
  return [line(header), line(widths.map(w => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

export function shortId (peerId: string): string {
  return peerId.length > 16 ? `${peerId.slice(0, 6)}…${peerId.slice(-6)}` : peerId
}
