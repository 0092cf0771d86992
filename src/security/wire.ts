import { WIRE_SCAN_LIMITS, decode } from '../codec.js'
import { LimitExceededError } from '../errors.js'
import { isRequestFrame, peekRequestId } from './msgpack-scan.js'

/** Limits on what a call may carry, checked on the raw request frame before it is decoded. */
export interface ArgumentLimits {
  /** Largest request frame, in bytes. */
  maxArgBytes: number
  /** Largest BigInt in the arguments, in bits. */
  maxBigIntBits: number
}

/**
 * Decode one RPC frame (its body, and the attachments of an AttachedFrame).
 * A request is held to the argument limits on its raw bytes, attachments
 * included (`byteLength`); every frame to the wire limits. Throws BadFrameError (the stream is
 * reset) or LimitExceededError (see refusedRequestId).
 */
export function decodeRpcFrame (frame: Uint8Array, limits?: ArgumentLimits, attachments?: Uint8Array[], byteLength = frame.byteLength): unknown {
  if (limits === undefined || !isRequestFrame(frame)) return decode(frame, WIRE_SCAN_LIMITS, attachments)
  if (byteLength > limits.maxArgBytes) {
    throw new LimitExceededError(`a ${byteLength}-byte call is over this node's ${limits.maxArgBytes}-byte argument limit`)
  }
  return decode(frame, { ...WIRE_SCAN_LIMITS, maxBigIntBits: Math.min(limits.maxBigIntBits, WIRE_SCAN_LIMITS.maxBigIntBits) }, attachments)
}

/**
 * When decoding failed because a request was over a limit, the id of that
 * request: the call is refused with the error and the stream stays up.
 * Undefined for anything else, which is a protocol violation.
 */
export function refusedRequestId (err: unknown, frame: Uint8Array): number | undefined {
  return err instanceof LimitExceededError ? peekRequestId(frame) : undefined
}
