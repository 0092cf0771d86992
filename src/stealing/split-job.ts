import { randomBytes } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import type { IncomingCall } from '../rpc/channel.js'
import type { LoadedTask, SplitSpec } from '../tasks/types.js'
import type { RunCombiner } from './combine.js'
import type { JobShape } from './policy.js'
import type { PeerShare } from './types.js'

/** Chunks given to one thief in one work call. */
export interface Assignment {
  id: number
  peer: string
  /** Chunks given to the peer and not yet returned, in the order it runs them. */
  pending: Set<number>
  /** When the work was sent, and the cost the peer has returned since: its effective speed. */
  sent: number
  doneCost: number
  /** When its first partial arrived, less that chunk's compute time: its speed is measured from there, not counting the start-up transfer. */
  firstStart?: number
}

/** A split call this node owns: its chunks, its deque, its partials and who holds what. */
export class SplitJob implements JobShape {
  readonly id = randomBytes(8).toString('hex')
  readonly deque: number[]
  readonly partials: unknown[]
  /** Chunks the split made (combinations run as chunks come after them). */
  readonly leaves: number
  done = 0
  finished = false
  reclaiming = false
  readonly assignments = new Map<number, Assignment>()
  readonly shares = new Map<string, PeerShare>()
  readonly controller = new AbortController()
  readonly started = performance.now()
  lastReport = 0
  /** The caller assembles the result: each partial goes to it as it finishes and is not kept here. */
  streaming = false
  /** Where thieves send their partials of a streamed job themselves: the caller and its attempt's inbox. */
  deliver?: { peer: string, inbox: string }
  /** Partials combined pairwise as they arrive (SplitSpec.combine), when the result is not streamed. */
  combiner?: RunCombiner
  /** Chunks that are combinations (SplitSpec.combineChunk): their partial goes to the combination waiting for it. */
  readonly combinations = new Map<number, (partial: unknown) => void>()
  /** The owner's runners waiting for work (none left in the deque). */
  idleRunners = 0
  /** Chunks added by combinations split in parts (SplitCombination): each is its parts besides its join. */
  extra = 0
  private waiters: Array<() => void> = []

  constructor (
    readonly call: IncomingCall,
    readonly task: LoadedTask,
    readonly spec: SplitSpec,
    readonly chunks: Array<{ data: unknown, cost: number, bytes?: number }>,
    readonly shared: unknown,
    readonly localShared: unknown,
    readonly sharedBytes: number
  ) {
    this.deque = chunks.map((_, i) => i)
    this.leaves = chunks.length
    this.partials = new Array(chunks.length)
    // Every chunk, combination and work call in flight listens on it.
    setMaxListeners(0, this.controller.signal)
  }

  get taskName (): string { return this.task.name }
  get total (): number { return this.chunks.length }
  /**
   * The chunks progress counts: the split's own, and the combinations still
   * to be queued when they run as chunks (a balanced pairwise tree over n
   * runs makes n − popcount(n)), so a progress bar's total grows only by
   * the parts of combinations split further (SplitCombination).
   */
  get planned (): number {
    if (this.spec.combineChunk === undefined || this.combiner === undefined) return this.total
    let leaves = this.leaves
    let ones = 0
    while (leaves > 0) { ones += leaves & 1; leaves >>>= 1 }
    return 2 * this.leaves - ones + this.extra
  }

  share (peer: string, name: string): PeerShare {
    let s = this.shares.get(peer)
    if (s === undefined) {
      s = { peer, name, chunks: 0, steals: 0, ms: 0, returned: 0, reclaimed: 0, direct: 0 }
      this.shares.set(peer, s)
    }
    return s
  }

  async wait (): Promise<void> {
    if (this.controller.signal.aborted) return
    await new Promise<void>((resolve) => { this.waiters.push(resolve) })
  }

  wake (): void {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }
}
