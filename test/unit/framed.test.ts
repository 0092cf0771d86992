import assert from 'node:assert/strict'
import { decode, encode, encodeFramed } from '../../src/codec.js'
import { ATTACH_MIN_BYTES } from '../../src/constants.js'
import { AttachedFrame, FrameDecoder, encodeFrame, type Frame } from '../../src/rpc/framing.js'

/** Same bytes, whatever the view type (msgpackr gives Buffers, encodeFrame Uint8Arrays). */
function sameBytes (a: Uint8Array, b: Uint8Array): void {
  assert.equal(Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)), 0)
}

function join (pieces: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(pieces.map(p => Buffer.from(p.buffer, p.byteOffset, p.byteLength))))
}

/** Frame, cut into chunks of `cut` bytes, decode: what the receiving channel does. */
function roundTrip (value: unknown, cut: number): unknown {
  const bytes = join(encodeFramed(value))
  const decoder = new FrameDecoder<Frame>(64 * 1024 * 1024, true)
  const frames: Frame[] = []
  for (let i = 0; i < bytes.byteLength; i += cut) frames.push(...decoder.push(bytes.subarray(i, i + cut)))
  assert.equal(frames.length, 1)
  assert.equal(decoder.receiving, false)
  const f = frames[0]
  return f instanceof AttachedFrame ? decode(f.body, undefined, f.attachments) : decode(f)
}

describe('encodeFramed', function () {
  it('gives exactly encodeFrame(encode(value)) for values without big typed arrays, small and past the packer buffer', function () {
    let big = 1n
    for (let i = 1n; i < 20000n; i++) big *= i
    const values: unknown[] = [[1, 7, 'add', [4, 6], undefined], [2, 7, 10], big, new Float64Array(1000).fill(0.5), 'x'.repeat(70_000), null]
    for (const v of values) {
      const pieces = encodeFramed(v)
      assert.equal(pieces.length, 1)
      sameBytes(pieces[0], encodeFrame(encode(v)))
    }
  })

  it('returns frames that later encodes do not overwrite', function () {
    const frames = Array.from({ length: 2000 }, (_, i) => encodeFramed([2, i, 'r'.repeat(i % 50)]))
    frames.forEach((f, i) => { sameBytes(f[0], encodeFrame(encode([2, i, 'r'.repeat(i % 50)]))) })
  })

  it('sends big typed arrays as attachments from their own memory, or from a copy with snapshot', function () {
    const data = new Float64Array(ATTACH_MIN_BYTES / 8).fill(1.5)
    const own = encodeFramed([2, 1, data])
    assert.equal(own.length, 3, 'header, body, attachment')
    assert.equal(own[2].buffer, data.buffer, 'no copy')
    const copy = encodeFramed([1, 1, 'sink', [data], undefined], true)
    assert.notEqual(copy[2].buffer, data.buffer)
    data[0] = 99
    const back = roundTrip([1, 1, 'sink', [data], undefined], 4096) as [number, number, string, [Float64Array]]
    assert.equal(back[3][0][0], 99)
    const decoder = new FrameDecoder<Frame>(1 << 26, true)
    const f = decoder.push(join(copy))[0] as AttachedFrame
    assert.equal((decode(f.body, undefined, f.attachments) as [number, number, string, [Float64Array]])[3][0][0], 1.5, 'the snapshot kept the value at encode time')
  })
})

describe('frames with attachments', function () {
  const n = ATTACH_MIN_BYTES / 8 + 3
  const f64 = Float64Array.from({ length: n }, (_, i) => i / 7)
  const values: Array<[string, unknown]> = [
    ['a Float64Array result', [2, 9, f64]],
    ['every element type, nested, with small arrays inline', [2, 9, {
      rows: 3,
      data: f64,
      ints: Int32Array.from({ length: n }, (_, i) => i - 5),
      bytes: Uint8Array.from({ length: ATTACH_MIN_BYTES + 1 }, (_, i) => i & 0xff),
      buffer: Buffer.alloc(ATTACH_MIN_BYTES, 7),
      big: BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * -3n),
      half: Int16Array.from({ length: ATTACH_MIN_BYTES / 2 + 1 }, (_, i) => i - 1000),
      small: new Float32Array([1.5, 2.5]),
      list: [f64.subarray(1, n - 1), 'x']
    }]]
  ]
  for (const [name, value] of values) {
    for (const cut of [1 << 20, 65536, 1000, 7]) {
      it(`round-trip ${name}, arriving in chunks of ${cut} bytes`, function () {
        const back = roundTrip(value, cut)
        assert.deepEqual(back, value)
      })
    }
  }

  it('keep each array\'s type, and a Buffer stays a Buffer', function () {
    const back = roundTrip([2, 1, [Buffer.alloc(ATTACH_MIN_BYTES, 1), new Uint8Array(ATTACH_MIN_BYTES), new Float64Array(ATTACH_MIN_BYTES / 8)]], 9999) as [number, number, unknown[]]
    assert.deepEqual(back[2].map(a => (a as object).constructor.name), ['Buffer', 'Uint8Array', 'Float64Array'])
  })

  it('keep frames apart in a stream that mixes plain and attached frames', function () {
    const stream = join([...encodeFramed([2, 1, 'a']), ...encodeFramed([2, 2, f64]), ...encodeFramed([6, 0]), ...encodeFramed([2, 3, f64])])
    const decoder = new FrameDecoder<Frame>(1 << 26, true)
    const frames: Frame[] = []
    for (let i = 0; i < stream.byteLength; i += 333) frames.push(...decoder.push(stream.subarray(i, i + 333)))
    assert.deepEqual(frames.map(f => f instanceof AttachedFrame), [false, true, false, true])
  })

  it('are opaque bytes to a decoder that does not read attachments (the registry\'s)', function () {
    const bytes = join(encodeFramed([2, 2, f64]))
    const frames = new FrameDecoder(1 << 26).push(bytes)
    assert.equal(frames.length, 1)
    assert.ok(frames[0] instanceof Uint8Array)
    assert.equal(frames[0].byteLength, bytes.byteLength - 4)
  })
})

