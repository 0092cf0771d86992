import { decode } from '../codec.js'
import { BadArgumentError, ExpiredError, MeshError, errorFromWire } from '../errors.js'
import type { JobRow, StoredState } from '../store/journal.js'
import { parseJobId } from './id.js'

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
