import { workerData } from 'node:worker_threads'
import { tasksOfModule } from '../tasks/module.js'
import type { SplitSpec } from '../tasks/types.js'

/**
 * A worker thread of the pool. It imports the same task modules as the node
 * (only those: module URLs come from the node's own configuration, never off
 * the wire) and runs tasks by name.
 */
const runs = new Map<string, (...args: any[]) => unknown>()
const splits = new Map<string, SplitSpec>()
for (const url of (workerData?.modules ?? []) as string[]) {
  for (const [name, def] of tasksOfModule(await import(url))) {
    runs.set(name, def.run)
    if (def.split !== undefined) splits.set(name, def.split)
  }
}

export interface WorkerJob {
  task: string
  args: unknown[]
  /** Run one chunk of a split job (args: [chunk, shared]) or merge its partials (args: [partials, shared, callArgs]). */
  op?: 'chunk' | 'merge' | 'combine'
}

export default function runTask ({ task, args, op }: WorkerJob): unknown {
  if (op !== undefined) {
    const split = splits.get(task)
    if (split === undefined) throw new Error(`worker has no splittable task "${task}"`)
    if (op === 'chunk') return split.runChunk(args[0], args[1])
    if (op === 'combine' && split.combine !== undefined) return split.combine(args[0], args[1])
    return split.merge(args[0] as unknown[], args[1], args[2] as unknown[])
  }
  const run = runs.get(task)
  if (run === undefined) throw new Error(`worker has no task "${task}"`)
  return run(...args)
}