describe('hostile frames with attachments', function () {
  /** [u32 length][0xc1][count][sizes…][body][attachments…] built by hand. */
  function frame (sizes: number[], body: Uint8Array, count = sizes.length): Uint8Array {
    const total = 2 + 4 * sizes.length + body.byteLength + sizes.reduce((a, b) => a + b, 0)
    const out = Buffer.alloc(4 + total)
    out.writeUInt32BE(total, 0)
    out[4] = 0xc1
    out[5] = count
    sizes.forEach((s, i) => out.writeUInt32BE(s, 6 + 4 * i))
    out.set(body, 6 + 4 * sizes.length)
    return out
  }
  /** The marker extension: [0xc7 6 0x74][ATTACHED, element code, u32 index]. */
  const ext = (code: number, index: number): number[] => [0xc7, 6, 0x74, 0xfe, code, 0, 0, 0, index]
  /** [2, 1, marker]: a result whose value is the attachment. */
  const marker = (code: number, index: number): Uint8Array => Uint8Array.of(0x93, 0x02, 0x01, ...ext(code, index))
  const decodeAll = (bytes: Uint8Array): unknown[] => new FrameDecoder<Frame>(1 << 20, true).push(bytes).map(f => f instanceof AttachedFrame ? decode(f.body, undefined, f.attachments) : decode(f))

  it('decodes a well-formed hand-built frame (so the refusals below are about what they change)', function () {
    assert.deepEqual(decodeAll(frame([16], marker(8, 0))), [[2, 1, new Float64Array(2)]])
  })

  const cases: Array<[string, () => Uint8Array]> = [
    ['a marker whose index has no attachment', () => frame([16], marker(8, 1))],
    ['an attachment the body never uses', () => frame([16, 8], marker(8, 0))],
    ['one attachment used twice', () => frame([16], Uint8Array.of(0x93, 0x02, 0x01, 0x92, ...ext(8, 0), ...ext(8, 0)))],
    ['an attachment that is not a whole number of elements', () => frame([12], marker(8, 0))],
    ['an unknown element code', () => frame([16], marker(40, 0))],
    ['sizes that add up to more than the frame', () => { const f = frame([16], marker(8, 0)); Buffer.from(f.buffer).writeUInt32BE(1 << 19, 6); return f }],
    ['no attachments at all', () => frame([], marker(8, 0))],
    ['a header longer than its frame (0xc1 0xc1 0xc1)', () => Uint8Array.of(0, 0, 0, 3, 0xc1, 0xc1, 0xc1, 0x93, 2, 1, 1)]
  ]
  for (const [name, make] of cases) {
    it(`refuses ${name} with BAD_FRAME`, function () {
      assert.throws(() => decodeAll(make()), (err: any) => err.code === 'BAD_FRAME')
    })
  }

  it('refuses a marker in a frame without attachments', function () {
    assert.throws(() => decode(marker(8, 0)), (err: any) => err.code === 'BAD_FRAME')
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

  it('stays true while an attachment is still arriving', function () {
    const decoder = new FrameDecoder<Frame>(1 << 26, true)
    const bytes = join(encodeFramed([2, 1, new Float64Array(ATTACH_MIN_BYTES / 4)]))
    assert.deepEqual(decoder.push(bytes.subarray(0, bytes.byteLength - 10)), [])
    assert.equal(decoder.receiving, true)
    assert.equal(decoder.push(bytes.subarray(bytes.byteLength - 10)).length, 1)
    assert.equal(decoder.receiving, false)
  })
})
