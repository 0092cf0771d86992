import { REF_EXTENSION_TYPE } from '../constants.js'
import { BadFrameError, LimitExceededError } from '../errors.js'

/**
 * Limits a MessagePack frame must meet before msgpackr is allowed to decode it.
 * The scan walks the bytes without allocating, so a hostile frame costs one
 * linear pass, never a deep recursion, a huge allocation or a slow BigInt.
 */
export interface ScanLimits {
  /** Deepest nesting of arrays, maps and container extensions (Set, Error, RegExp). */
  maxDepth: number
  /** Most values (of any kind) in one frame: 1 byte on the wire can become a JS value of 8–80 bytes. */
  maxValues: number
  /** Most arrays and maps in one frame: each becomes a JS object of ~50 bytes or more. */
  maxContainers: number
  /** Largest BigInt, in bits: decoding one costs ~3 ms per million bits. */
  maxBigIntBits: number
}

/**
 * msgpackr `moreTypes` extension types mesh accepts: undefined (0x00),
 * BigInt (0x42 'B'), typed arrays / ArrayBuffer / DataView (0x74 't'), Date
 * (0xff timestamp), and the container extensions Error (0x65 'e'), Set
 * (0x73 's') and RegExp (0x78 'x'), and remote-object references
 * (REF_EXTENSION_TYPE, src/objects/wire.ts), each of which is followed by one
 * more value holding its contents.
 *
 * Refused: record definitions (0x72 'r', which msgpackr compiles into a
 * reader with `new Function` after a few uses), structured-clone references
 * (0x69 'i', 0x70 'p'), bundled strings (0x62 'b'), and every unknown type.
 */
const PLAIN_EXTENSIONS = new Set([0x00, 0x42, 0x74, 0xff])
const CONTAINER_EXTENSIONS = new Set([0x65, 0x73, 0x78, REF_EXTENSION_TYPE])
const BIGINT_EXTENSION = 0x42

/**
 * Check that `bytes` is exactly one well-formed MessagePack value within
 * `limits`, using only extension types mesh knows. Malformed input throws
 * BadFrameError; a well-formed value over a limit throws LimitExceededError.
 */
export function scanMsgpack (bytes: Uint8Array, limits: ScanLimits): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const end = bytes.byteLength
  let pos = 0
  let values = 0
  let containers = 0
  // Items still to read in each open container; the bottom entry is the single top-level value.
  const remaining: number[] = [1]

  const need = (n: number): void => {
    if (pos + n > end) throw new BadFrameError(`truncated MessagePack: needs ${n} bytes at offset ${pos}, ${end - pos} left`)
  }
  const u8 = (): number => { need(1); return bytes[pos++] }
  const u16 = (): number => { need(2); const v = view.getUint16(pos); pos += 2; return v }
  const u32 = (): number => { need(4); const v = view.getUint32(pos); pos += 4; return v }
  const skip = (n: number): void => { need(n); pos += n }
  const open = (items: number, map: boolean): void => {
    if (++containers > limits.maxContainers) throw new LimitExceededError(`frame has more than ${limits.maxContainers} arrays and maps`)
    const count = map ? items * 2 : items
    // Every item takes at least one byte: a count larger than the bytes left is a lie.
    if (count > end - pos) throw new BadFrameError(`container claims ${count} items with ${end - pos} bytes left`)
    if (count === 0) return
    if (remaining.length >= limits.maxDepth) throw new LimitExceededError(`frame nests deeper than ${limits.maxDepth} levels`)
    remaining.push(count)
  }
  const extension = (length: number): void => {
    const type = u8()
    if (type === BIGINT_EXTENSION && length * 8 > limits.maxBigIntBits) {
      throw new LimitExceededError(`a BigInt of about ${length * 8} bits is over the ${limits.maxBigIntBits}-bit limit`)
    }
    skip(length)
    if (PLAIN_EXTENSIONS.has(type)) return
    if (CONTAINER_EXTENSIONS.has(type)) {
      // The extension's contents follow as one more value.
      if (remaining.length >= limits.maxDepth) throw new LimitExceededError(`frame nests deeper than ${limits.maxDepth} levels`)
      remaining.push(1)
      return
    }
    throw new BadFrameError(`MessagePack extension type 0x${type.toString(16)} is not accepted`)
  }

  while (remaining.length > 0) {
    const top = remaining.length - 1
    if (remaining[top] === 0) { remaining.pop(); continue }
    remaining[top]--
    if (++values > limits.maxValues) throw new LimitExceededError(`frame has more than ${limits.maxValues} values`)
    const token = u8()
    if (token <= 0x7f || token >= 0xe0) continue // fixint
    if (token <= 0x8f) { open(token & 0x0f, true); continue } // fixmap
    if (token <= 0x9f) { open(token & 0x0f, false); continue } // fixarray
    if (token <= 0xbf) { skip(token & 0x1f); continue } // fixstr
    switch (token) {
      case 0xc0: case 0xc2: case 0xc3: break // nil, false, true
      case 0xc4: case 0xd9: skip(u8()); break // bin8, str8
      case 0xc5: case 0xda: skip(u16()); break // bin16, str16
      case 0xc6: case 0xdb: skip(u32()); break // bin32, str32
      case 0xc7: extension(u8()); break // ext8
      case 0xc8: extension(u16()); break // ext16
      case 0xc9: extension(u32()); break // ext32
      case 0xca: skip(4); break // float32
      case 0xcb: skip(8); break // float64
      case 0xcc: case 0xd0: skip(1); break
      case 0xcd: case 0xd1: skip(2); break
      case 0xce: case 0xd2: skip(4); break
      case 0xcf: case 0xd3: skip(8); break
      case 0xd4: extension(1); break // fixext 1
      case 0xd5: extension(2); break
      case 0xd6: extension(4); break
      case 0xd7: extension(8); break
      case 0xd8: extension(16); break
      case 0xdc: open(u16(), false); break // array16
      case 0xdd: open(u32(), false); break // array32
      case 0xde: open(u16(), true); break // map16
      case 0xdf: open(u32(), true); break // map32
      default: throw new BadFrameError(`byte 0x${token.toString(16)} at offset ${pos - 1} is not MessagePack`)
    }
  }
  if (pos !== end) throw new BadFrameError(`${end - pos} bytes follow the MessagePack value`)
}

/**
 * The id of an RPC request frame (`[1, id, task, args, meta]`), read from its
 * first bytes without decoding the rest; undefined if the frame does not
 * start like a request. Lets a request that is over a limit be refused with
 * an error for that call instead of losing the whole stream.
 */
export function peekRequestId (frame: Uint8Array): number | undefined {
  if (frame.byteLength < 3 || (frame[0] & 0xf0) !== 0x90 || frame[1] !== 0x01) return undefined
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  const token = frame[2]
  if (token <= 0x7f) return token
  if (token === 0xcc && frame.byteLength >= 4) return frame[3]
  if (token === 0xcd && frame.byteLength >= 5) return view.getUint16(3)
  if (token === 0xce && frame.byteLength >= 7) return view.getUint32(3)
  if (token === 0xcb && frame.byteLength >= 11) {
    const id = view.getFloat64(3)
    return Number.isSafeInteger(id) && id >= 0 ? id : undefined
  }
  if (token === 0xcf && frame.byteLength >= 11) {
    const id = view.getBigUint64(3)
    return id <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(id) : undefined
  }
  return undefined
}

/** True if the frame starts like an RPC request, so the argument limits apply. */
export function isRequestFrame (frame: Uint8Array): boolean {
  return frame.byteLength >= 2 && (frame[0] & 0xf0) === 0x90 && frame[1] === 0x01
}
