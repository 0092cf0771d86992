import { Packr } from 'msgpackr'

/**
 * The wire codec: MessagePack via msgpackr, which is faithful to BigInt of any
 * size, Float64Array and other typed arrays, Uint8Array, Map and Set, and
 * encodes a 257,000-bit BigInt in ~0.1 ms (other codecs truncate or take 100×).
 */
const packr = new Packr({ moreTypes: true, useRecords: false })

export function encode (value: unknown): Uint8Array {
  return packr.pack(value)
}

export function decode (bytes: Uint8Array): unknown {
  return packr.unpack(bytes)
}
