import assert from 'node:assert/strict'
import { createMeshNode, type MeshNode } from '../../src/index.js'
import { watchMesh } from '../../src/events/watch.js'
import type { MeshView } from '../../src/events/view.js'
import type { TaskEvent } from '../../src/events/types.js'
import { EVENT_ROUTES } from '../../src/events/protocol.js'
import { parsePrometheus } from '../prometheus.js'
import { rejectsWithCode, until } from '../helpers.js'

describe('seeing the mesh: task events across nodes, the mesh view and Prometheus metrics', function () {
  let a: MeshNode
  let b: MeshNode
  let view: MeshView
  const events: TaskEvent[] = []

  before(async function () {
    a = await createMeshNode({ name: 'alpha', serve: 'add', mdns: false, metrics: true })
    b = await createMeshNode({ name: 'beta', serve: 'factorial', workers: 1, mdns: false, bootstrap: a.addresses, metrics: true })
    await a.waitForPeers(1, 10_000)
    await b.waitForPeers(1, 10_000)
    view = watchMesh(a)
    view.on('event', (e) => { events.push(e) })
  })

  after(async function () {
    view?.stop()
    await Promise.all([a?.stop(), b?.stop()])
  })

  it('shows both nodes, the calls each ran (local and remote events) and the tasks', async function () {
    for (let i = 0; i < 5; i++) assert.equal(await b.call('add', i, 1), i + 1)
    assert.equal(await a.call('factorial', 10), 3628800n)
    await until('beta\'s factorial event to reach alpha', () => view.jobViews({ task: 'factorial', state: 'succeeded' }).length === 1)
    const nodes = view.nodeViews()
    assert.deepEqual(nodes.map(n => n.name), ['alpha', 'beta'])
    assert.ok(nodes.every(n => n.up))
    assert.equal(nodes[0].served, 5)
    assert.equal(nodes[1].served, 1)
    const jobs = view.jobViews({ task: 'add' })
    assert.equal(jobs.length, 5)
    assert.ok(jobs.every(j => j.state === 'succeeded' && j.peer === a.peerId && j.from === b.peerId))
    assert.equal(jobs[0].args, '4, 1') // newest first
    assert.equal(view.jobViews({ node: 'beta' })[0].task, 'factorial')
    // (factorial providers also serve the helper tasks of its split, e.g. decimal.)
    const tasks = view.taskViews().filter(t => t.name === 'add' || t.name === 'factorial')
    assert.deepEqual(tasks.map(t => [t.name, t.providers, t.calls]), [['add', 1, 5], ['factorial', 1, 1]])
    assert.ok(tasks[0].p50Ms !== undefined && tasks[0].p99Ms !== undefined)
    // A call that starts and ends within one turn of beta's loop arrives as its end alone.
    assert.ok(events.some(e => e.type === 'succeeded' && e.task === 'factorial' && e.node === b.peerId && e.ms !== undefined))
    assert.ok(events.some(e => e.type === 'sent' && e.task === 'factorial' && e.node === a.peerId && e.peer === b.peerId))
  })

  it('/metrics: mesh counters move with the calls, in Prometheus text', async function () {
    const before = parsePrometheus(await a.metrics!.text())
    const count = (m: typeof before): number => m.get('mesh_calls_total{outcome="succeeded",task="add"}') ?? 0
    const n0 = count(before)
    for (let i = 0; i < 3; i++) await b.call('add', 1, 2)
    const after = parsePrometheus(await a.metrics!.text())
    assert.equal(count(after), n0 + 3)
    assert.equal(after.get('mesh_call_duration_seconds_count{task="add"}'), n0 + 3)
    assert.equal(after.get('mesh_calls_in_flight{task="add"}'), 0)
    assert.equal(after.get('mesh_peers'), 1)
    for (const name of ['mesh_queue_depth', 'mesh_workers_busy', 'mesh_steals_total', 'mesh_leases_expired_total']) assert.ok(after.has(name), name)
    // libp2p's own metrics are one set per process (src/metrics/libp2p.ts): checked where a node has its process (e2e/dashboard).
  })

  it('a failed call is an event and a failed outcome; a cancelled one too', async function () {
    await rejectsWithCode(a.call('factorial', -1), 'BAD_ARGUMENT')
    // Bad arguments are refused before running: not a job. A cancel from the node running it is.
    const job = a.submit('factorial', [3_000_000])
    await until('the long factorial to start on beta', () => view.jobViews({ task: 'factorial', state: 'running' }).length === 1)
    const running = view.jobViews({ task: 'factorial', state: 'running' })[0]
    assert.equal(b.activity.cancel(running.id), true)
    await rejectsWithCode(job.result(), 'CANCELLED')
    await until('the cancel to reach alpha', () => view.jobViews({ task: 'factorial', state: 'cancelled' }).length === 1)
    const metrics = parsePrometheus(await b.metrics!.text())
    assert.equal(metrics.get('mesh_calls_total{outcome="cancelled",task="factorial"}'), 1)
  })

  it('admin calls from a peer not in --admin are refused (FORBIDDEN) and change nothing', async function () {
    await rejectsWithCode(a.protocolCall(b.peerId, EVENT_ROUTES.drain, [], { timeout: 5000 }).done, 'FORBIDDEN')
    await rejectsWithCode(a.protocolCall(b.peerId, EVENT_ROUTES.cancel, [{ id: 'x' }], { timeout: 5000 }).done, 'FORBIDDEN')
    assert.equal(b.draining, false)
  })

  it('a node with the watcher in its admins takes its cancel and drain', async function () {
    const c = await createMeshNode({ name: 'gamma', serve: 'matmul', workers: 1, mdns: false, bootstrap: a.addresses, admins: [a.peerId] })
    try {
      await a.waitForProvider('matmul')
      const job = a.submit('matmul', [3000, 1])
      await until('the matmul to run on gamma', () => view.jobViews({ task: 'matmul', state: 'running', node: 'gamma' }).length === 1)
      const running = view.jobViews({ task: 'matmul', state: 'running' })[0]
      assert.equal(await a.protocolCall(c.peerId, EVENT_ROUTES.cancel, [{ id: running.id }], { timeout: 5000 }).done, true)
      await rejectsWithCode(job.result(), 'CANCELLED')
      assert.equal(await a.protocolCall(c.peerId, EVENT_ROUTES.drain, [], { timeout: 5000 }).done, true)
      await until('gamma to withdraw its tasks', () => a.providers('matmul').length === 0)
      assert.equal(c.draining, true)
    } finally {
      await c.stop()
    }
  })
})
