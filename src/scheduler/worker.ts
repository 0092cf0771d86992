import { readFileSync } from 'node:fs'
import { workerData } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { MOVE_MIN_BYTES } from '../constants.js'
import { tasksOfModule } from '../tasks/module.js'
import type { SplitSpec } from '../tasks/types.js'

/**
 * A worker thread of the pool. It imports the same task modules as the node
 * (only those: module URLs come from the node's own configuration, never off
 * the wire) and runs tasks by name.
 */
const runs = new Map<string, (...args: any[]) => unknown>()
const splits = new Map<string, SplitSpec>()
/** Tasks whose results are fresh (TaskDefinition.freshResults): their buffers move to the node, uncopied. */
const fresh = new Set<string>()
for (const url of (workerData?.modules ?? []) as string[]) {
  for (const [name, def] of tasksOfModule(await import(url))) {
    runs.set(name, def.run)
    if (def.split !== undefined) splits.set(name, def.split)
    if (def.freshResults === true) fresh.add(name)
  }
}

/** The buffers of a fresh result's typed arrays (it, or its own fields), not shared and worth moving. */
function ownBuffers (value: unknown): ArrayBuffer[] {
  const out: ArrayBuffer[] = []
  const add = (v: unknown): void => {
    if (ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer && v.byteLength >= MOVE_MIN_BYTES && !out.includes(v.buffer)) out.push(v.buffer)
  }
  if (ArrayBuffer.isView(value)) add(value)
  else if (value !== null && typeof value === 'object' && !Array.isArray(value)) for (const v of Object.values(value)) add(v)
  return out
}

/** A result handed to piscina: moved (its buffers transferred) when the task's results are fresh. */
async function handOver (task: string, result: unknown): Promise<unknown> {
  const value = await result
  if (!fresh.has(task)) return value
  const buffers = ownBuffers(value)
  if (buffers.length === 0) return value
  return Piscina.move({ [Piscina.transferableSymbol]: buffers, [Piscina.valueSymbol]: value } as any)
}

export interface WorkerJob {
  task: string
  args: unknown[]
  /** Run one chunk of a split job (args: [chunk, shared]) or merge its partials (args: [partials, shared, callArgs]). */
  op?: 'chunk' | 'merge' | 'combine'
  /** Run the op (a chunk, a combination, a merge) at this fraction of full speed (0 < f < 1): a simulated slower machine (`--throttle`). */
  throttle?: number
}

/** This thread's CPU time in ms (Linux: /proc/thread-self/schedstat, ns resolution); undefined elsewhere. */
function threadCpuMs (): number | undefined {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e6
  } catch {
    return undefined
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4))


/**
 * An op (chunk, combination, merge) on a core `throttle` times as fast, of a machine of its own: it
 * ends cpu / throttle after it started, cpu being the chunk's own CPU time
 * (its wall time where that is not available), this thread blocking for
 * what is left after the chunk. Only the compute is slowed: the node's event
 * loop and transfers run at full speed, and time spent here waiting for one
 * of this machine's cores (which a machine of its own would not) is inside
 * the slowdown, not added to it, until it exceeds it.
 */
async function throttled (throttle: number, run: () => unknown): Promise<unknown> {
  const cpu0 = threadCpuMs()
  const wall0 = performance.now()
  const out = await run()
  const wall = performance.now() - wall0
  const cpu1 = cpu0 === undefined ? undefined : threadCpuMs()
  const cpu = cpu1 === undefined || cpu0 === undefined ? wall : cpu1 - cpu0
  // A reading that is not a number must not become an endless wait (Atomics.wait takes NaN as forever).
  const pause = cpu / throttle - wall
  if (Number.isFinite(pause) && pause > 0) Atomics.wait(sleeper, 0, 0, pause)
  return out
}

function splitOp (split: SplitSpec, op: NonNullable<WorkerJob['op']>, args: unknown[]): unknown {
  if (op === 'chunk') return split.runChunk(args[0], args[1])
  if (op === 'combine' && split.combine !== undefined) return split.combine(args[0], args[1])
  return split.merge(args[0] as unknown[], args[1], args[2] as unknown[])
}

export default function runTask (job: WorkerJob): unknown {
  return handOver(job.task, execute(job))
}

function execute ({ task, args, op, throttle }: WorkerJob): unknown {
  if (op !== undefined) {
    const split = splits.get(task)
    if (split === undefined) throw new Error(`worker has no splittable task "${task}"`)
    const compute = (): unknown => splitOp(split, op, args)
    // A node's combinations and merges are its compute too: a slow machine runs them slowly as well.
    return throttle !== undefined && throttle < 1 ? throttled(throttle, compute) : compute()
  }
  const run = runs.get(task)
  if (run === undefined) throw new Error(`worker has no task "${task}"`)
  return run(...args)
}
