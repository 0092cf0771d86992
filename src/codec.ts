import { Packr, RESERVE_START_SPACE, addExtension } from 'msgpackr'
import { ATTACH_MIN_BYTES, MAX_ATTACHMENTS, MAX_FRAME_CONTAINERS, MAX_FRAME_DEPTH, MAX_FRAME_VALUES, MAX_WIRE_BIGINT_BITS } from './constants.js'
import { BadFrameError } from './errors.js'
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

// ─── Out-of-band typed arrays ─────────────────────────────────────────────
//
// A typed array of ATTACH_MIN_BYTES or more in an RPC frame travels as an
// attachment: raw bytes after the MessagePack body, which holds only a marker
// (its element type and index). The sender writes the array's own memory to
// the stream instead of copying it into the body, and the receiver copies
// the arriving bytes once, straight into the array's final buffer, instead of
// joining the frame and then copying the array out of it for alignment
// (msgpackr always slices). The marker lives inside msgpackr's typed-array
// extension (0x74) under an element code msgpackr never writes, so the
// scanner's rules for extensions are unchanged.

/** msgpackr's element codes of extension 0x74, index = code (16: ArrayBuffer, 17: DataView). */
const TYPED_ARRAYS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array]
type TypedArray = ArrayBufferView
/** The element code of an attachment marker: [ATTACHED, element code, index u32]. */
const ATTACHED = 0xfe
/** The element code of an attached Buffer (msgpackr writes Buffers as bin, and they decode as Buffers). */
const BUFFER_CODE = 0xff
const TypedArrayBase = Object.getPrototypeOf(Uint8Array) as new () => TypedArray
type TypedArrayClass = typeof TYPED_ARRAYS[number]

/** Arrays taken out of the body by the encode in progress; undefined outside encodeFramed. */
let collecting: { arrays: Uint8Array[], snapshot: boolean } | undefined
/** The attachments of the frame being decoded, and which the body has used. */
let attached: { arrays: Uint8Array[], used: boolean[] } | undefined

interface WriteTarget { target: Uint8Array, targetView: DataView, position: number }

/** msgpack ext/bin header of `length` data bytes at the allocated position. */
function writeHeader (length: number, ext: boolean, allocate: (size: number) => WriteTarget): WriteTarget {
  const size = length < 0x100 ? 2 : length < 0x10000 ? 3 : 5
  const out = allocate(size + (ext ? 1 : 0) + length)
  const { target, targetView } = out
  let position = out.position
  target[position++] = (ext ? 0xc7 : 0xc4) + (size === 2 ? 0 : size === 3 ? 1 : 2)
  if (size === 2) target[position++] = length
  else if (size === 3) { targetView.setUint16(position, length); position += 2 } else { targetView.setUint32(position, length); position += 4 }
  if (ext) target[position++] = 0x74
  return { target, targetView, position }
}

addExtension({
  Class: TypedArrayBase as any,
  type: 0x74,
  // Written as msgpackr writes typed arrays (bin for a Buffer or without moreTypes, else
  // extension 0x74), except that a big one in a frame being collected becomes a marker.
  pack (this: { moreTypes?: boolean }, value: TypedArray, allocate: (size: number) => WriteTarget): Uint8Array | undefined {
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    const code = TYPED_ARRAYS.indexOf(value.constructor as TypedArrayClass)
    if (collecting !== undefined && this === packr && value.byteLength >= ATTACH_MIN_BYTES && collecting.arrays.length < MAX_ATTACHMENTS && (code >= 0 || Buffer.isBuffer(value))) {
      const index = collecting.arrays.push(collecting.snapshot ? bytes.slice() : bytes) - 1
      return Uint8Array.of(ATTACHED, code >= 0 ? code : BUFFER_CODE, index >>> 24, (index >>> 16) & 0xff, (index >>> 8) & 0xff, index & 0xff)
    }
    if (code < 0 || this.moreTypes !== true) {
      const { target, position } = writeHeader(bytes.byteLength, false, allocate)
      target.set(bytes, position)
      return undefined
    }
    const { target, position } = writeHeader(bytes.byteLength + 1, true, allocate)
    target[position] = code
    target.set(bytes, position + 1)
    return undefined
  },
  unpack (data: Uint8Array): unknown {
    const code = data[0]
    if (code === ATTACHED) return attachment(data)
    // As msgpackr: a fresh (aligned) buffer of the bytes after the code.
    const buffer = Uint8Array.prototype.slice.call(data, 1).buffer
    if (code === 16) return buffer
    if (code === 17) return new DataView(buffer)
    const Type = TYPED_ARRAYS[code]
    if (Type === undefined) throw new BadFrameError(`unknown typed array code ${code}`)
    return new Type(buffer)
  }
} as unknown as Parameters<typeof addExtension>[0])

