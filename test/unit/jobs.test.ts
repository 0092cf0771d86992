import assert from 'node:assert/strict'
import { WorkGuard } from '../../src/jobs/guard.js'
import { Job, type JobHost, type JobStatus } from '../../src/jobs/job.js'
import { BadArgumentError, BusyError, NotRunningError, PeerGoneError } from '../../src/errors.js'

/** A host whose providers answer from a script: each attempt takes the next outcome. */
function scripted (providers: string[], outcomes: Array<Error | number>, idempotent = true): JobHost & { tried: string[] } {
  const tried: string[] = []
  return {
    tried,
    choose: (_task, avoid) => providers.find(p => !avoid.has(p)),
    waitForProvider: async () => providers[0],
    run: async (provider) => {
      tried.push(provider)
      const next = outcomes.shift()
      if (next instanceof Error) throw next
      return next
    },
    idempotent: () => idempotent
  }
}

function statuses (job: Job): JobStatus[] {
  const seen: JobStatus[] = []
  job.on('status', (s) => { seen.push(s) })
  return seen
}

describe('jobs', function () {
  it('re-dispatches a refused call to another provider at once, and succeeds once', async function () {
    const host = scripted(['a', 'b'], [new BusyError('full'), 7])
    const job = new Job(host, 't', [])
    const seen = statuses(job)
    assert.equal(await job.result(), 7)
    assert.deepEqual(host.tried, ['a', 'b'])
    assert.deepEqual(seen, ['STARTED', 'RETRY', 'STARTED', 'SUCCESS'])
    assert.equal(job.attempts, 2)
  })

  it('retries a draining refusal even for a task that is not idempotent (it never ran)', async function () {
    const job = new Job(scripted(['a', 'b'], [new NotRunningError('draining'), 1], false), 't', [])
    assert.equal(await job.result(), 1)
  })

  it('re-runs a lost call only when the task is idempotent', async function () {
    assert.equal(await new Job(scripted(['a', 'b'], [new PeerGoneError('gone'), 3], true), 't', []).result(), 3)
    const unsafe = new Job(scripted(['a', 'b'], [new PeerGoneError('gone'), 3], false), 't', [])
    await assert.rejects(unsafe.result(), (err: any) => err.code === 'PEER_GONE' && err.retryable === false && /not idempotent/.test(err.message))
    assert.equal(unsafe.status, 'FAILURE')
    // The caller may say otherwise for one call.
    assert.equal(await new Job(scripted(['a', 'b'], [new PeerGoneError('gone'), 4], false), 't', [], { idempotent: true }).result(), 4)
  })

  it('does not retry final errors, and stops after `retries` re-dispatches', async function () {
    const bad = new Job(scripted(['a', 'b'], [new BadArgumentError('no'), 1]), 't', [])
    await assert.rejects(bad.result(), (err: any) => err.code === 'BAD_ARGUMENT')
    assert.equal(bad.attempts, 1)
    const host = scripted(['a', 'b'], [new BusyError('1'), new BusyError('2'), new BusyError('3'), 1])
    await assert.rejects(new Job(host, 't', [], { retries: 2 }).result(), (err: any) => err.code === 'BUSY')
    assert.equal(host.tried.length, 3)
  })

  it('cancel settles the job as CANCELLED and aborts the attempt in flight', async function () {
    let aborted = false
    const host: JobHost = {
      choose: () => 'a',
      waitForProvider: async () => 'a',
      run: async (_p, _t, _a, { cancelHook }) => new Promise((_resolve, reject) => {
        cancelHook(() => { aborted = true; reject(new Error('aborted')) })
      }),
      idempotent: () => true
    }
    const job = new Job(host, 't', [])
    await new Promise((resolve) => job.once('status', resolve)) // STARTED: the attempt is in flight
    await job.cancel()
    assert.equal(job.status, 'CANCELLED')
    assert.ok(aborted)
    // Cancelled before it ever started: no attempt at all.
    const early = new Job(host, 't', [])
    await early.cancel()
    assert.equal(early.status, 'CANCELLED')
    assert.equal(early.attempts, 0)
    await assert.rejects(job.result(), (err: any) => err.code === 'CANCELLED')
  })

  it('result({ timeout }) bounds the wait without ending the job', async function () {
    let finish!: (v: number) => void
    const host: JobHost = { choose: () => 'a', waitForProvider: async () => 'a', run: async () => new Promise<number>((resolve) => { finish = resolve }), idempotent: () => true }
    const job = new Job(host, 't', [])
    await assert.rejects(job.result({ timeout: 10 }), (err: any) => err.code === 'TIMEOUT')
    finish(9)
    assert.equal(await job.result(), 9)
  })
})

describe('work guard', function () {
  it('admits workers + maxQueue pool calls, then answers BUSY (retryable), and NOT_RUNNING when draining', async function () {
    const guard = new WorkGuard({ workers: 2, maxQueue: 3 })
    for (let i = 0; i < 5; i++) guard.admit(true)
    assert.throws(() => { guard.admit(true) }, (err: any) => err.code === 'BUSY' && err.retryable === true)
    guard.admit(false) // inline calls do not queue for workers
    guard.release(true)
    guard.admit(true)
    guard.draining = true
    assert.throws(() => { guard.admit(false) }, (err: any) => err.code === 'NOT_RUNNING' && err.retryable === true)
    assert.equal(await guard.idle(5), false)
    for (let i = 0; i < 5; i++) guard.release(true)
    const idle = guard.idle(10_000)
    guard.release(false)
    assert.equal(await idle, true)
  })

  it('aborts a task signal with TIME_LIMIT at the hard limit, or TIMEOUT at the caller’s timeout, whichever is first', async function () {
    const guard = new WorkGuard({ workers: 1, maxQueue: 0, taskTimeLimit: 20 })
    const hard = guard.limit(new AbortController().signal, 10_000)
    await new Promise((resolve) => hard.signal.addEventListener('abort', resolve))
    assert.equal((hard.signal.reason as any).code, 'TIME_LIMIT')
    const caller = guard.limit(new AbortController().signal, 5)
    await new Promise((resolve) => caller.signal.addEventListener('abort', resolve))
    assert.equal((caller.signal.reason as any).code, 'TIMEOUT')
    const cancelled = new AbortController()
    const follow = guard.limit(cancelled.signal, 10_000)
    cancelled.abort(new Error('cancel'))
    assert.equal((follow.signal.reason as Error).message, 'cancel')
    follow.dispose()
  })
})
