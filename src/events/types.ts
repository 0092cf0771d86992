/**
 * Task events as they travel the mesh (`@mesh/events`, src/events/protocol.ts)
 * and as the dashboard, `mesh top` and `mesh events` show them. Everything in
 * here came off the wire when it describes another node: render it as text.
 */

/**
 * sent, retried: the caller dispatched a job, or re-dispatched it after a
 * retryable failure. started, progress, succeeded, failed, cancelled: the
 * provider began, reported on, or finished running a call.
 */
export type TaskEventType = 'sent' | 'started' | 'progress' | 'succeeded' | 'failed' | 'retried' | 'cancelled'

export const TASK_EVENT_TYPES: readonly TaskEventType[] = ['sent', 'started', 'progress', 'succeeded', 'failed', 'retried', 'cancelled']

/** One peer's share of a split job, short. */
export interface ChunkShare {
  peer: string
  name: string
  chunks: number
  steals: number
}

export interface TaskEvent {
  type: TaskEventType
  /** The job id: the caller's for sent/retried, the provider's call id otherwise (the caller's on re-dispatches). */
  id: string
  task: string
  /** Peer id of the node that reports the event. */
  node: string
  /** The provider that runs (or was sent) the call. */
  peer: string
  /** The caller. */
  from: string
  /** Epoch ms. */
  time: number
  /** Run time so far or in all, ms (finished events). */
  ms?: number
  /** The arguments, shown short. */
  args?: string
  error?: { code: string, message: string }
  /** Split jobs: who ran chunks (progress and finished events). */
  chunks?: ChunkShare[]
  done?: number
  total?: number
}

export type JobState = 'running' | 'succeeded' | 'failed' | 'cancelled'

export const JOB_STATES: readonly JobState[] = ['running', 'succeeded', 'failed', 'cancelled']

/** A call as its provider ran it: the rows of the dashboard's job table. */
export interface JobRecord {
  id: string
  task: string
  state: JobState
  /** Provider (peer id) and caller. */
  peer: string
  from: string
  started: number
  ms?: number
  args: string
  error?: { code: string, message: string }
  chunks?: ChunkShare[]
  done?: number
  total?: number
}

/** What a node tells a new subscriber first: its jobs and totals so far. */
export interface ActivitySnapshot {
  node: string
  running: JobRecord[]
  recent: JobRecord[]
  totals: ActivityTotals
}

export interface ActivityTotals {
  served: number
  failed: number
  steals: number
}
