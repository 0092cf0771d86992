import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decode } from '../../src/codec.js'
import { holderHint, parseJobId } from '../../src/results/id.js'
import type { JobRow } from '../../src/store/journal.js'
import { runCli, startCliNode, until, type CliNode } from '../helpers.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/reliability-tasks.js', import.meta.url))
const ID = /^[0-9a-f]{48}$/

/** A holder's journal row for `id`, read from its file while it runs (or after it died), or undefined. */
async function journalRow (dataDir: string, id: string): Promise<JobRow | undefined> {
  const file = join(dataDir, 'jobs.sqlite')
  if (!existsSync(file)) return undefined
  const Database = (await import('better-sqlite3')).default
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    return db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined
  } finally {
    db.close()
  }
}

/**
 * What holders journal and hand on, through the real CLI and real SIGKILLs:
 * a running job's state and progress survive a restart; a job that lost one
 * holder gets a new replica, so a second death loses nothing either.
 */
describe('the CLI: detached jobs across restarts and successive deaths', function () {
  this.timeout(300_000)
  let dir: string
  const nodes: CliNode[] = []

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'mesh-e2e-holders-'))
  })

  afterEach(async function () {
    await Promise.all(nodes.splice(0).map(async n => n.stop('SIGKILL')))
  })

  async function node (args: string[]): Promise<CliNode> {
    const n = await startCliNode(['--no-mdns', ...args])
    nodes.push(n)
    return n
  }

  function reach (...peers: CliNode[]): string[] {
    return ['--no-mdns', '--timeout', '20000', '--bootstrap', ...peers.flatMap(p => p.addresses)]
  }

  async function submit (args: string[], peers: CliNode[]): Promise<string> {
    const r = await runCli(['submit', ...args, ...reach(...peers)])
    assert.equal(r.code, 0, r.stderr)
    const id = r.stdout.trim()
    assert.match(id, ID)
    return id
  }

  /** Submit through `a` until its id names a replica (`a` learns of its peers a moment after their ready lines). */
  async function submitReplicated (args: string[], a: CliNode): Promise<string> {
    for (let i = 0; i < 10; i++) {
      const id = await submit(args, [a])
      if (parseJobId(id).replica !== undefined) return id
      await new Promise(resolve => setTimeout(resolve, 300))
    }
    assert.fail('no replica was chosen')
  }

  it('a job killed mid-run reads after the restart as it was journaled (its state and last progress), not PENDING', async function () {
    const key = join(dir, 'progress.key')
    const data = join(dir, 'progress-data')
    const args = ['--serve', 'matmul', '--workers', '1', '--key', key, '--data-dir', data]
    const a = await node(args)
    const b = await node(['--serve', 'matmul', '--workers', '1', '--data-dir', ':memory:', '--bootstrap', ...a.addresses])
    // A job with a replica means `a` knows `b`: the big matmul below (~8 s of work) is split between them and reports progress.
    await submitReplicated(['matmul', '2', '2'], a)
    const id = await submit(['matmul', '3000', '3000', '--job-timeout', '600000'], [a])
    await until('the job\'s progress in a\'s journal', async () => (await journalRow(data, id))?.progress != null, 120_000)
    // `b` first, so nobody takes the job over; then `a`, mid-run.
    await b.stop('SIGKILL')
    await a.stop('SIGKILL')
    const journaled = await journalRow(data, id)
    assert.ok(journaled?.progress != null && journaled.finished === null)
    const progress = decode(journaled.progress) as { done: number, total: number, job: string }
    assert.ok(progress.total > 0 && progress.done < progress.total, JSON.stringify(progress))

    // Alone after the restart, `a` re-runs it whole (nobody to split with): no new progress, so what it reports is the journal's.
    const again = await node(args)
    const r = await runCli(['status', id, '--json', ...reach(again)])
    assert.equal(r.code, 0, r.stderr)
    const status = JSON.parse(r.stdout) as { status: string, progress?: { done: number, total: number, job: string } }
    assert.ok(status.status === 'STARTED' || status.status === 'PROGRESS', r.stdout)
    assert.deepEqual({ done: status.progress?.done, total: status.progress?.total, job: status.progress?.job }, { done: progress.done, total: progress.total, job: progress.job })
  })

  describe('a job that lost a holder gets a new replica', function () {
    /** Three providers that all know each other, each journaling on disk (so the test can see who holds what). */
    async function trio (): Promise<Array<{ n: CliNode, data: string }>> {
      const stamp = Math.random().toString(16).slice(2)
      const datas = ['a', 'b', 'c'].map(x => join(dir, `${stamp}-${x}`))
      const a = await node(['--serve', FIXTURES, '--workers', '1', '--data-dir', datas[0]])
      const b = await node(['--serve', FIXTURES, '--workers', '1', '--data-dir', datas[1], '--bootstrap', ...a.addresses])
      const c = await node(['--serve', FIXTURES, '--workers', '1', '--data-dir', datas[2], '--bootstrap', ...a.addresses, ...b.addresses])
      return [{ n: a, data: datas[0] }, { n: b, data: datas[1] }, { n: c, data: datas[2] }]
    }

    /** The holders of `id` named by its hints: its provider `a`, its replica, and the third node. */
    function roles (id: string, [a, b, c]: Array<{ n: CliNode, data: string }>): { provider: typeof a, replica: typeof a, third: typeof a } {
      const hint = parseJobId(id).replica
      const replica = holderHint(b.n.peerId) === hint ? b : c
      assert.equal(holderHint(replica.n.peerId), hint)
      return { provider: a, replica, third: replica === b ? c : b }
    }

    it('provider dies: the replica takes over and re-replicates; it dies too: the third node finishes the job and answers', async function () {
      const nodes = await trio()
      const id = await submitReplicated(['slowAdd', '20', '22', '8000'], nodes[0].n)
      const { provider, replica, third } = roles(id, nodes)
      await provider.n.stop('SIGKILL')
      await until('the replica\'s takeover sends a copy to the third node', async () => (await journalRow(third.data, id))?.peer === replica.n.peerId, 60_000)
      assert.equal((await journalRow(third.data, id))?.role, 'replica')
      await replica.n.stop('SIGKILL')
      const r = await runCli(['result', id, '--wait', ...reach(third.n)])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, '42\n')
      const held = await journalRow(third.data, id)
      assert.equal(held?.state, 'SUCCESS')
      assert.equal(held?.role, 'provider', 'the third node took the job over (the replica had not finished it)')
    })

    it('replica dies: the provider picks another; the provider dies too: that one finishes the job and answers', async function () {
      const nodes = await trio()
      const id = await submitReplicated(['slowAdd', '1', '2', '8000'], nodes[0].n)
      const { provider, replica, third } = roles(id, nodes)
      await replica.n.stop('SIGKILL')
      await until('the provider sends a copy to the third node', async () => (await journalRow(third.data, id))?.peer === provider.n.peerId, 60_000)
      assert.equal((await journalRow(provider.data, id))?.peer, third.n.peerId, 'the provider journals its new replica')
      await provider.n.stop('SIGKILL')
      const r = await runCli(['result', id, '--wait', ...reach(third.n)])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, '3\n')
      assert.equal((await journalRow(third.data, id))?.role, 'provider')
    })
  })
})
