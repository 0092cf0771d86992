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

function defineError (name: string, code: string, retryable = false): new (message: string, data?: unknown) => MeshError {
  const Class = class extends MeshError {
    constructor (message: string, data?: unknown) {
      super(code, message, { retryable, data })
      this.name = name
    }
  }
  Object.defineProperty(Class, 'name', { value: name })
  return Class
}

/** No peer in the mesh serves the task or object within the timeout. */
export const NoProviderError = defineError('NoProviderError', 'NO_PROVIDER', true)
/** The peer that was asked does not serve this task. */
export const UnknownTaskError = defineError('UnknownTaskError', 'UNKNOWN_TASK')
/** The arguments do not fit the task: wrong count, type or value. */
export const BadArgumentError = defineError('BadArgumentError', 'BAD_ARGUMENT')
/** An argument is well formed but over a configured size limit. */
export const LimitExceededError = defineError('LimitExceededError', 'LIMIT_EXCEEDED')
/** The call did not finish within its timeout. */
export const TimeoutError = defineError('TimeoutError', 'TIMEOUT', true)
/** The connection to the peer running the call closed before it answered. */
export const PeerGoneError = defineError('PeerGoneError', 'PEER_GONE', true)
/** A frame on the wire is larger than the configured maximum. */
export const FrameTooLargeError = defineError('FrameTooLargeError', 'FRAME_TOO_LARGE')
/** A frame could not be decoded, or its envelope is not one we know. */
export const BadFrameError = defineError('BadFrameError', 'BAD_FRAME')
/** The peer has too many calls in flight from us; try again or elsewhere. */
export const BusyError = defineError('BusyError', 'BUSY', true)
/** The task itself threw while running. */
export const TaskFailedError = defineError('TaskFailedError', 'TASK_FAILED')
/** The call was cancelled by the caller. */
export const CancelledError = defineError('CancelledError', 'CANCELLED')
/** The node is stopping or stopped. */
export const NotRunningError = defineError('NotRunningError', 'NOT_RUNNING', true)
/** The provider stopped the task at its hard time limit (its worker thread was terminated). */
export const TaskTimeLimitError = defineError('TaskTimeLimitError', 'TIME_LIMIT')
/** Bad configuration given to the node or the CLI. */
export const ConfigError = defineError('ConfigError', 'BAD_CONFIG')
/** This node's allow-list does not include the calling peer. */
export const ForbiddenError = defineError('ForbiddenError', 'FORBIDDEN')
/** The calling peer is over this node's per-peer call rate; try again shortly. */
export const RateLimitedError = defineError('RateLimitedError', 'RATE_LIMITED', true)
/** No object of that name is exposed (at the peer asked, or anywhere in the mesh). */
export const UnknownObjectError = defineError('UnknownObjectError', 'UNKNOWN_OBJECT')
/** The object has no exposed method of that name (private, internal or missing). */
export const UnknownMethodError = defineError('UnknownMethodError', 'UNKNOWN_METHOD')
/** The remote handle or callback was released (explicitly or by garbage collection). */
export const HandleReleasedError = defineError('HandleReleasedError', 'HANDLE_RELEASED')
/** No node asked knows a detached job of that id (never submitted, or forgotten long after it expired). */
export const UnknownJobError = defineError('UnknownJobError', 'UNKNOWN_JOB')
/** The detached job's result was kept for its time (--result-ttl) or pushed out by newer ones (--result-store-max). */
export const ExpiredError = defineError('ExpiredError', 'EXPIRED')
/** This node's job journal cannot grow (disk or database full): the job was refused, nothing stored was lost. */
export const StoreFullError = defineError('StoreFullError', 'STORE_FULL', true)
/** A detached job's provider died mid-job and the task is not idempotent: the work may or may not have run, so it is not re-run. */
export const MayHaveRunError = defineError('MayHaveRunError', 'MAY_HAVE_RUN')
/** The detached job has not finished yet (ask again, or wait for it with --wait). */
export const NotReadyError = defineError('NotReadyError', 'NOT_READY', true)

const classesByCode = new Map<string, new (message: string, data?: unknown) => MeshError>([
  ['NO_PROVIDER', NoProviderError],
  ['UNKNOWN_TASK', UnknownTaskError],
  ['BAD_ARGUMENT', BadArgumentError],
  ['LIMIT_EXCEEDED', LimitExceededError],
  ['TIMEOUT', TimeoutError],
  ['PEER_GONE', PeerGoneError],
  ['FRAME_TOO_LARGE', FrameTooLargeError],
  ['BAD_FRAME', BadFrameError],
  ['BUSY', BusyError],
  ['TASK_FAILED', TaskFailedError],
  ['CANCELLED', CancelledError],
  ['NOT_RUNNING', NotRunningError],
  ['BAD_CONFIG', ConfigError],
  ['TIME_LIMIT', TaskTimeLimitError],
  ['FORBIDDEN', ForbiddenError],
  ['RATE_LIMITED', RateLimitedError],
  ['UNKNOWN_OBJECT', UnknownObjectError],
  ['UNKNOWN_METHOD', UnknownMethodError],
  ['HANDLE_RELEASED', HandleReleasedError],
  ['UNKNOWN_JOB', UnknownJobError],
  ['EXPIRED', ExpiredError],
  ['STORE_FULL', StoreFullError],
  ['MAY_HAVE_RUN', MayHaveRunError],
  ['NOT_READY', NotReadyError]
])

/** Rebuild an error that arrived from a peer. Unknown codes stay generic MeshErrors. */
export function errorFromWire (wire: unknown): MeshError {
  if (wire == null || typeof wire !== 'object') return new BadFrameError('peer sent a malformed error')
  const w = wire as Partial<WireError>
  const code = typeof w.code === 'string' ? w.code : 'TASK_FAILED'
  const message = typeof w.message === 'string' ? w.message : 'remote error'
  const Class = classesByCode.get(code)
  if (Class !== undefined) return new Class(message, w.data)
  return new MeshError(code, message, { retryable: w.retryable === true, data: w.data })
}

/** Anything thrown (a MeshError, a plain Error, a string) as a wire error. */
export function errorToWire (err: unknown): WireError {
  if (err instanceof MeshError) return err.toWire()
  if (err instanceof RangeError || err instanceof TypeError) return { code: 'BAD_ARGUMENT', message: err.message }
  if (err instanceof Error) return { code: 'TASK_FAILED', message: err.message }
  return { code: 'TASK_FAILED', message: String(err) }
}
