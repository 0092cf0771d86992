import type { WireError } from '../errors.js'

/**
 * The RPC envelope. Every frame on an RPC stream is one of these, encoded as
 * a MessagePack array whose first element is the kind: arrays, not maps,
 * because the `add` round trip is dominated by per-frame overhead.
 */
export const enum Kind {
  /** [Request, id, task, args, meta] — run `task` with `args`. */
  Request = 1,
  /** [Result, id, value] — the call succeeded. */
  Result = 2,
  /** [Error, id, {code, message, retryable, data}] — the call failed. */
  Error = 3,
  /** [Cancel, id] — the caller gave up; stop the work. */
  Cancel = 4,
  /** [Progress, id, data] — a running call reports progress. */
  Progress = 5,
  /** [Heartbeat, 0] — the sender is alive and serving: renews the lease on every call it holds. */
  Heartbeat = 6
}

export interface CallMeta {
  /** Milliseconds the caller will wait; the provider may stop work after it. */
  timeout?: number
  /** The caller's job id, the same on every attempt of one job (see src/jobs/). */
  job?: string
  /** 0..9, higher first in the provider's queue (src/workflows/gate.ts). */
  priority?: number
  /** The caller assembles a split job's result from parts streamed as progress events (src/stealing/parts.ts). */
  parts?: boolean
  /** The caller's inbox token for parts thieves deliver to it directly (PartsInbox). */
  inbox?: string
}

export type RequestMessage = [Kind.Request, number, string, unknown[], CallMeta | undefined]
export type ResultMessage = [Kind.Result, number, unknown]
export type ErrorMessage = [Kind.Error, number, WireError]
export type CancelMessage = [Kind.Cancel, number]
export type ProgressMessage = [Kind.Progress, number, unknown]
export type HeartbeatMessage = [Kind.Heartbeat, number]
export type Message = RequestMessage | ResultMessage | ErrorMessage | CancelMessage | ProgressMessage | HeartbeatMessage

/** Check the shape of a decoded frame; anything else is a protocol violation. */
export function isMessage (m: unknown): m is Message {
  if (!Array.isArray(m) || m.length < 2 || typeof m[1] !== 'number' || !Number.isSafeInteger(m[1])) return false
  switch (m[0]) {
    case Kind.Request: return m.length >= 4 && typeof m[2] === 'string' && Array.isArray(m[3]) && (m[4] == null || typeof m[4] === 'object')
    case Kind.Result: return m.length === 3
    case Kind.Error: return m.length === 3 && m[2] != null && typeof m[2] === 'object'
    case Kind.Cancel: return m.length === 2
    case Kind.Progress: return m.length === 3
    case Kind.Heartbeat: return m.length === 2
    default: return false
  }
}
