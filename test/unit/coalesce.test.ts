import assert from 'node:assert/strict'
import { createServer, connect, type Socket } from 'node:net'
import type { MessageStream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { JOIN_SEND_BELOW_BYTES } from '../../src/constants.js'
import { sendingWhole } from '../../src/node/coalesce.js'

describe('joining Noise chunks into one write', function () {
  class FakeStream {
    sent: Uint8Array[] = []
    maxReadBufferLength = 1
    readonly log = Object.assign(() => {}, { newScope: () => 'scoped' })
    #writes = 0
    send (data: Uint8Array): boolean { this.#writes++; this.sent.push(data); return this.#writes < 3 }
  }

  it('sends a chunk list as one buffer with the same bytes, and passes the backpressure answer', function () {
    const real = new FakeStream()
    const wrapped = sendingWhole(real as unknown as MessageStream)
    const list = new Uint8ArrayList(new Uint8Array([0, 3]), new Uint8Array([7, 8, 9]))
    assert.equal(wrapped.send(list as unknown as Parameters<MessageStream['send']>[0]), true)
    assert.equal(wrapped.send(new Uint8Array([1])), true)
    assert.equal(wrapped.send(new Uint8Array([2])), false)
    assert.deepEqual(real.sent.map(b => Array.from(b)), [[0, 3, 7, 8, 9], [1], [2]])
  })

  it('leaves everything else to the real stream: its logger, its methods, its settings', function () {
    const real = new FakeStream()
    const wrapped = sendingWhole(real as unknown as MessageStream) as any
    assert.equal(wrapped.log.newScope(), 'scoped')
    wrapped.maxReadBufferLength = 42
    assert.equal(real.maxReadBufferLength, 42)
  })

  it('over a socket: corks it for the tick, then one uncork sends every chunk, uncopied, in order', async function () {
    const received: Buffer[] = []
    let gotAll: () => void = () => {}
    const all = new Promise<void>((resolve) => { gotAll = resolve })
    const server = createServer((s) => { s.on('data', (d: Buffer) => { received.push(d); if (Buffer.concat(received).byteLength === 10 + JOIN_SEND_BELOW_BYTES) gotAll() }) })
    await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
    const socket: Socket = connect((server.address() as { port: number }).port, '127.0.0.1')
    await new Promise<void>((resolve) => { socket.once('connect', resolve) })
    // What @libp2p/tcp's connection does: one socket.write per chunk.
    const tcpLike = {
      socket,
      send (data: Uint8ArrayList | Uint8Array): boolean {
        let more = true
        for (const buf of data instanceof Uint8Array ? [data] : data) more = socket.write(buf)
        return more
      }
    }
    const wrapped = sendingWhole(tcpLike as unknown as MessageStream)
    const big = new Uint8Array(JOIN_SEND_BELOW_BYTES).fill(4)
    // Small with nothing corked: joined, not corked.
    assert.equal(wrapped.send(new Uint8ArrayList(new Uint8Array([0, 3]), new Uint8Array([7, 8, 9])) as any), true)
    assert.equal(socket.writableCorked, 0)
    // Big: corks for the rest of the tick, and what follows joins the cork.
    wrapped.send(new Uint8ArrayList(new Uint8Array([1, 2]), big) as any)
    wrapped.send(new Uint8ArrayList(new Uint8Array([0, 1]), new Uint8Array([5])) as any)
    assert.equal(socket.writableCorked, 1, 'corked until the tick ends')
    await Promise.resolve()
    assert.equal(socket.writableCorked, 0, 'uncorked in a microtask')
    await all
    assert.deepEqual(Array.from(Buffer.concat(received)), [0, 3, 7, 8, 9, 1, 2, ...big, 0, 1, 5])
    socket.destroy()
    server.close()
  })
})
