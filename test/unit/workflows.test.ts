import assert from 'node:assert/strict'
import { Job, type JobHost } from '../../src/jobs/job.js'
import { MeshError } from '../../src/errors.js'
import { chain, chord, group, sig } from '../../src/workflows/signatures.js'
import { parseWorkflow } from '../../src/workflows/signatures.js'
import { checkPriority, parseRate, TaskGate } from '../../src/workflows/gate.js'
import { parseInterval, parseSchedule } from '../../src/workflows/schedule-spec.js'
import { rendezvous } from '../../src/workflows/service.js'

const LIMITS = { maxChainSteps: 5, maxWorkflowSignatures: 20 }

function throwsCode (fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof MeshError && err.code === code && (message === undefined || message.test(err.message)))
}

describe('workflows: signatures', function () {
  it('builds and parses sig, chain, group and chord, naming where each task is', function () {
    const w = chord(group(sig('add', 1, 2), chain(sig('add', 1, 1), sig('factorial'))), sig('sum'))
    const { steps } = parseWorkflow(w, LIMITS)
    assert.deepEqual(steps, [
      { task: 'add', where: 'chord header member 1' },
      { task: 'add', where: 'chord header member 2 step 1' },
      { task: 'factorial', where: 'chord header member 2 step 2' },
      { task: 'sum', where: 'chord body' }
    ])
    assert.deepEqual(chain(chain(sig('a'), sig('b')), sig('c')).steps.map(s => s.task), ['a', 'b', 'c'])
  })

  it('refuses malformed workflows, cycles and ones over the limits with a code', function () {
    throwsCode(() => parseWorkflow({ kind: 'loop' }, LIMITS), 'BAD_ARGUMENT', /unknown kind/)
    throwsCode(() => parseWorkflow(sig('@mesh/wf/chain'), LIMITS), 'BAD_ARGUMENT', /task name/)
    throwsCode(() => parseWorkflow(chain(), LIMITS), 'BAD_ARGUMENT', /at least one step/)
    throwsCode(() => parseWorkflow({ kind: 'chain', steps: [group()] }, LIMITS), 'BAD_ARGUMENT', /must be a sig/)
    throwsCode(() => parseWorkflow(chain(...Array.from({ length: 6 }, () => sig('add'))), LIMITS), 'LIMIT_EXCEEDED', /6 steps/)
    throwsCode(() => parseWorkflow(group(Array.from({ length: 21 }, () => sig('add'))), LIMITS), 'LIMIT_EXCEEDED')
    const g = group(sig('add'))
    g.members.push(chain(sig('x')), g)
    throwsCode(() => parseWorkflow(g, LIMITS), 'BAD_ARGUMENT', /cycle/)
  })

  it('ranks candidates alike on every node (rendezvous hashing), and moves only the dead one\'s keys', function () {
    const peers = ['a', 'b', 'c', 'd']
    assert.deepEqual(rendezvous('k', peers), rendezvous('k', [...peers].reverse()))
    for (let i = 0; i < 50; i++) {
      const key = `chord-${i}`
      const [first, second] = rendezvous(key, peers)
      assert.equal(rendezvous(key, peers.filter(p => p !== first))[0], second)
    }
  })
})

