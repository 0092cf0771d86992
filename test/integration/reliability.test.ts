import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createMeshNode, MeshError, type Job, type MeshNode } from '../../src/index.js'
import { MESH_BIN, startCliNode, type CliNode } from '../helpers.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/reliability-tasks.js', import.meta.url))
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

async function waitFor (what: string, check: () => boolean, timeout = 20_000): Promise<void> {
  const until = Date.now() + timeout
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

/** A provider process serving the test tasks, reached by bootstrap (no mDNS needed). */
async function provider (...extra: string[]): Promise<CliNode> {
  return startCliNode(['--serve', FIXTURES, '--no-mdns', '--workers', '1', ...extra])
}

/** Count every SUCCESS status and every settlement of each job: the caller must see one result per job. */
function watch (jobs: Job[]): { successes: Map<string, number> } {
  const successes = new Map<string, number>()
  for (const job of jobs) {
    job.on('status', (s) => { if (s === 'SUCCESS') successes.set(job.id, (successes.get(job.id) ?? 0) + 1) })
  }
  return { successes }
}

describe('calls that survive failure (real processes, real kills)', function () {
  this.timeout(120_000)
  const started: CliNode[] = []
  const callers: MeshNode[] = []
  let tmp: string

  before(function () { tmp = mkdtempSync(join(tmpdir(), 'mesh-reliability-')) })

  after(async function () {
    for (const p of started) {
      try { p.process.kill('SIGCONT') } catch { /* gone */ }
      await p.stop('SIGKILL')
    }
    for (const c of callers) await c.stop()
    rmSync(tmp, { recursive: true, force: true })
  })

  async function providers (n: number, ...extra: string[]): Promise<CliNode[]> {
    const list = await Promise.all(Array.from({ length: n }, async () => provider(...extra)))
    started.push(...list)
    return list
  }

  async function caller (...nodes: CliNode[]): Promise<MeshNode> {
    const node = await createMeshNode({ mdns: false, bootstrap: nodes.flatMap(n => n.addresses) })
    callers.push(node)
    await node.waitForPeers(nodes.length, 20_000)
    return node
  }

  it('kill -9 of a provider with 1,000 calls in flight: all complete, correct, none twice', async function () {
    const [a, b] = await providers(2)
    const node = await caller(a, b)
    const jobs = Array.from({ length: 1000 }, (_, i) => node.submit<number>('slowAdd', [i, 1, 1500], { timeout: 60_000 }))
    const { successes } = watch(jobs)
    await waitFor('calls spread over both providers', () => jobs.every(j => j.status === 'STARTED'))
    await sleep(300)
    a.process.kill('SIGKILL')
    const results = await Promise.all(jobs.map(async j => j.result()))
    results.forEach((r, i) => { assert.equal(r, i + 1) })
    assert.ok(jobs.every(j => successes.get(j.id) === 1), 'every job settled with exactly one result')
    const moved = jobs.filter(j => j.providers[0] === a.peerId)
    assert.ok(moved.length > 0, 'some calls were on the killed provider')
    for (const j of moved) {
      assert.ok(j.attempts >= 2, `job ${j.id} ran on the killed provider and was re-dispatched`)
      assert.equal(j.provider, b.peerId)
    }
  })

  it('a provider that hangs (SIGSTOP) is detected by its lease and its calls re-dispatched', async function () {
    const [a, b] = await providers(2)
    const node = await caller(a, b)
    const jobs = Array.from({ length: 100 }, (_, i) => node.submit<number>('slowAdd', [i, 2, 1000], { timeout: 60_000 }))
    await sleep(200)
    a.process.kill('SIGSTOP')
    const results = await Promise.all(jobs.map(async j => j.result()))
    results.forEach((r, i) => { assert.equal(r, i + 2) })
    const moved = jobs.filter(j => j.providers[0] === a.peerId)
    assert.ok(moved.length > 0)
    for (const j of moved) assert.equal(j.provider, b.peerId)
    // The hung peer's connection was closed, so nobody keeps choosing it.
    assert.ok(!node.providers('slowAdd').includes(a.peerId))
    a.process.kill('SIGCONT')
  })

  it('the hard time limit terminates an endless task, and the node keeps serving', async function () {
    const [p] = await providers(1, '--task-time-limit', '300')
    const node = await caller(p)
    for (let round = 0; round < 2; round++) {
      await assert.rejects(node.callWith('spin', [], { retries: 0, timeout: 30_000 }), (err: any) => err.code === 'TIME_LIMIT')
      // One worker: this runs only if the spinning worker was replaced.
      assert.equal(await node.callWith('double', [21], { timeout: 20_000 }), 42)
    }
  })

  it('cancel from the library stops the remote work and frees the worker', async function () {
    const [p] = await providers(1)
    const node = await caller(p)
    const marker = join(tmp, 'spin-lib')
    const job = node.submit('spin', [marker], { timeout: 120_000 })
    await waitFor('the task to start on the provider', () => existsSync(marker))
    await job.cancel()
    assert.equal(job.status, 'CANCELLED')
    await assert.rejects(job.result(), (err: any) => err.code === 'CANCELLED')
    // No time limit on this node and one worker: only the cancel can have freed it.
    assert.equal(await node.callWith('double', [5], { timeout: 20_000 }), 10)
  })

  it('Ctrl-C on `mesh call` stops the remote work and frees the worker', async function () {
    const [p] = await providers(1)
    const marker = join(tmp, 'spin-cli')
    const child = spawn(process.execPath, [MESH_BIN, 'call', 'spin', marker, '--no-mdns', '--bootstrap', ...p.addresses, '--timeout', '120000'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    const exited = new Promise<number | null>((resolve) => { child.on('exit', (code) => { resolve(code) }) })
    await waitFor('the task to start on the provider', () => existsSync(marker))
    child.kill('SIGINT')
    assert.notEqual(await exited, 0)
    assert.match(stderr, /CANCELLED/)
    const node = await caller(p)
    assert.equal(await node.callWith('double', [4], { timeout: 20_000 }), 8)
  })

  it('a flood of 20,000 calls at a one-worker node: no crash, bounded memory, each answered or refused BUSY', async function () {
    const [p] = await providers(1, '--max-queue', '16')
    const node = await caller(p)
    const jobs = Array.from({ length: 20_000 }, (_, i) => node.submit<number>('double', [i], { retries: 0, timeout: 60_000 }))
    const outcomes = await Promise.allSettled(jobs.map(async j => j.result()))
    let answered = 0
    let refused = 0
    outcomes.forEach((o, i) => {
      if (o.status === 'fulfilled') {
        assert.equal(o.value, 2 * i)
        answered++
      } else {
        assert.ok(o.reason instanceof MeshError, String(o.reason))
        assert.equal(o.reason.code, 'BUSY', o.reason.message)
        assert.equal(o.reason.retryable, true)
        refused++
      }
    })
    assert.ok(answered > 0 && refused > 0, `answered ${answered}, refused ${refused}`)
    assert.equal(p.process.exitCode, null, 'the provider is alive')
    const peakKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p.process.pid}/status`, 'utf8'))?.[1])
    assert.ok(peakKb < 400 * 1024, `provider peak RSS ${peakKb} kB`)
    assert.equal(await node.callWith('double', [1], { timeout: 20_000 }), 2)
  })

  it('SIGTERM during work: the node finishes what it holds, refuses new work, exits 0; nothing is lost', async function () {
    const [a, b] = await providers(2)
    const node = await caller(a, b)
    const first = Array.from({ length: 200 }, (_, i) => node.submit<number>('slowAdd', [i, 3, 800], { timeout: 60_000 }))
    await sleep(200)
    const exit = a.stop('SIGTERM')
    const second = Array.from({ length: 200 }, (_, i) => node.submit<number>('slowAdd', [i, 4, 100], { timeout: 60_000 }))
    const r1 = await Promise.all(first.map(async j => j.result()))
    const r2 = await Promise.all(second.map(async j => j.result()))
    r1.forEach((r, i) => { assert.equal(r, i + 3) })
    r2.forEach((r, i) => { assert.equal(r, i + 4) })
    assert.equal(await exit, 0)
    const finishedByA = first.filter(j => j.provider === a.peerId && j.attempts === 1)
    assert.ok(finishedByA.length > 0, 'the draining node finished calls it held')
  })

  it('SIGTERM past the drain timeout hands held calls back: callers re-dispatch them', async function () {
    const [a, b] = await providers(2, '--drain-timeout', '100')
    const node = await caller(a, b)
    const jobs = Array.from({ length: 100 }, (_, i) => node.submit<number>('slowAdd', [i, 5, 3000], { timeout: 60_000 }))
    await sleep(300)
    assert.equal(await a.stop('SIGTERM'), 0)
    const results = await Promise.all(jobs.map(async j => j.result()))
    results.forEach((r, i) => { assert.equal(r, i + 5) })
    const handedBack = jobs.filter(j => j.providers[0] === a.peerId)
    assert.ok(handedBack.length > 0)
    for (const j of handedBack) assert.equal(j.provider, b.peerId)
  })
})
