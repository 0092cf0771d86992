import assert from 'node:assert/strict'
import { streamPair } from '@libp2p/utils'
import { BadArgumentError, MeshError, UnknownTaskError } from '../../src/errors.js'
import { RpcChannel, type CallHandler, type IncomingCall } from '../../src/rpc/channel.js'

/** A caller channel and a serving channel over an in-memory libp2p stream pair. */
async function pair (handler: CallHandler, maxFrameBytes = 1024 * 1024): Promise<{ caller: RpcChannel, server: RpcChannel }> {
  const [a, b] = await streamPair()
  const caller = new RpcChannel(a, { maxFrameBytes, lease: false })
  const server = new RpcChannel(b, { maxFrameBytes, lease: false, handler })
  return { caller, server }
}

const rejectsCode = async (p: Promise<unknown>, code: string): Promise<MeshError> => {
  let caught: unknown
  await assert.rejects(p, (err: unknown) => { caught = err; return err instanceof MeshError && err.code === code })
  return caught as MeshError
}

describe('rpc channel', function () {
  const open: RpcChannel[] = []
  afterEach(function () {
    for (const c of open.splice(0)) c.stream.abort(new Error('test over'))
  })
  async function make (handler: CallHandler, maxFrameBytes?: number): Promise<RpcChannel> {
    const { caller, server } = await pair(handler, maxFrameBytes)
    open.push(caller, server)
    return caller
  }

  it('answers calls by request id, in any order, faithful to BigInt and typed arrays', async function () {
    const caller = await make(async (call) => {
      if (call.task === 'slow') await new Promise(resolve => setTimeout(resolve, 20))
      return call.args
    })
    const slow = caller.call('slow', [1n << 200n])
    const fast = caller.call('fast', [new Float64Array([1.5, 2.5])])
    assert.deepEqual(await fast, [new Float64Array([1.5, 2.5])])
    assert.deepEqual(await slow, [1n << 200n])
  })

  it('rebuilds a thrown error as the same class with its code; a plain RangeError is BAD_ARGUMENT', async function () {
    const caller = await make((call) => {
      if (call.task === 'typed') throw new UnknownTaskError('no such task')
      throw new RangeError('out of range')
    })
    const typed = await rejectsCode(caller.call('typed', []), 'UNKNOWN_TASK')
    assert.ok(typed instanceof UnknownTaskError)
    assert.equal(typed.message, 'no such task')
    assert.ok(await rejectsCode(caller.call('plain', []), 'BAD_ARGUMENT') instanceof BadArgumentError)
  })

  it('delivers progress events before the result', async function () {
    const caller = await make(async (call: IncomingCall) => {
      call.progress(1)
      call.progress(2)
      return 'done'
    })
    const seen: unknown[] = []
    assert.equal(await caller.call('p', [], { onProgress: (d) => { seen.push(d) } }), 'done')
    assert.deepEqual(seen, [1, 2])
  })

  it('a stream that serves no calls answers UNKNOWN_TASK', async function () {
    const [a, b] = await streamPair()
    const caller = new RpcChannel(a, { maxFrameBytes: 1024, lease: false })
    const other = new RpcChannel(b, { maxFrameBytes: 1024, lease: false })
    open.push(caller, other)
    await rejectsCode(caller.call('add', [1, 2]), 'UNKNOWN_TASK')
  })

  it('refuses a result over the frame limit with FRAME_TOO_LARGE and keeps serving', async function () {
    const caller = await make((call) => call.task === 'big' ? new Uint8Array(4096) : 'small', 1024)
    await rejectsCode(caller.call('big', []), 'FRAME_TOO_LARGE')
    assert.equal(await caller.call('ok', []), 'small')
    assert.ok(caller.isOpen)
  })

  it('times out a call, and a cancelled call aborts the handler\'s signal', async function () {
    const started: Array<Promise<void>> = []
    let onStart = (): void => {}
    const caller = await make((call) => {
      started.push(new Promise<void>((resolve) => { call.signal.addEventListener('abort', () => { resolve() }) }))
      onStart()
      return new Promise(() => {})
    })
    await rejectsCode(caller.call('hang', [], { timeout: 30 }), 'TIMEOUT')
    await started[0]
    const controller = new AbortController()
    const running = new Promise<void>((resolve) => { onStart = resolve })
    const pending = caller.call('hang', [], { signal: controller.signal })
    await running
    controller.abort()
    await rejectsCode(pending, 'CANCELLED')
    await started[1]
    assert.equal(caller.inFlight, 0)
  })

  it('times out each of many calls at its own deadline (one timer per channel), and none too early', async function () {
    const caller = await make(async (call) => {
      await new Promise(resolve => setTimeout(resolve, call.args[0] as number))
      return call.args[0]
    })
    const started = performance.now()
    const outcomes = await Promise.allSettled([
      caller.call('sleep', [5], { timeout: 10_000 }),
      caller.call('sleep', [10_000], { timeout: 60 }),
      caller.call('sleep', [10_000], { timeout: 30 }),
      caller.call('sleep', [20], { timeout: 2 ** 40 }) // past setTimeout's range: must not fire at once
    ])
    assert.deepEqual(outcomes.map(o => o.status === 'fulfilled' ? o.value : (o.reason as MeshError).code), [5, 'TIMEOUT', 'TIMEOUT', 20])
    assert.ok(performance.now() - started >= 55, 'the 60 ms call was not failed before its deadline')
    assert.equal(caller.inFlight, 0)
  })

  it('a caller\'s time limit that is not a positive number reaches the handler as none; a huge one is clamped to what a timer holds', async function () {
    const seen: unknown[] = []
    const [a, b] = await streamPair()
    const server = new RpcChannel(b, { maxFrameBytes: 1 << 20, lease: false, handler: (call) => { seen.push(call.meta.timeout); return 1 } })
    open.push(server)
    const { encodeFramed } = await import('../../src/codec.js')
    for (const [i, t] of [-5, Number.NaN, 'soon', 1e308, 250].entries()) a.send(encodeFramed([1, i + 1, 'f', [], { timeout: t }])[0])
    await new Promise(resolve => setTimeout(resolve, 200))
    a.abort(new Error('test over'))
    assert.deepEqual(seen, [undefined, undefined, undefined, 2 ** 31 - 1, 250])
  })

  it('fails calls in flight with PEER_GONE when the stream closes', async function () {
    const caller = await make(() => new Promise(() => {}))
    const pending = caller.call('hang', [])
    caller.stream.abort(new Error('gone'))
    await rejectsCode(pending, 'PEER_GONE')
    await rejectsCode(caller.call('again', []), 'PEER_GONE')
  })
})