describe('workflows: priorities, rate limits, countdown', function () {
  it('parses rate limits as Celery does, and refuses others with BAD_CONFIG', function () {
    assert.equal(parseRate('100/m', 't'), 600)
    assert.equal(parseRate('10/s', 't'), 100)
    assert.equal(parseRate('5', 't'), 200)
    assert.equal(parseRate('2/h', 't'), 1_800_000)
    for (const bad of ['0/s', 'fast', '10/d', 10]) throwsCode(() => parseRate(bad, 't'), 'BAD_CONFIG')
  })

  it('checks priorities: 0..9 integers; none is the default', function () {
    assert.equal(checkPriority(undefined), 4)
    assert.equal(checkPriority(9), 9)
    for (const bad of [-1, 10, 2.5, '3']) throwsCode(() => checkPriority(bad), 'BAD_ARGUMENT')
  })

  it('a one-slot gate starts waiters highest priority first, FIFO within one', async function () {
    const gate = new TaskGate(1, new Map())
    const signal = new AbortController().signal
    assert.equal(gate.enter('t', 0, true, () => signal), undefined)
    const order: string[] = []
    const waits = [[1, 'a'], [7, 'b'], [1, 'c'], [9, 'd']].map(async ([p, name]) => {
      await gate.enter('t', p, true, () => signal)
      order.push(name as string)
      gate.leave(true)
    })
    assert.equal(gate.waiting, 4)
    gate.leave(true)
    await Promise.all(waits)
    assert.deepEqual(order, ['d', 'b', 'a', 'c'])
  })

  it('a cancelled waiter leaves the queue', async function () {
    const gate = new TaskGate(1, new Map())
    const controller = new AbortController()
    gate.enter('t', 0, true, () => controller.signal)
    const waiting = gate.enter('t', 0, true, () => controller.signal) as Promise<void>
    controller.abort()
    await assert.rejects(waiting, (err: unknown) => err instanceof MeshError && err.code === 'CANCELLED')
    assert.equal(gate.waiting, 0)
  })

  it('holds a countdown job until its time, and refuses a bad countdown', async function () {
    let startedAt = 0
    const host: JobHost = { choose: () => 'p', waitForProvider: async () => 'p', run: async () => { startedAt = Date.now(); return 1 }, idempotent: () => true }
    const t0 = Date.now()
    assert.equal(await new Job(host, 't', [], { countdown: 200 }).result(), 1)
    assert.ok(startedAt - t0 >= 199, `started after ${startedAt - t0} ms`)
    throwsCode(() => new Job(host, 't', [], { countdown: -1 }), 'BAD_CONFIG')
    throwsCode(() => new Job(host, 't', [], { countdown: 1, eta: new Date() }), 'BAD_CONFIG')
  })
})

describe('workflows: schedule times', function () {
  it('parses intervals and refuses what does not parse with BAD_ARGUMENT', function () {
    assert.equal(parseInterval('24h'), 86_400_000)
    assert.equal(parseInterval('500ms'), 500)
    assert.equal(parseInterval('1.5s'), 1500)
    for (const bad of ['often', '0s', '5 years', '']) throwsCode(() => parseInterval(bad), 'BAD_ARGUMENT')
  })

  it('every with at: ticks on that time of day (UTC); the same on every node', function () {
    const ticks = parseSchedule({ every: '24h', at: '04:00' })
    const t = Date.UTC(2026, 11, 1, 22, 30)
    assert.equal(new Date(ticks.next(t)).toISOString(), '2026-12-02T04:00:00.000Z')
    assert.equal(new Date(ticks.previous(t)).toISOString(), '2026-12-01T04:00:00.000Z')
    const sec = parseSchedule({ every: '1s' })
    assert.equal(sec.next(1_000_500), 1_001_000)
  })

  it('cron: five fields, ranges, lists, steps', function () {
    const t = Date.UTC(2026, 11, 1, 22, 30) // a Tuesday
    assert.equal(new Date(parseSchedule({ cron: '0 4 * * *' }).next(t)).toISOString(), '2026-12-02T04:00:00.000Z')
    assert.equal(new Date(parseSchedule({ cron: '*/15 * * * *' }).next(t)).toISOString(), '2026-12-01T22:45:00.000Z')
    assert.equal(new Date(parseSchedule({ cron: '0 9 * * 1-5' }).next(Date.UTC(2026, 11, 4, 10))).toISOString(), '2026-12-07T09:00:00.000Z')
    assert.equal(new Date(parseSchedule({ cron: '30 22 1,15 12 *' }).previous(t)).toISOString(), '2026-12-01T22:30:00.000Z')
    for (const bad of ['* * * *', '61 * * * *', '0 4 * * mon', '5-1 * * * *']) throwsCode(() => parseSchedule({ cron: bad }), 'BAD_ARGUMENT')
    throwsCode(() => parseSchedule({}), 'BAD_ARGUMENT')
    throwsCode(() => parseSchedule({ every: '1h', cron: '* * * * *' }), 'BAD_ARGUMENT')
  })
})
