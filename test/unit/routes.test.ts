import assert from 'node:assert/strict'
import { MeshError, RateLimitedError, TimeoutError, retryKind } from '../../src/errors.js'
import { RoutingTable, routeKind } from '../../src/execution/routes.js'
import { Job, type JobHost } from '../../src/jobs/job.js'
import type { IncomingCall } from '../../src/rpc/channel.js'

const call = (task: string): IncomingCall => ({ task, args: [], meta: {}, signal: new AbortController().signal, progress: () => {} })

describe('routing table', function () {
  it('decides task, method or internal in one place', function () {
    assert.equal(routeKind('factorial'), 'task')
    assert.equal(routeKind('my-task_2'), 'task')
    assert.equal(routeKind('greeter.welcomeMessage'), 'method')
    assert.equal(routeKind('@mesh/steal'), 'internal')
    assert.equal(routeKind('@mesh/obj/ref'), 'internal')
    assert.equal(routeKind('@mesh/obj/a.b'), 'internal')
    assert.equal(routeKind('.hidden'), 'task')
  })

  it('sends each call to its handler; internal calls by namespace', function () {
    const table = new RoutingTable()
    table.handle('task', (c) => `task ${c.task}`)
    table.handle('method', (c) => `method ${c.task}`)
    table.handleInternal('@mesh', (c) => `steal ${c.task}`)
    table.handleInternal('@mesh/obj', (c, from) => `objects ${c.task} from ${from}`)
    assert.equal(table.route(call('add'), 'p'), 'task add')
    assert.equal(table.route(call('greeter.hi'), 'p'), 'method greeter.hi')
    assert.equal(table.route(call('@mesh/work'), 'p'), 'steal @mesh/work')
    assert.equal(table.route(call('@mesh/obj/release'), 'p'), 'objects @mesh/obj/release from p')
  })

  it('answers UNKNOWN_TASK for a route nobody serves', function () {
    const table = new RoutingTable()
    table.handle('task', () => 1)
    assert.throws(() => table.route(call('greeter.hi'), 'p'), (err: any) => err.code === 'UNKNOWN_TASK')
    assert.throws(() => table.route(call('@mesh/steal'), 'p'), (err: any) => err.code === 'UNKNOWN_TASK')
    table.handleInternal('@mesh', () => 2)
    table.unhandleInternal('@mesh')
    assert.throws(() => table.route(call('@mesh/steal'), 'p'), (err: any) => err.code === 'UNKNOWN_TASK')
  })
})

describe('retries decided from err.retryable', function () {
  it('classifies errors: refused before the work started, lost, or final', function () {
    assert.equal(retryKind(new RateLimitedError('slow down')), 'refused')
    assert.equal(retryKind(new TimeoutError('late')), 'lost')
    assert.equal(retryKind(new MeshError('SOMETHING_NEW', 'x', { retryable: true })), 'lost')
    assert.equal(retryKind(new MeshError('SOMETHING_NEW', 'x')), false)
    assert.equal(retryKind(new Error('plain')), false)
  })

  it('re-dispatches a RATE_LIMITED call (retryable, refused before it ran) even when not idempotent', async function () {
    const tried: string[] = []
    const outcomes: Array<Error | number> = [new RateLimitedError('over the rate'), 7]
    const host: JobHost = {
      choose: (_task, avoid) => ['a', 'b'].find(p => !avoid.has(p)),
      waitForProvider: async () => 'a',
      run: async (provider) => {
        tried.push(provider)
        const next = outcomes.shift()
        if (next instanceof Error) throw next
        return next
      },
      idempotent: () => false
    }
    assert.equal(await new Job<number>(host, 'add', [3, 4], {}).result(), 7)
    assert.deepEqual(tried, ['a', 'b'])
  })
})
