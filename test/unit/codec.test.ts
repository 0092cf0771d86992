import assert from 'node:assert/strict'
import { decode, encode } from '../../src/codec.js'
import { FrameDecoder, concatFrames, encodeFrame } from '../../src/rpc/framing.js'
import { FrameTooLargeError } from '../../src/errors.js'

describe('codec', function () {
  it('round-trips bigints of every size exactly, and keeps numbers numbers', function () {
    let big = 1n
    for (let i = 1n; i < 3000n; i++) big *= i
    for (const v of [0n, 1n, -1n, 2n ** 63n, -(2n ** 64n) - 7n, big, -big]) assert.equal(decode(encode(v)), v)
    for (const v of [0, 3, -1.5, 2 ** 60, Number.MAX_SAFE_INTEGER, 1e300]) assert.equal(decode(encode(v)), v)
  })

  it('round-trips Float64Array, Uint8Array and nested structures', function () {
    const f = new Float64Array([1.5, -2, Math.PI])
    const out = decode(encode({ f, b: new Uint8Array([1, 2, 3]), list: [1n, 'x', null] })) as any
    assert.ok(out.f instanceof Float64Array)
    assert.deepEqual(Array.from(out.f), Array.from(f))
    assert.ok(out.b instanceof Uint8Array)
    assert.deepEqual(Array.from(out.b), [1, 2, 3])
    assert.deepEqual(out.list, [1n, 'x', null])
  })
})

describe('framing', function () {
  const frames = [new Uint8Array([1]), new Uint8Array(0), new Uint8Array(1000).fill(7), new Uint8Array([9, 9])]
  const wire = concatFrames(frames.map(encodeFrame))

  it('splits a byte stream cut at every possible point back into frames', function () {
    for (let cut = 0; cut <= wire.length; cut++) {
      const decoder = new FrameDecoder(1 << 20)
      const out = [...decoder.push(wire.subarray(0, cut)), ...decoder.push(wire.subarray(cut))]
      assert.deepEqual(out.map(f => Array.from(f)), frames.map(f => Array.from(f)))
    }
  })

  it('handles one byte at a time', function () {
    const decoder = new FrameDecoder(1 << 20)
    const out: Uint8Array[] = []
    for (const byte of wire) out.push(...decoder.push(new Uint8Array([byte])))
    assert.equal(out.length, frames.length)
  })

  it('refuses a length prefix over the limit before buffering the frame', function () {
    const decoder = new FrameDecoder(100)
    assert.throws(() => decoder.push(new Uint8Array([0, 0, 0, 101])), FrameTooLargeError)
    assert.throws(() => new FrameDecoder(100).push(encodeFrame(new Uint8Array(101))), (err: any) => err.code === 'FRAME_TOO_LARGE')
  })
})
