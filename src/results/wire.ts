import { decode } from '../codec.js'
import { BadArgumentError, ExpiredError, MeshError, errorFromWire } from '../errors.js'
import { FINAL_STATES, type JobRow, type StoredState } from '../store/journal.js'
import { holderHint, parseJobId } from './id.js'
import type { Settled } from './states.js'

/** The namespace of the internal calls of detached jobs, on the shared RPC channel. */
export const JOB_NAMESPACE = '@mesh/jobs'
export const JOB_ROUTES = {
  submit: '@mesh/jobs/submit',
  replicate: '@mesh/jobs/replicate',
  settled: '@mesh/jobs/settled',
  get: '@mesh/jobs/get',
  watch: '@mesh/jobs/watch',
  cancel: '@mesh/jobs/cancel',
  list: '@mesh/jobs/list'
} as const
export const ROUTE_NAMES = new Set<string>(Object.values(JOB_ROUTES))

/** What a holder says about a job. */
export interface JobSnapshot {
  id: string
  task: string
  state: StoredState
  /** The latest progress event of a running job. */
  progress?: unknown
  created: number
  finished?: number
  /** Whether the answering node runs it (`provider`) or keeps a copy (`replica`). */
  role: 'provider' | 'replica'
  holder: string
}

export interface DetachOptions {
  /** The job's own time limit over all attempts, in ms (default DEFAULT_DETACHED_TIMEOUT_MS). */
  timeout?: number
  retries?: number
  idempotent?: boolean
  /** Start no sooner than this (epoch ms): a countdown or eta, kept durably by `delays` (src/workflows/delays.ts). */
  eta?: number
}

/** Sent with a submit by a submitter that replicated the job itself (in parallel): the id it chose and the replica holding the copy. */
export interface Presubmitted { id: string, replica: string }

export function parseId (id: unknown): string {
  parseJobId(id)
  return id as string
}

export function asArgs (args: unknown): unknown[] {
  if (!Array.isArray(args)) throw new BadArgumentError('job arguments must be an array')
  return args
}

/** The answer a finished row gives: its result, or its error rebuilt. */
export function outcomeOf (row: JobRow): unknown {
  if (row.state === 'EXPIRED' || row.outcome === null) {
    throw new ExpiredError(`the result of job ${row.id} is no longer kept (expired or pushed out by newer results)`)
  }
  const value = decode(row.outcome)
  if (row.state === 'SUCCESS') return value
  const err = errorFromWire(value)
  throw err instanceof MeshError ? err : new MeshError('TASK_FAILED', String(value))
}

/** The states a provider may tell a replica of a job still running. */
const RUNNING_STATES: ReadonlySet<unknown> = new Set(['PENDING', 'STARTED', 'PROGRESS', 'RETRY'])

/** A provider's batch of changes (`[id, state, outcome or progress]` each), checked: BAD_ARGUMENT if any is malformed. */
export function parseChanges (entries: unknown[]): Settled[] {
  return entries.map((entry) => {
    if (!Array.isArray(entry)) throw new BadArgumentError('malformed outcome')
    const [id, state, bytes] = entry as [unknown, StoredState, unknown]
    parseId(id)
    if (!FINAL_STATES.has(state) && !RUNNING_STATES.has(state)) throw new BadArgumentError(`not a job state: ${String(state)}`)
    return [id as string, state, bytes instanceof Uint8Array ? bytes : null]
  })
}

/**
 * The row a holder journals for a copy sent by `from` (see keepReplica in
 * service.ts): BAD_ARGUMENT when it is malformed or, for a copy at submit,
 * when its id does not name its provider and this node (`self`). A moved copy
 * keeps the job's running state and progress, or its outcome if it finished.
 */
export function copyOf (row: JobRow, from: string, moved: boolean, self: string, idempotentOf: (task: string, provider: string) => boolean): JobRow {
  if (row == null || typeof row !== 'object' || typeof row.task !== 'string') throw new BadArgumentError('malformed replica')
  const provider = moved || typeof row.peer !== 'string' ? from : row.peer
  const parsed = parseJobId(row.id)
  if (!moved && (parsed.provider !== holderHint(provider) || parsed.replica !== holderHint(self))) throw new BadArgumentError('the job id does not name its provider and this node')
  const idempotent = typeof row.idempotent === 'boolean' ? row.idempotent : idempotentOf(row.task, provider)
  const copy: JobRow = { ...row, idempotent, role: 'replica', peer: provider, state: 'PENDING', finished: null, outcome: null, progress: null }
  if (!moved) return copy
  if (typeof row.finished === 'number') {
    if (!FINAL_STATES.has(row.state) || row.state === 'EXPIRED') throw new BadArgumentError(`a finished copy in state ${String(row.state)}`)
    return { ...copy, args: null, state: row.state, finished: row.finished, outcome: row.outcome instanceof Uint8Array ? row.outcome : null }
  }
  if (RUNNING_STATES.has(row.state)) copy.state = row.state
  if (row.progress instanceof Uint8Array) copy.progress = row.progress
  return copy
}
