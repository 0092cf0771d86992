import { Packr } from 'msgpackr'
import { MAX_FRAME_CONTAINERS, MAX_FRAME_DEPTH, MAX_FRAME_VALUES, MAX_WIRE_BIGINT_BITS } from './constants.js'
import { scanMsgpack, type ScanLimits } from './security/msgpack-scan.js'

/**
 * The wire codec: MessagePack via msgpackr, which is faithful to BigInt of any
 * size, Float64Array and other typed arrays, Uint8Array, Map and Set, and
 * encodes a 257,000-bit BigInt in ~0.1 ms (other codecs truncate or take 100×).
 */
const packr = new Packr({ moreTypes: true, useRecords: false })

export function encode (value: unknown): Uint8Array {
  return packr.pack(value)
}

/** What any frame must meet before it is decoded (see src/security/msgpack-scan.ts). */
export const WIRE_SCAN_LIMITS: ScanLimits = {
  maxDepth: MAX_FRAME_DEPTH,
  maxValues: MAX_FRAME_VALUES,
  maxContainers: MAX_FRAME_CONTAINERS,
  maxBigIntBits: MAX_WIRE_BIGINT_BITS
}

/**
 * Decode bytes that came off the wire. They are scanned first (structure,
 * depth, sizes, extension types), so msgpackr only ever sees a frame that is
 * well formed, shallow and free of record definitions; maps decode to plain
 * objects whose `__proto__` key msgpackr renames to `__proto_`.
 */
export function decode (bytes: Uint8Array, limits: ScanLimits = WIRE_SCAN_LIMITS): unknown {
  scanMsgpack(bytes, limits)
  return packr.unpack(bytes)
}
