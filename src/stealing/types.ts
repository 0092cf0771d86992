import type { Registry } from '../registry/registry.js'
import type { CallOptions } from '../rpc/channel.js'
import type { WorkerPool } from '../scheduler/pool.js'
import type { LoadedTask, TaskLimits } from '../tasks/types.js'

export interface StealOptions {
  /** Cut every split job into this many chunks (tests use it for small, many chunks); default: by peers serving the task. */
  chunks?: number
  /** Split calls whose cost is at least this, instead of the task's own threshold (tests, benchmarks). */
  threshold?: number
  /** Split even when no peer serves the task (default: such a call runs whole, which is faster alone). */
  splitAlone?: boolean
  /** Run chunks at this fraction of full speed (0 < f ≤ 1) by sleeping after each: simulates a slow node. */
  throttle?: number
  /** Take chunks back from a thief silent this long, ms (default STEAL_SILENCE_MS; tests shorten it). */
  silenceMs?: number
}

/** One peer's share of a job, as progress and --stats report it. */
export interface PeerShare {
  peer: string
  name: string
  /** Chunks this peer computed. */
  chunks: number
  /** Successful steals by this peer from this job. */
  steals: number
  /** Compute time of its chunks, ms (as the peer measured it). */
  ms: number
  /** Chunks taken back because it died, stalled or failed: they were done elsewhere. */
  returned: number
  /** Unstarted chunks the owner took back from it to run itself (it was slower or had more left). */
  reclaimed: number
  /** Of its chunks, those whose result it sent straight to the caller (not through the owner). */
  direct: number
  /** Of its chunks, the combinations of other chunks' partials (SplitSpec.combineChunk) it ran. */
  combined?: number
}

/** The data of a progress event of a split job. */
export interface JobProgress {
  job: string
  task: string
  done: number
  total: number
  elapsedMs: number
  peers: PeerShare[]
  final?: boolean
}

/** What the stealing service needs from its node. */
export interface StealHost {
  peerId: string
  tasks: Map<string, LoadedTask>
  pool: WorkerPool
  registry: Registry
  limits: TaskLimits
  call: (peer: string, name: string, args: unknown[], options: CallOptions) => Promise<unknown>
}
