import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { MultiaddrConnection, StreamMuxer } from '@libp2p/interface'
import { LengthPrefixedDecoder, multiaddrConnectionPair } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { yamux as upstreamYamux } from 'yamux-upstream'
import '../../src/polyfill.js'

/**
 * The two library fixes carried in patches/ (see docs/upstream/), tested on
 * the installed packages themselves: these fail when `patch-package` did not
 * run. `yamux-upstream` is a second, unpatched copy of the same yamux
 * version (an npm alias patch-package does not touch), for contrast.
 */

const YAMUX_HEADER = 12
const TYPE_DATA = 0
const TYPE_WINDOW_UPDATE = 1
const WINDOW = 256 * 1024

type Factory = typeof yamux

/** Counts yamux frames by type as they pass on one direction of a connection. */
function frameCounter (conn: MultiaddrConnection): { updates: () => number, dataFrames: () => number } {
  const pending = new Uint8ArrayList()
  let updates = 0
  let dataFrames = 0
  let skip = 0
  conn.addEventListener('message', (evt) => {
    pending.append(evt.data as any)
    for (;;) {
      if (skip > 0) {
        const n = Math.min(skip, pending.byteLength)
        pending.consume(n)
        skip -= n
        if (skip > 0) return
      }
      if (pending.byteLength < YAMUX_HEADER) return
      const type = pending.get(1)
      const length = pending.getUint32(8)
      pending.consume(YAMUX_HEADER)
      if (type === TYPE_WINDOW_UPDATE) updates++
      if (type === TYPE_DATA) { dataFrames++; skip = length }
    }
  })
  return { updates: () => updates, dataFrames: () => dataFrames }
}

/** Send `messages` messages of `size` bytes one way over a fresh yamux stream; count the frames each way. */
async function oneWay (factory: Factory, messages: number, size: number): Promise<{ received: number, updates: number, dataFrames: number }> {
  const [outbound, inbound] = multiaddrConnectionPair()
  const dialer: StreamMuxer = factory()().createStreamMuxer(outbound)
  const listener: StreamMuxer = factory()().createStreamMuxer(inbound)
  // Frames the listener sends arrive as messages on the dialer's connection, and the other way round.
  const fromListener = frameCounter(outbound)
  const fromDialer = frameCounter(inbound)
  let received = 0
  const done = new Promise<void>((resolve) => {
    listener.addEventListener('stream', (evt) => {
      evt.detail.addEventListener('message', (m) => {
        received += m.data.byteLength
        if (received === messages * size) resolve()
      })
    })
  })
  const stream = await dialer.createStream()
  const payload = new Uint8Array(size).fill(7)
  for (let i = 0; i < messages; i++) {
    if (!stream.send(payload)) await new Promise(resolve => stream.addEventListener('drain', resolve, { once: true }))
  }
  await done
  // Let any last window update cross.
  await new Promise(resolve => setTimeout(resolve, 20))
  dialer.abort(new Error('test over'))
  listener.abort(new Error('test over'))
  return { received, updates: fromListener.updates(), dataFrames: fromDialer.dataFrames() }
}

describe('patched @chainsafe/libp2p-yamux: window updates as go-yamux sends them', function () {
  it('sends a window update only once half the window is consumed, not per data frame', async function () {
    const messages = 2000
    const size = 1000
    const patched = await oneWay(yamux, messages, size)
    assert.equal(patched.received, messages * size)
    assert.ok(patched.dataFrames >= messages, `expected ≥ ${messages} data frames, saw ${patched.dataFrames}`)
    // One update (the ACK of the stream's opening) plus at most one per half window received.
    const most = 1 + Math.ceil(messages * size / (WINDOW / 2))
    assert.ok(patched.updates <= most, `the receiver sent ${patched.updates} window updates for ${patched.dataFrames} data frames; at most ${most} expected (is patches/@chainsafe+libp2p-yamux applied?)`)
    assert.ok(patched.updates >= 2, 'the sender must still be granted window past the first 256 KiB')
  })

  it('the unpatched copy sends one per data frame (what the patch removes)', async function () {
    const upstream = await oneWay(upstreamYamux as unknown as Factory, 500, 1000)
    assert.equal(upstream.received, 500 * 1000)
    assert.ok(upstream.updates >= upstream.dataFrames, `upstream sent ${upstream.updates} updates for ${upstream.dataFrames} frames`)
  })

  it('moves more than the largest window one way intact (updates keep coming)', async function () {
    const r = await oneWay(yamux, 40, 1024 * 1024)
    assert.equal(r.received, 40 * 1024 * 1024)
  })
})

describe('patched @libp2p/utils LengthPrefixedDecoder', function () {
  it('does not call the length decoder (which throws) once the buffer is empty', function () {
    let emptyCalls = 0
    const decoder = new LengthPrefixedDecoder({
      lengthDecoder: (data) => {
        if (data.byteLength === 0) emptyCalls++
        if (data.byteLength < 2) throw new RangeError('Could not decode int16BE')
        return data instanceof Uint8Array ? (data[0] << 8) | data[1] : data.getUint16(0)
      },
      encodingLength: () => 2
    })
    // Two whole messages, ending exactly on a boundary.
    const out = [...decoder.decode(new Uint8Array([0, 2, 1, 2, 0, 1, 9]))].map(b => Array.from(b.subarray()))
    assert.deepEqual(out, [[1, 2], [9]])
    assert.equal(emptyCalls, 0, 'the decoder was asked to decode an empty buffer (is patches/@libp2p+utils applied?)')
    // A split length prefix still waits for more bytes.
    assert.deepEqual([...decoder.decode(new Uint8Array([0]))], [])
    assert.deepEqual([...decoder.decode(new Uint8Array([1, 5]))].map(b => Array.from(b.subarray())), [[5]])
  })
})

describe('patched xsalsa20 (the pre-shared-key cipher under @libp2p/pnet)', function () {
  it('keeps its WebAssembly memory bounded when two streams alternate large updates', function () {
    // The copy @libp2p/pnet loads (CommonJS, untyped).
    const xsalsa20 = createRequire(import.meta.url)('xsalsa20') as (nonce: Uint8Array, key: Uint8Array) => { update: (input: Uint8Array) => Uint8Array }
    const key = new Uint8Array(32).fill(1)
    const a = xsalsa20(new Uint8Array(24).fill(2), key)
    const b = xsalsa20(new Uint8Array(24).fill(3), key)
    const reference = xsalsa20(new Uint8Array(24).fill(2), key)
    const chunk = new Uint8Array(8 * MIB_BYTES).fill(9)
    // Unpatched, each update after the other stream's grow() grew the shared
    // memory by the whole update again, until grow() threw (about 4 GiB).
    for (let i = 0; i < 40; i++) {
      const out = a.update(chunk)
      b.update(chunk)
      if (i === 0) assert.deepEqual(out.subarray(0, 64), reference.update(chunk).subarray(0, 64))
    }
  })
})

const MIB_BYTES = 1024 * 1024
