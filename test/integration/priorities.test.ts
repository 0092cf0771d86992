import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createMeshNode, type MeshNode } from '../../src/index.js'
import { rejectsWithCode } from '../helpers.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/workflow-tasks.js', import.meta.url))
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

describe('priorities and rate limits in a provider\'s queue (real nodes, real TCP)', function () {
  this.timeout(60_000)
  let provider: MeshNode
  let caller: MeshNode
  let tmp: string

  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'mesh-priority-'))
    provider = await createMeshNode({ mdns: false, serve: FIXTURES, workers: 1 })
    caller = await createMeshNode({ mdns: false, bootstrap: provider.addresses })
    await caller.waitForProvider('stamp')
  })

  after(async function () {
    await caller.stop()
    await provider.stop()
    rmSync(tmp, { recursive: true, force: true })
  })

  it('runs queued calls on a one-worker node highest priority first, first come first within a priority', async function () {
    const gate = join(tmp, 'go')
    const held = caller.callWith('hold', [gate])
    while (provider.records()[0].load.running < 1) await sleep(10)
    const priorities = [3, 9, 0, 5, 9, 1, 7, 5, 2, 8]
    const calls = priorities.map(async (p, i) => caller.callWith<[string, bigint]>('stamp', [`p${p}#${i}`], { priority: p }))
    // Every call has reached the provider's queue behind the held worker: now let the worker go.
    while (provider.records()[0].load.queued < priorities.length) await sleep(10)
    writeFileSync(gate, '')
    assert.equal(await held, 'released')
    const ran = (await Promise.all(calls)).sort((a, b) => a[1] < b[1] ? -1 : 1).map(([label]) => label)
    const expected = priorities.map((p, i) => ({ p, i })).sort((a, b) => b.p - a.p || a.i - b.i).map(({ p, i }) => `p${p}#${i}`)
    assert.deepEqual(ran, expected)
  })

  it('refuses a priority outside 0..9 with BAD_ARGUMENT, and keeps serving', async function () {
    await rejectsWithCode(caller.callWith('stamp', ['x'], { priority: 10 }), 'BAD_ARGUMENT')
    await rejectsWithCode(caller.callWith('stamp', ['x'], { priority: 1.5 }), 'BAD_ARGUMENT')
    assert.equal((await caller.callWith<[string, bigint]>('stamp', ['ok'], { priority: 0 }))[0], 'ok')
  })

  it('holds a rate limit of 10/s within a second\'s tolerance: calls over it are delayed, none dropped', async function () {
    const n = 30
    const starts = (await Promise.all(Array.from({ length: n }, async () => caller.call<number>('limited')))).sort((a, b) => a - b)
    assert.equal(starts.length, n)
    // No second holds more than 10 starts (one more at a window's edge is the tolerance)...
    for (let i = 0; i < n; i++) assert.ok(starts.filter(t => t >= starts[i] && t < starts[i] + 1000).length <= 11, `more than 11 starts in the second from ${starts[i]}`)
    // ...and the 30 calls took about 3 s, not less than 2.
    assert.ok(starts[n - 1] - starts[0] >= (n / 10 - 1) * 1000, `30 calls at 10/s ran within ${starts[n - 1] - starts[0]} ms`)
    assert.match(caller.records().find(r => r.peerId === provider.peerId)?.tasks.find(t => t.name === 'limited')?.rateLimit ?? '', /^10\/s$/)
  })
})
