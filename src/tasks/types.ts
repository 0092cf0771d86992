import type { PartsShape } from '../stealing/parts.js'

/** The type of one task argument, checked before the task runs. */
export type ParamType =
  | 'number' // any finite number
  | 'integer' // a safe integer number, or a bigint
  | 'bigint' // a bigint (an integer number is converted)
  | 'numeric' // a finite number or a bigint
  | 'string'
  | 'boolean'
  | 'matrix' // a Matrix or an array of equal-length number rows
  | 'bytes' // a Uint8Array
  | 'any'

export interface ParamSpec {
  name: string
  type: ParamType
  optional?: boolean
}

/** A dense row-major matrix of doubles: the wire form of every matrix. */
export interface Matrix {
  rows: number
  cols: number
  data: Float64Array
}

/** Size limits the built-in tasks enforce; a node can raise or lower each. */
export interface TaskLimits {
  maxFactorialN: number
  maxMatrixDim: number
  maxMatrixElements: number
}

/**
 * A task a node can serve. `run` is plain code; mesh checks the arguments
 * against `params` (and `validate`) before it runs, on the provider.
 */
export interface TaskDefinition {
  /** Filled in from the key when tasks come as a `{ name: definition }` map. */
  name?: string
  description?: string
  /** One entry per argument. Without it, any arguments are accepted. */
  params?: ParamSpec[]
  /** Checks beyond the types, and normalisation; throw BadArgumentError or LimitExceededError. */
  validate?: (args: unknown[], limits: TaskLimits) => unknown[]
  /**
   * Where it runs: 'pool' (the default for tasks loaded from a module) on a
   * worker thread, so the node keeps answering; 'inline' on the event loop,
   * for work too small to be worth a thread hop. A task given as an in-memory
   * function (not from a module) can only run inline.
   */
  mode?: 'inline' | 'pool'
  /**
   * True when running the task twice is harmless (a pure function). Then a
   * caller whose provider died or hung mid-call re-runs it elsewhere
   * (at-least-once); otherwise such a call fails with PEER_GONE. Advertised
   * in the registry. Default false; the built-ins are pure and say true.
   */
  idempotent?: boolean
  run: (...args: any[]) => unknown
  /**
   * At most this many starts per node: `'100/m'`, `'10/s'`, `'5/h'` (Celery's
   * rate_limit). Calls over it wait their turn, evenly spaced; none is dropped.
   */
  rateLimit?: string
  /** Makes the task splittable: heavy calls are cut into chunks that idle peers steal (docs/work-stealing.md). */
  split?: SplitSpec
  /**
   * Every result (and chunk partial) is a fresh value the task keeps no
   * reference to: the worker thread then hands the memory of its typed arrays
   * (the value itself, or its own fields) to the node instead of copying it.
   * A task that returns an array it also keeps must leave this unset: the
   * worker's copy would be detached.
   */
  freshResults?: boolean
}

/** One piece of a split call: its data, and its cost in the task's own work units. */
export interface ChunkSpec<C = any> {
  data: C
  cost: number
  /** Bytes of `data` on the wire, when known (else measured: a walk of the data, which for megabyte integers is itself a copy). */
  bytes?: number
}

/** What the owner tells `split`: how many chunks it would like, and how many nodes (itself included) serve the task. */
export interface SplitHint {
  chunks: number
  peers?: number
}

/**
 * How a splittable task cuts a heavy call into chunks, runs a chunk, and
 * merges the partial results. `runChunk` runs on a worker thread of whichever
 * node holds the chunk (the owner or a thief), so a splittable task must come
 * from a module (or be a built-in) for other nodes and threads to run it.
 */
export interface SplitSpec<C = any, S = any, P = any, R = any> {
  /** Work units of a whole call (e.g. multiply-adds); calls below `threshold` run whole. */
  cost: (args: any[]) => number
  threshold: number
  /**
   * Cut the (validated) call into chunks, in result order, about `hint.chunks`
   * of them. `shared` is data every chunk needs (matmul's B): it is sent to a
   * thief once per job, not once per chunk. Runs on the owner's event loop.
   */
  split: (args: any[], limits: TaskLimits, hint: SplitHint) => { shared?: S, chunks: Array<ChunkSpec<C>> }
  /** Compute one chunk. Runs on a worker thread, on any node serving the task. */
  runChunk: (chunk: C, shared: S) => P
  /** Combine every partial (in chunk order) into the call's result. Runs on the owner. */
  merge: (partials: P[], shared: S, args: any[]) => R
  /**
   * The result is its partials put together in chunk order (strings
   * concatenated, or Float64Arrays stacked into a field of an object): then
   * a caller that can assemble receives each partial as it finishes instead
   * of the merged result at the end, and the transfer overlaps the compute.
   */
  parts?: (shared: S, args: any[]) => PartsShape
  /**
   * Combine the partials of two adjacent runs of chunks into the partial of
   * both (associative: merge of the combined runs equals merge of every
   * partial). With it the owner combines partials pairwise, as a balanced
   * tree in chunk order, on its worker while chunks still run, and the final
   * merge only joins what is left (factorial: products of ranges).
   */
  combine?: (left: P, right: P) => P
  /**
   * Run each combination as a chunk of the job instead of on the owner's
   * worker: the chunk's data (which runChunk must accept besides the split's
   * own chunks) and cost for combining `left` and `right`. The owner queues
   * it at the front of its deque, so it runs next on whichever node is free,
   * thieves included: the tree's levels then spread over the nodes, where the
   * owner alone ran them one after another (for factorial(10^6) in 64 chunks
   * the tree is about twice the work of the chunks).
   */
  combineChunk?: (left: P, right: P, hint: SplitHint) => ChunkSpec<C> | SplitCombination<C, P>
  /** Where merge runs: 'pool' (a worker thread, the default) or 'inline' (cheap merges: no copy to a thread). */
  mergeOn?: 'pool' | 'inline'
}

/**
 * A combination too big for one chunk (SplitSpec.combineChunk): `parts`
 * run as chunks anywhere at once, then `join` of their partials (in order)
 * is one more chunk, whose partial is the combination's.
 */
export interface SplitCombination<C = any, P = any> {
  parts: Array<ChunkSpec<C>>
  join: (partials: P[]) => ChunkSpec<C>
}

/** A task definition as the node holds it: named, and with the module it came from. */
export interface LoadedTask extends TaskDefinition {
  name: string
  /** URL of the module that exports it, so a worker thread can import it too. */
  module?: string
  mode: 'inline' | 'pool'
}
