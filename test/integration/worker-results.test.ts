import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { createMeshNode, type MeshNode } from '../../src/index.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/buffer-tasks.js', import.meta.url))

describe('typed-array results of worker threads (real nodes over TCP)', function () {
  let provider: MeshNode
  let caller: MeshNode
  before(async function () {
    provider = await createMeshNode({ serve: [FIXTURES], workers: 1, mdns: false })
    caller = await createMeshNode({ mdns: false, bootstrap: provider.addresses })
    await caller.waitForProvider('made')
  })
  after(async function () {
    await caller?.stop()
    await provider?.stop()
  })

  it('a fresh result (freshResults) arrives whole, call after call, its buffers moved out of the worker', async function () {
    for (const v of [1, 2, 3]) {
      const r = await caller.call<{ n: number, data: Float64Array, small: Float64Array }>('made', v)
      assert.equal(r.data.length, 100_000)
      assert.ok(r.data.every(x => x === v))
      assert.deepEqual(r.small, new Float64Array([v]))
    }
  })

  it('an array the task keeps is copied, so the worker still has it whole on the next call', async function () {
    for (let i = 0; i < 3; i++) {
      const r = await caller.call<Float64Array>('kept')
      assert.equal(r.length, 100_000)
      assert.ok(r.every(x => x === 7))
    }
  })
})
