/**
 * Every error mesh raises has a stable `code`. Errors cross the wire as
 * `{ code, message, retryable, data }` and are rebuilt on the caller's side as
 * the same class, so `err instanceof UnknownTaskError` and `err.code` both work
 * whether the failure happened here or on another peer.
 */
export interface WireError {
  code: string
  message: string
  retryable?: boolean
  data?: unknown
}

export class MeshError extends Error {
  readonly code: string
  readonly retryable: boolean
  readonly data?: unknown

  constructor (code: string, message: string, options: { retryable?: boolean, data?: unknown, cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'MeshError'
    this.code = code
    this.retryable = options.retryable ?? false
    if (options.data !== undefined) this.data = options.data
  }

  toWire (): WireError {
    const wire: WireError = { code: this.code, message: this.message }
    if (this.retryable) wire.retryable = true
    if (this.data !== undefined) wire.data = this.data
    return wire
  }
}

/**
 * Every code, written once. `retry` says whether a caller may re-dispatch a
 * call that failed with it: `refused` means the provider refused before it
 * started the work (always safe), `lost` means the work may or may not have
 * run (safe only for an idempotent task). It sets the error's `retryable`.
 */
const CODES = {
  /**
   * No peer in the mesh serves the task or object within the timeout. A job
   * gets it from its own wait (final); inside an attempt it comes from a
   * provider's nested call, so that provider's work had started: `lost`.
   */
  NO_PROVIDER: { name: 'NoProviderError', retry: 'lost' },
  /** The peer that was asked does not serve this task. */
  UNKNOWN_TASK: { name: 'UnknownTaskError' },
  /** The arguments do not fit the task: wrong count, type or value. */
  BAD_ARGUMENT: { name: 'BadArgumentError' },
  /** An argument is well formed but over a configured size limit. */
  LIMIT_EXCEEDED: { name: 'LimitExceededError' },
  /** The call did not finish within its timeout. */
  TIMEOUT: { name: 'TimeoutError', retry: 'lost' },
  /** The connection to the peer running the call closed before it answered. */
  PEER_GONE: { name: 'PeerGoneError', retry: 'lost' },
  /** A frame on the wire is larger than the configured maximum. */
  FRAME_TOO_LARGE: { name: 'FrameTooLargeError' },
  /** A frame could not be decoded, or its envelope is not one we know. */
  BAD_FRAME: { name: 'BadFrameError' },
  /** The peer has too many calls in flight from us; try again or elsewhere. */
  BUSY: { name: 'BusyError', retry: 'refused' },
  /** The task itself threw while running. */
  TASK_FAILED: { name: 'TaskFailedError' },
  /** The call was cancelled by the caller. */
  CANCELLED: { name: 'CancelledError' },
  /** The node is stopping or stopped. */
  NOT_RUNNING: { name: 'NotRunningError', retry: 'refused' },
  /** The provider stopped the task at its hard time limit (its worker thread was terminated). */
  TIME_LIMIT: { name: 'TaskTimeLimitError' },
  /** Bad configuration given to the node or the CLI. */
  BAD_CONFIG: { name: 'ConfigError' },
  /** This node's allow-list does not include the calling peer. */
  FORBIDDEN: { name: 'ForbiddenError' },
  /** The calling peer is over this node's per-peer call rate; try again shortly. */
  RATE_LIMITED: { name: 'RateLimitedError', retry: 'refused' },
  /** No object of that name is exposed (at the peer asked, or anywhere in the mesh). */
  UNKNOWN_OBJECT: { name: 'UnknownObjectError' },
  /** The object has no exposed method of that name (private, internal or missing). */
  UNKNOWN_METHOD: { name: 'UnknownMethodError' },
  /** The remote handle or callback was released (explicitly or by garbage collection). */
  HANDLE_RELEASED: { name: 'HandleReleasedError' },
  /** No node asked knows a detached job of that id (never submitted, or forgotten long after it expired). */
  UNKNOWN_JOB: { name: 'UnknownJobError' },
  /** The detached job's result was kept for its time (--result-ttl) or pushed out by newer ones (--result-store-max). */
  EXPIRED: { name: 'ExpiredError' },
  /** This node's job journal cannot grow (disk or database full): the job was refused, nothing stored was lost. */
  STORE_FULL: { name: 'StoreFullError', retry: 'refused' },
  /** A detached job's provider died mid-job and the task is not idempotent: the work may or may not have run, so it is not re-run. */
  MAY_HAVE_RUN: { name: 'MayHaveRunError' },
  /** The detached job has not finished yet (ask again, or wait for it with --wait). */
  NOT_READY: { name: 'NotReadyError', retry: 'refused' }
} as const satisfies Record<string, { name: string, retry?: 'refused' | 'lost' }>

export type ErrorCode = keyof typeof CODES
/** The label the CLI prints for a failure that is not a MeshError (a bug, or a Node error). */
export const NON_MESH_ERROR_LABEL = 'ERROR'

type MeshErrorClass = new (message: string, data?: unknown) => MeshError
const classesByCode = new Map<string, MeshErrorClass>()

function defineError (code: ErrorCode): MeshErrorClass {
  const { name } = CODES[code]
  const retryable = 'retry' in CODES[code]
  const Class = class extends MeshError {
    constructor (message: string, data?: unknown) {
      super(code, message, { retryable, data })
      this.name = name
    }
  }
  Object.defineProperty(Class, 'name', { value: name })
  classesByCode.set(code, Class)
  return Class
}

/**
 * Whether a call that failed with `err` may be re-dispatched: `refused` (the
 * work never started), `lost` (it may have run), or false. Decided by the
 * error's `retryable` flag; the flag of an unknown code counts as `lost`.
 */
export function retryKind (err: unknown): 'refused' | 'lost' | false {
  if (!(err instanceof MeshError) || !err.retryable) return false
  const known = CODES[err.code as ErrorCode] as { retry?: 'refused' | 'lost' } | undefined
  return known?.retry ?? 'lost'
}

export const NoProviderError = defineError('NO_PROVIDER')
export const UnknownTaskError = defineError('UNKNOWN_TASK')
export const BadArgumentError = defineError('BAD_ARGUMENT')
export const LimitExceededError = defineError('LIMIT_EXCEEDED')
export const TimeoutError = defineError('TIMEOUT')
export const PeerGoneError = defineError('PEER_GONE')
export const FrameTooLargeError = defineError('FRAME_TOO_LARGE')
export const BadFrameError = defineError('BAD_FRAME')
export const BusyError = defineError('BUSY')
export const TaskFailedError = defineError('TASK_FAILED')
export const CancelledError = defineError('CANCELLED')
export const NotRunningError = defineError('NOT_RUNNING')
export const TaskTimeLimitError = defineError('TIME_LIMIT')
export const ConfigError = defineError('BAD_CONFIG')
export const ForbiddenError = defineError('FORBIDDEN')
export const RateLimitedError = defineError('RATE_LIMITED')
export const UnknownObjectError = defineError('UNKNOWN_OBJECT')
export const UnknownMethodError = defineError('UNKNOWN_METHOD')
export const HandleReleasedError = defineError('HANDLE_RELEASED')
export const UnknownJobError = defineError('UNKNOWN_JOB')
export const ExpiredError = defineError('EXPIRED')
export const StoreFullError = defineError('STORE_FULL')
export const MayHaveRunError = defineError('MAY_HAVE_RUN')
export const NotReadyError = defineError('NOT_READY')

/** Rebuild an error that arrived from a peer. Unknown codes stay generic MeshErrors. */
export function errorFromWire (wire: unknown): MeshError {
  if (wire == null || typeof wire !== 'object') return new BadFrameError('peer sent a malformed error')
  const w = wire as Partial<WireError>
  if (typeof w.code !== 'string') return new TaskFailedError(typeof w.message === 'string' ? w.message : 'remote error', w.data)
  const code = w.code
  const message = typeof w.message === 'string' ? w.message : 'remote error'
  const Class = classesByCode.get(code)
  if (Class !== undefined) return new Class(message, w.data)
  return new MeshError(code, message, { retryable: w.retryable === true, data: w.data })
}

/** Anything thrown (a MeshError, a plain Error, a string) as a wire error. */
export function errorToWire (err: unknown): WireError {
  if (err instanceof MeshError) return err.toWire()
  if (err instanceof RangeError || err instanceof TypeError) return new BadArgumentError(err.message).toWire()
  return new TaskFailedError(err instanceof Error ? err.message : String(err)).toWire()
}
