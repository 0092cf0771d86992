import {
  DEFAULT_MAX_ARG_BYTES, DEFAULT_MAX_BIGINT_BITS, DEFAULT_MAX_FACTORIAL_N, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_IN_FLIGHT_PER_PEER,
  DEFAULT_MAX_MATRIX_DIM, DEFAULT_MAX_MATRIX_ELEMENTS, DEFAULT_RATE_LIMIT_BURST, DEFAULT_RATE_LIMIT_PER_SECOND
} from '../constants.js'
import { ConfigError } from '../errors.js'
import type { TaskLimits } from '../tasks/types.js'

export interface MeshLimits extends TaskLimits {
  /** Largest frame accepted on the wire, in bytes. */
  maxFrameBytes: number
  /** Calls one peer may have in flight here before it is answered BUSY. */
  maxInFlightPerPeer: number
  /** Largest call (request frame) accepted from a peer, in bytes. */
  maxArgBytes: number
  /** Largest BigInt accepted in a call's arguments, in bits. */
  maxBigIntBits: number
  /** Calls per second one peer may make here (token bucket refill rate); over it: RATE_LIMITED. */
  rateLimitPerSecond: number
  /** Calls one peer may make at once before the rate applies (token bucket size). */
  rateLimitBurst: number
}

export const DEFAULT_LIMITS: MeshLimits = {
  maxFactorialN: DEFAULT_MAX_FACTORIAL_N,
  maxMatrixDim: DEFAULT_MAX_MATRIX_DIM,
  maxMatrixElements: DEFAULT_MAX_MATRIX_ELEMENTS,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxInFlightPerPeer: DEFAULT_MAX_IN_FLIGHT_PER_PEER,
  maxArgBytes: DEFAULT_MAX_ARG_BYTES,
  maxBigIntBits: DEFAULT_MAX_BIGINT_BITS,
  rateLimitPerSecond: DEFAULT_RATE_LIMIT_PER_SECOND,
  rateLimitBurst: DEFAULT_RATE_LIMIT_BURST
}

/** The numeric options of the execution side, checked eagerly (each error names its option). */
export interface ExecutionNumbers {
  limits?: Partial<MeshLimits>
  workers?: number
  taskTimeLimit?: number
  maxQueue?: number
  drainTimeout?: number
}

/** The limits with defaults filled in; throws BAD_CONFIG naming the first bad value. */
export function checkExecutionOptions (options: ExecutionNumbers): MeshLimits {
  const limits = { ...DEFAULT_LIMITS, ...options.limits }
  for (const [key, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`limit ${key} must be a positive integer, got ${String(value)}`)
  }
  if (options.workers !== undefined && (!Number.isSafeInteger(options.workers) || options.workers < 1)) {
    throw new ConfigError(`workers must be a positive integer, got ${String(options.workers)}`)
  }
  for (const key of ['taskTimeLimit', 'maxQueue', 'drainTimeout'] as const) {
    const value = options[key]
    if (value !== undefined && (!Number.isSafeInteger(value) || value < (key === 'maxQueue' ? 0 : 1))) {
      throw new ConfigError(`${key} must be a ${key === 'maxQueue' ? 'non-negative' : 'positive'} integer, got ${String(value)}`)
    }
  }
  return limits
}
