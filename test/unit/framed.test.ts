import assert from 'node:assert/strict'
import { encode, encodeFramed } from '../../src/codec.js'
import { FrameDecoder, encodeFrame } from '../../src/rpc/framing.js'

/** Same bytes, whatever the view type (msgpackr gives Buffers, encodeFrame Uint8Arrays). */
function sameBytes (a: Uint8Array, b: Uint8Array): void {
  assert.equal(Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)), 0)
}

describe('encodeFramed', function () {
  it('gives exactly encodeFrame(encode(value)), for small values and values that outgrow the packer buffer', function () {
    let big = 1n
    for (let i = 1n; i < 20000n; i++) big *= i
    const values: unknown[] = [[1, 7, 'add', [4, 6], undefined], [2, 7, 10], big, new Float64Array(300_000).fill(0.5), 'x'.repeat(70_000), null]
    for (const v of values) sameBytes(encodeFramed(v), encodeFrame(encode(v)))
  })

  it('returns frames that later encodes do not overwrite', function () {
    const frames = Array.from({ length: 2000 }, (_, i) => encodeFramed([2, i, 'r'.repeat(i % 50)]))
    frames.forEach((f, i) => { sameBytes(f, encodeFrame(encode([2, i, 'r'.repeat(i % 50)]))) })
  })
})

describe('FrameDecoder.receiving (what keeps a big request\'s lease alive)', function () {
  it('is true from the first byte of a frame until its last, and false between frames', function () {
    const decoder = new FrameDecoder(1024)
    const frame = encodeFrame(new Uint8Array(100).fill(1))
    assert.equal(decoder.receiving, false)
    assert.deepEqual(decoder.push(frame.subarray(0, 2)), [])
    assert.equal(decoder.receiving, true, 'half a length prefix')
    assert.deepEqual(decoder.push(frame.subarray(2, 50)), [])
    assert.equal(decoder.receiving, true, 'half a payload')
    assert.equal(decoder.push(frame.subarray(50)).length, 1)
    assert.equal(decoder.receiving, false)
  })
})
