import assert from 'node:assert/strict'
import type { MessageStream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
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
})
