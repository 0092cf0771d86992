import { workerData } from 'node:worker_threads'
import { tasksOfModule } from '../tasks/module.js'

/**
 * A worker thread of the pool. It imports the same task modules as the node
 * (only those: module URLs come from the node's own configuration, never off
 * the wire) and runs tasks by name.
 */
const runs = new Map<string, (...args: any[]) => unknown>()
for (const url of (workerData?.modules ?? []) as string[]) {
  for (const [name, def] of tasksOfModule(await import(url))) runs.set(name, def.run)
}

export interface WorkerJob {
  task: string
  args: unknown[]
}

export default function runTask ({ task, args }: WorkerJob): unknown {
  const run = runs.get(task)
  if (run === undefined) throw new Error(`worker has no task "${task}"`)
  return run(...args)
}
