import type { TaskDefinition } from '../src/tasks/types.js'

/**
 * The tasks of the bulk-transfer figure (bench/bulk.ts), served by a
 * `mesh node --serve dist/bench/bulk-tasks.js` process and by the floor
 * server alike. Inline: the figure is the data plane, not a worker hand-off.
 */

/** 32 MiB of doubles, the "32 MB Float64Array". */
export const BULK_DOUBLES = 4 * 1024 * 1024

let made: Float64Array | undefined

/** One array of `n` doubles, made once (the figure must not time an allocation). */
export function bulkArray (n: number): Float64Array {
  if (made?.length !== n) {
    made = new Float64Array(n)
    for (let i = 0; i < n; i++) made[i] = i * 0.5
  }
  return made
}

const bulkTasks: Record<string, TaskDefinition> = {
  /** Receive the array, answer its size: times the way to the peer. */
  sink: { params: [{ name: 'data', type: 'any' }], mode: 'inline', run: (data: Float64Array) => data.byteLength },
  /** Answer an array of n doubles: times the way back. */
  source: { params: [{ name: 'n', type: 'integer' }], mode: 'inline', run: (n: number) => bulkArray(n) },
  /** The array there and back in one call. */
  echo: { params: [{ name: 'data', type: 'any' }], mode: 'inline', run: (data: Float64Array) => data }
}

export default bulkTasks
