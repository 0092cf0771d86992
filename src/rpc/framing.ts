import { FrameTooLargeError } from '../errors.js'

/** Bytes of the length prefix: a big-endian uint32 before every frame. */
export const LENGTH_PREFIX_BYTES = 4

/** Prefix `payload` with its length, ready to write. */
export function encodeFrame (payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(LENGTH_PREFIX_BYTES + payload.byteLength)
  new DataView(frame.buffer).setUint32(0, payload.byteLength)
  frame.set(payload, LENGTH_PREFIX_BYTES)
  return frame
}

/** Join several encoded frames into one buffer so they leave in one write. */
export function concatFrames (frames: Uint8Array[]): Uint8Array {
  if (frames.length === 1) return frames[0]
  let total = 0
  for (const f of frames) total += f.byteLength
  const out = new Uint8Array(total)
  let offset = 0
  for (const f of frames) { out.set(f, offset); offset += f.byteLength }
  return out
}

interface Chunk { subarray(start?: number, end?: number): Uint8Array, byteLength: number }

/**
 * Splits a byte stream into length-prefixed frames. Chunks may split or join
 * frames anywhere. A declared length above `maxFrameBytes` throws
 * FrameTooLargeError before any of that frame is buffered, so a hostile
 * length prefix costs nothing.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = []
  private buffered = 0
  private expected = -1

  constructor (private readonly maxFrameBytes: number) {}

  /** Part of a frame has arrived and the rest is awaited. */
  get receiving (): boolean { return this.buffered > 0 || this.expected >= 0 }

  /** Add bytes; returns every frame now complete, in order. */
  push (data: Uint8Array | { subarray(): Uint8Array } | Iterable<Uint8Array>): Uint8Array[] {
    if (data instanceof Uint8Array) {
      this.append(data)
    } else if (typeof (data as any)[Symbol.iterator] === 'function') {
      for (const c of data as Iterable<Uint8Array>) this.append(c)
    } else {
      this.append((data as Chunk).subarray())
    }
    const frames: Uint8Array[] = []
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < LENGTH_PREFIX_BYTES) break
        const head = this.take(LENGTH_PREFIX_BYTES)
        this.expected = new DataView(head.buffer, head.byteOffset, LENGTH_PREFIX_BYTES).getUint32(0)
        if (this.expected > this.maxFrameBytes) {
          throw new FrameTooLargeError(`frame of ${this.expected} bytes is over the ${this.maxFrameBytes}-byte limit`)
        }
      }
      if (this.buffered < this.expected) break
      frames.push(this.take(this.expected))
      this.expected = -1
    }
    return frames
  }

  private append (chunk: Uint8Array): void {
    if (chunk.byteLength === 0) return
    this.chunks.push(chunk)
    this.buffered += chunk.byteLength
  }

  /** Remove and return the first n buffered bytes (copying only when they span chunks). */
  private take (n: number): Uint8Array {
    this.buffered -= n
    const first = this.chunks[0]
    if (first !== undefined && first.byteLength >= n) {
      if (first.byteLength === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
      return first.subarray(0, n)
    }
    const out = new Uint8Array(n)
    let offset = 0
    while (offset < n) {
      const c = this.chunks[0]
      const need = n - offset
      if (c.byteLength <= need) {
        out.set(c, offset)
        offset += c.byteLength
        this.chunks.shift()
      } else {
        out.set(c.subarray(0, need), offset)
        this.chunks[0] = c.subarray(need)
        offset += need
      }
    }
    return out
  }
}
