import { EVENT_ARGS_CHARS } from '../constants.js'
import { JOB_STATES, TASK_EVENT_TYPES, type ActivitySnapshot, type ChunkShare, type JobRecord, type TaskEvent } from './types.js'

/**
 * Events and snapshots come from other nodes: each field is checked and
 * strings are cut short, so a hostile peer can neither break the views nor
 * grow them. (Rendering them as text, never as markup, is the views' part.)
 */
const MAX_STRING = 200
const MAX_MESSAGE = 500
const MAX_CHUNK_PEERS = 64

const str = (v: unknown, max = MAX_STRING): string | undefined => typeof v === 'string' ? (v.length > max ? v.slice(0, max) + '…' : v) : undefined
const num = (v: unknown): number | undefined => typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined

function error (v: unknown): { code: string, message: string } | undefined {
  if (v == null || typeof v !== 'object') return undefined
  const e = v as Record<string, unknown>
  return { code: str(e.code, 40) ?? 'ERROR', message: str(e.message, MAX_MESSAGE) ?? '' }
}

function chunks (v: unknown): ChunkShare[] | undefined {
  if (!Array.isArray(v)) return undefined
  return v.slice(0, MAX_CHUNK_PEERS).filter(c => c != null && typeof c === 'object').map((c: Record<string, unknown>) => ({
    peer: str(c.peer) ?? '', name: str(c.name) ?? '', chunks: num(c.chunks) ?? 0, steals: num(c.steals) ?? 0
  }))
}

/** A task event reported by `node`; undefined if malformed. Provider-side events are pinned to the node that sent them. */
export function checkEvent (v: unknown, node: string): TaskEvent | undefined {
  if (v == null || typeof v !== 'object') return undefined
  const e = v as Record<string, unknown>
  const type = TASK_EVENT_TYPES.find(t => t === e.type)
  const id = str(e.id, 80)
  const task = str(e.task)
  if (type === undefined || id === undefined || task === undefined) return undefined
  const callerSide = type === 'sent' || type === 'retried'
  const event: TaskEvent = {
    type, id, task, node,
    peer: callerSide ? str(e.peer) ?? '' : node,
    from: callerSide ? node : str(e.from) ?? '',
    time: num(e.time) ?? Date.now(),
    args: str(e.args, EVENT_ARGS_CHARS + 1)
  }
  const ms = num(e.ms)
  if (ms !== undefined) event.ms = ms
  const err = error(e.error)
  if (err !== undefined) event.error = err
  const c = chunks(e.chunks)
  if (c !== undefined) { event.chunks = c; event.done = num(e.done); event.total = num(e.total) }
  return event
}

/** A job record in a snapshot from `node`. */
export function checkJob (v: unknown, node: string): JobRecord | undefined {
  if (v == null || typeof v !== 'object') return undefined
  const j = v as Record<string, unknown>
  const state = JOB_STATES.find(s => s === j.state)
  const id = str(j.id, 80)
  const task = str(j.task)
  if (state === undefined || id === undefined || task === undefined) return undefined
  const job: JobRecord = { id, task, state, peer: node, from: str(j.from) ?? '', started: num(j.started) ?? 0, args: str(j.args, EVENT_ARGS_CHARS + 1) ?? '' }
  const ms = num(j.ms)
  if (ms !== undefined) job.ms = ms
  const err = error(j.error)
  if (err !== undefined) job.error = err
  const c = chunks(j.chunks)
  if (c !== undefined) { job.chunks = c; job.done = num(j.done); job.total = num(j.total) }
  return job
}

export function checkSnapshot (v: unknown, node: string): ActivitySnapshot | undefined {
  if (v == null || typeof v !== 'object') return undefined
  const s = v as Record<string, unknown>
  const list = (x: unknown): JobRecord[] => Array.isArray(x) ? x.slice(-1000).map(j => checkJob(j, node)).filter(j => j !== undefined) : []
  const t = (s.totals ?? {}) as Record<string, unknown>
  return { node, running: list(s.running), recent: list(s.recent), totals: { served: num(t.served) ?? 0, failed: num(t.failed) ?? 0, steals: num(t.steals) ?? 0 } }
}
