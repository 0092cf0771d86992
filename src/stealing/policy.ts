import { STEAL_ASSUMED_BYTES_PER_MS, STEAL_ROUND_TRIP_MS } from '../constants.js'
import { chunkBytes } from './protocol.js'

/** What the policy needs to know of a job: its task, its chunks and the size of its shared data. */
export interface JobShape {
  taskName: string
  chunks: ReadonlyArray<{ data: unknown, cost: number, bytes?: number }>
  sharedBytes: number
}

/**
 * The decisions of work stealing that rest on measured speeds: Dask's rule
 * (a steal must pay) and how many unstarted chunks an idle owner takes back
 * from a thief. The node's own compute speed is learnt per task from its
 * chunks; the transfer speed from each batch's first partial.
 */
export class StealPolicy {
  /** ms per work unit of each task, measured on this node's chunks. */
  private readonly msPerCost = new Map<string, number>()
  /** Transfer speed to thieves, measured on each batch's first partial (starts from a conservative guess). */
  private bytesPerMs = STEAL_ASSUMED_BYTES_PER_MS

  rate (task: string): number | undefined {
    return this.msPerCost.get(task)
  }

  learn (task: string, cost: number, ms: number): void {
    if (ms <= 0 || cost <= 0) return
    const rate = ms / cost
    const old = this.msPerCost.get(task)
    this.msPerCost.set(task, old === undefined ? rate : 0.7 * old + 0.3 * rate)
  }

  /** A batch's first partial came back: `bytes` moved in `ms` besides its compute time. */
  measureTransfer (bytes: number, ms: number): void {
    if (ms > 0) this.bytesPerMs = 0.5 * this.bytesPerMs + 0.5 * (bytes / ms)
  }

  /**
   * Dask's rule: hand chunks to another node only when computing them takes
   * longer than moving them (their data, the shared data if the thief lacks
   * it, and a round trip). Until a chunk of the task has been timed here the
   * steal is allowed.
   */
  pays (job: JobShape, idxs: number[], thiefHasShared: boolean): boolean {
    const rate = this.msPerCost.get(job.taskName)
    if (rate === undefined) return true
    let cost = 0
    let bytes = thiefHasShared ? 0 : job.sharedBytes
    for (const i of idxs) {
      cost += job.chunks[i].cost
      bytes += chunkBytes(job.chunks[i])
    }
    return cost * rate > bytes / this.bytesPerMs + STEAL_ROUND_TRIP_MS
  }

  /**
   * How many chunks to take back from the back of a thief's queue `order`
   * (the first `thiefWorkers` are running), so that the owner finishes what
   * it takes no later than the thief finishes the rest. `thiefRate` and
   * `ownRate` are ms per cost unit of one worker. Returns the count and how
   * long the thief would need for all it holds.
   */
  reclaimable (job: JobShape, order: number[], thiefWorkers: number, thiefRate: number, ownRate: number, ownWorkers: number): { take: number, leftMs: number } {
    const left = order.reduce((n, i) => n + job.chunks[i].cost, 0)
    let take = 0
    let takenCost = 0
    for (let k = order.length - 1; k >= thiefWorkers; k--) {
      const cost = job.chunks[order[k]].cost
      if ((takenCost + cost) * ownRate / ownWorkers > (left - takenCost - cost) * thiefRate / thiefWorkers) break
      take++
      takenCost += cost
    }
    return { take, leftMs: left * thiefRate / thiefWorkers }
  }
}
