import { ATTACHMENTS_MARK } from '../codec.js'
import { MAX_ATTACHMENTS } from '../constants.js'
import { BadFrameError, FrameTooLargeError } from '../errors.js'

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

/** A frame with out-of-band attachments (see encodeFramed in src/codec.ts): its MessagePack body and the arrays' bytes. */
export class AttachedFrame {
  constructor (readonly body: Uint8Array, readonly attachments: Uint8Array[], readonly byteLength: number) {}
}

/** One decoded frame: its payload, or its body and attachments. */
export type Frame = Uint8Array | AttachedFrame

/** An attached frame being received: the attachments are filled as bytes arrive. */
interface Receiving {
  body?: Uint8Array
  sizes: number[]
  attachments: Uint8Array[]
  /** Bytes of the current attachment filled so far. */
  filled: number
  length: number
}

interface Chunk { subarray(start?: number, end?: number): Uint8Array, byteLength: number }

/**
 * Splits a byte stream into length-prefixed frames. Chunks may split or join
 * frames anywhere. A declared length above `maxFrameBytes` throws
 * FrameTooLargeError before any of that frame is buffered, so a hostile
 * length prefix costs nothing.
 */
export class FrameDecoder<F extends Frame = Uint8Array> {
  private chunks: Uint8Array[] = []
  private buffered = 0
  private expected = -1
  private attached?: Receiving

  /** With `attachments`, frames starting with ATTACHMENTS_MARK are read as AttachedFrames (RPC streams); otherwise every frame is opaque bytes. */
  constructor (private readonly maxFrameBytes: number, private readonly attachments = false) {}

  /** Part of a frame has arrived and the rest is awaited. */
  get receiving (): boolean { return this.buffered > 0 || this.expected >= 0 }

  /** Add bytes; returns every frame now complete, in order. */
  push (data: Uint8Array | { subarray(): Uint8Array } | Iterable<Uint8Array>): F[] {
    if (data instanceof Uint8Array) {
      this.append(data)
    } else if (typeof (data as any)[Symbol.iterator] === 'function') {
      for (const c of data as Iterable<Uint8Array>) this.append(c)
    } else {
      this.append((data as Chunk).subarray())
    }
    const frames: F[] = []
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < LENGTH_PREFIX_BYTES) break
        this.expected = this.readUint32()
        if (this.expected > this.maxFrameBytes) {
          throw new FrameTooLargeError(`frame of ${this.expected} bytes is over the ${this.maxFrameBytes}-byte limit`)
        }
      }
      if (this.attached === undefined && this.attachments && this.expected > 0 && this.buffered > 0 && this.chunks[0][0] === ATTACHMENTS_MARK) {
        if (!this.startAttached()) break
      }
      if (this.attached !== undefined) {
        const frame = this.fillAttached()
        if (frame === undefined) break
        frames.push(frame as F)
      } else {
        if (this.buffered < this.expected) break
        frames.push(this.take(this.expected) as F)
      }
      this.expected = -1
    }
    return frames
  }

  /** A big-endian uint32 off the front (read in place when it sits in one chunk: this runs for every frame). */
  private readUint32 (): number {
    const c = this.chunks[0]
    const head = c.byteLength >= 4 ? c : this.take(4)
    const value = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0
    if (head === c) {
      this.buffered -= 4
      if (c.byteLength === 4) this.chunks.shift()
      else this.chunks[0] = c.subarray(4)
    }
    return value
  }

  /** Read the header of an attached frame once it has all arrived; false while it has not. */
  private startAttached (): boolean {
    if (this.buffered < 2) return false
    const count = this.chunks[0].byteLength >= 2 ? this.chunks[0][1] : this.chunks[1][0]
    const headBytes = 2 + 4 * count
    // A header longer than its frame is a lie: refuse it now rather than wait for bytes that belong to the next frame.
    if (count === 0 || headBytes >= this.expected) throw new BadFrameError(`a frame of ${this.expected} bytes declares ${count} attachments`)
    if (this.buffered < headBytes) return false
    this.take(2)
    const sizes: number[] = []
    let total = headBytes
    for (let i = 0; i < count; i++) { const size = this.readUint32(); sizes.push(size); total += size }
    // The body is at least one byte, and the header must add up to the declared length.
    if (count > MAX_ATTACHMENTS || total >= this.expected) {
      throw new BadFrameError(`a frame of ${this.expected} bytes declares ${count} attachments of ${total - headBytes} bytes`)
    }
    this.attached = { sizes, attachments: [], filled: 0, length: this.expected }
    this.expected -= headBytes
    return true
  }

  /** Take the body, then copy arriving bytes into each attachment; the frame once it is complete. */
  private fillAttached (): AttachedFrame | undefined {
    const a = this.attached!
    if (a.body === undefined) {
      const bodyBytes = this.expected - a.sizes.reduce((sum, n) => sum + n, 0)
      if (this.buffered < bodyBytes) return undefined
      a.body = this.take(bodyBytes)
      this.expected -= bodyBytes
    }
    while (a.attachments.length < a.sizes.length || (a.attachments.length > 0 && a.filled < a.sizes[a.attachments.length - 1])) {
      if (a.attachments.length === 0 || a.filled === a.sizes[a.attachments.length - 1]) {
        a.attachments.push(new Uint8Array(a.sizes[a.attachments.length]))
        a.filled = 0
      }
      const into = a.attachments[a.attachments.length - 1]
      while (a.filled < into.byteLength && this.chunks.length > 0) {
        const c = this.chunks[0]
        const n = Math.min(c.byteLength, into.byteLength - a.filled)
        into.set(n === c.byteLength ? c : c.subarray(0, n), a.filled)
        a.filled += n
        this.buffered -= n
        this.expected -= n
        if (n === c.byteLength) this.chunks.shift()
        else this.chunks[0] = c.subarray(n)
      }
      if (a.filled < into.byteLength) return undefined
    }
    this.attached = undefined
    return new AttachedFrame(a.body, a.attachments, a.length)
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
