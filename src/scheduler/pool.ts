import { cpus } from 'node:os'
import { Piscina } from 'piscina'
import { srcModule } from '../paths.js'
import type { WorkerJob } from './worker.js'

/** Leave one core to the event loop so the node keeps answering while busy. */
export function defaultWorkerCount (): number {
  return Math.max(1, cpus().length - 1)
}

/** The worker threads that run CPU-heavy tasks. */
export class WorkerPool {
  private readonly piscina: Piscina
  private active = 0

  constructor (readonly workers: number, modules: string[]) {
    this.piscina = new Piscina({
      filename: srcModule('scheduler/worker.js').href,
      minThreads: workers,
      maxThreads: workers,
      idleTimeout: Infinity,
      workerData: { modules }
    })
  }

  /** Run a task on a worker. Aborting the signal terminates the worker running it. */
  async run (task: string, args: unknown[], signal?: AbortSignal): Promise<unknown> {
    this.active++
    try {
      const job: WorkerJob = { task, args }
      return await this.piscina.run(job, signal === undefined ? undefined : { signal })
    } finally {
      this.active--
    }
  }

  /** Run one chunk of a split job, or its merge, on a worker (see WorkerJob.op and .throttle). */
  async runOp (op: 'chunk' | 'merge' | 'combine', task: string, args: unknown[], signal?: AbortSignal, throttle?: number): Promise<unknown> {
    this.active++
    try {
      const job: WorkerJob = throttle !== undefined && throttle < 1 ? { task, args, op, throttle } : { task, args, op }
      return await this.piscina.run(job, signal === undefined ? undefined : { signal })
    } finally {
      this.active--
    }
  }

  /** Jobs started or waiting, and how many of them wait for a thread. */
  get load (): { running: number, queued: number } {
    const queued = this.piscina.queueSize
    return { running: Math.max(0, this.active - queued), queued }
  }

  async destroy (): Promise<void> {
    await this.piscina.destroy()
  }
}
