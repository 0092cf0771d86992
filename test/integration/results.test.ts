import assert from 'node:assert/strict'
import { createMeshNode, type MeshNode, type Matrix } from '../../src/index.js'
import { holderHint, parseJobId } from '../../src/results/id.js'
import { rejectsWithCode } from '../helpers.js'

/** node.submit(…, { detach: true }) and node.job(id) across real nodes over TCP (direct dials, runs anywhere). */
describe('detached jobs through the library: another node follows, watches progress and cancels by id', function () {
  let provider: MeshNode
  const others: MeshNode[] = []

  before(async function () {
    // Split matmul, slowed down: a job long enough to watch its chunks' progress from elsewhere.
    provider = await createMeshNode({ mdns: false, serve: 'matmul,add', workers: 1, dataDir: ':memory:', steal: { threshold: 1, splitAlone: true, chunks: 8, throttle: 0.05 } })
  })

  after(async function () {
    await Promise.all(others.map(async n => n.stop()))
    await provider.stop()
  })

  async function client (): Promise<MeshNode> {
    const node = await createMeshNode({ mdns: false, bootstrap: provider.addresses })
    others.push(node)
    await node.waitForProvider('matmul')
    return node
  }

  it('the submitter leaves; another node gets the Job handle by id, its progress events and the result', async function () {
    const submitter = await client()
    const detached = await submitter.submit<Matrix>('matmul', [300, 300], { detach: true })
    await submitter.stop()
    const asker = await client()
    const job = await asker.job<Matrix>(detached.id)
    assert.equal(job.task, 'matmul')
    const progress: unknown[] = []
    job.on('progress', (p) => { progress.push(p) })
    const result = await job.result({ timeout: 60_000 })
    assert.equal(result.rows, 300)
    assert.equal(result.cols, 300)
    assert.equal(job.status, 'SUCCESS')
    assert.ok(progress.length > 0, 'progress arrived at a node that did not submit the job')
    assert.equal(await (await asker.job(detached.id)).refresh(), 'SUCCESS')
    const listed = await asker.jobs({ task: 'matmul' })
    assert.ok(listed.some(j => j.id === detached.id && j.state === 'SUCCESS'))
  })

  it('cancel by id from another node; unknown and malformed ids', async function () {
    const a = await client()
    const b = await client()
    const detached = await a.submit('matmul', [400, 400], { detach: true })
    const job = await b.job(detached.id)
    assert.equal(await job.cancel(), 'CANCELLED')
    await rejectsWithCode((await a.job(detached.id)).result(), 'CANCELLED')
    await rejectsWithCode(b.job('ff'.repeat(24)), 'UNKNOWN_JOB')
    await rejectsWithCode(b.job('nope'), 'BAD_ARGUMENT')
    // The one worker is free again.
    assert.equal(await b.call('add', 2, 3), 5)
  })
})

describe('detached jobs: a submitter that knows the replica sends it the copy itself', function () {
  it('the copy is at the rendezvous replica, which answers by id once the provider is gone', async function () {
    const provider = await createMeshNode({ mdns: false, serve: 'add', dataDir: ':memory:' })
    const replica = await createMeshNode({ mdns: false, serve: 'factorial', dataDir: ':memory:', bootstrap: provider.addresses })
    const submitter = await createMeshNode({ mdns: false, bootstrap: [...provider.addresses, ...replica.addresses] })
    let asker: MeshNode | undefined
    try {
      await submitter.waitForProvider('add')
      await submitter.waitForProvider('factorial')
      const job = await submitter.submit<number>('add', [20, 22], { detach: true })
      const parsed = parseJobId(job.id)
      assert.equal(parsed.provider, holderHint(provider.peerId))
      assert.equal(parsed.replica, holderHint(replica.peerId))
      assert.equal(await job.result({ timeout: 30_000 }), 42)
      await provider.stop()
      const copies = await replica.jobs()
      assert.ok(copies.some(j => j.id === job.id && j.role === 'replica' && j.state === 'SUCCESS'), 'the replica journaled the copy and its outcome')
      asker = await createMeshNode({ mdns: false, bootstrap: replica.addresses })
      await asker.waitForPeers(1)
      const again = await asker.job<number>(job.id)
      assert.equal(again.holder, replica.peerId)
      assert.equal(await again.result({ timeout: 30_000 }), 42)
    } finally {
      await asker?.stop()
      await submitter.stop()
      await replica.stop()
      await provider.stop()
    }
  })
})