/** The typed array a marker stands for, viewing its attachment (each may be used once). */
function attachment (data: Uint8Array): unknown {
  if (attached === undefined || data.byteLength !== 6) throw new BadFrameError('an attachment marker outside a frame with attachments')
  const Type = data[1] === BUFFER_CODE ? Uint8Array : TYPED_ARRAYS[data[1]]
  const index = ((data[2] << 24) | (data[3] << 16) | (data[4] << 8) | data[5]) >>> 0
  const bytes = attached.arrays[index]
  if (Type === undefined || bytes === undefined || attached.used[index]) throw new BadFrameError(`bad attachment marker (element code ${data[1]}, index ${index})`)
  if (data[1] === BUFFER_CODE) { attached.used[index] = true; return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) }
  if (bytes.byteLength % Type.BYTES_PER_ELEMENT !== 0) throw new BadFrameError(`an attachment of ${bytes.byteLength} bytes is not a whole number of ${Type.name} elements`)
  attached.used[index] = true
  return Type === Uint8Array ? bytes : new (Type as new (b: ArrayBufferLike, offset: number, length: number) => unknown)(bytes.buffer, bytes.byteOffset, bytes.byteLength / Type.BYTES_PER_ELEMENT)
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
export function decode (bytes: Uint8Array, limits: ScanLimits = WIRE_SCAN_LIMITS, attachments?: Uint8Array[]): unknown {
  scanMsgpack(bytes, limits)
  if (attachments === undefined) return packr.unpack(bytes)
  attached = { arrays: attachments, used: attachments.map(() => false) }
  try {
    const value = packr.unpack(bytes)
    if (attached.used.includes(false)) throw new BadFrameError('a frame carries an attachment its body does not use')
    return value
  } finally {
    attached = undefined
  }
}

/** Bytes of the frame length prefix (the same as rpc/framing's LENGTH_PREFIX_BYTES). */
const PREFIX = 4

/** First payload byte of a frame with attachments: 0xc1 is the one byte MessagePack never uses. */
export const ATTACHMENTS_MARK = 0xc1

/**
 * `encodeFrame(encode(value))` in one pass, as the pieces to write in order.
 * Without big typed arrays that is one piece: msgpackr reserves the 4 bytes
 * of the length prefix in front of the payload, so the payload is never
 * copied. With them (see ATTACH_MIN_BYTES), the frame is
 *
 *   [u32 length][0xc1][u8 count][count × u32 byte length][body][attachment 0]…
 *
 * and the attachments are pieces of their own: the arrays' own memory, or
 * copies of it with `snapshot` (for arguments, which the caller may change
 * once call() returns). The pieces are fresh views that later encodes do
 * not overwrite.
 */
export function encodeFramed (value: unknown, snapshot = false): Uint8Array[] {
  collecting = { arrays: [], snapshot }
  let body: Uint8Array
  let arrays: Uint8Array[]
  try {
    body = packr.pack(value, RESERVE_START_SPACE | PREFIX)
    arrays = collecting.arrays
  } finally {
    collecting = undefined
  }
  if (arrays.length === 0) {
    writeLength(body, 0, body.byteLength - PREFIX)
    return [body]
  }
  const head = new Uint8Array(PREFIX + 2 + 4 * arrays.length)
  let length = head.byteLength - PREFIX + body.byteLength - PREFIX
  head[PREFIX] = ATTACHMENTS_MARK
  head[PREFIX + 1] = arrays.length
  arrays.forEach((a, i) => { writeLength(head, PREFIX + 2 + 4 * i, a.byteLength); length += a.byteLength })
  writeLength(head, 0, length)
  return [head, body.subarray(PREFIX), ...arrays]
}

function writeLength (into: Uint8Array, at: number, length: number): void {
  into[at] = length >>> 24
  into[at + 1] = (length >>> 16) & 0xff
  into[at + 2] = (length >>> 8) & 0xff
  into[at + 3] = length & 0xff
}
