import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { decode } from '../../src/codec.js'
import { loadOrCreateKey } from '../../src/node/identity.js'
import { holderHint, parseJobId } from '../../src/results/id.js'
import type { JobRow } from '../../src/store/journal.js'
import { naiveFactorial, runCli, startCliNode, until, type CliNode } from '../helpers.js'

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

/** Detached jobs through the real CLI: `mesh submit` exits, other processes ask by id (direct dials, runs anywhere). */
describe('the CLI: mesh submit, status, result, cancel, jobs', function () {
  // Each test runs 4–10 CLI processes; on a loaded 2-core machine each takes seconds to start.
  this.timeout(180_000)
  let dir: string
  const nodes: CliNode[] = []

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'mesh-e2e-results-'))
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

  it('a job submitted by one process is answered by id to another, exactly as mesh call prints it', async function () {
    const provider = await node(['--serve', 'factorial,add', '--data-dir', ':memory:'])
    const id = await submit(['factorial', '2000'], [provider])
    const result = await runCli(['result', id, '--wait', ...reach(provider)])
    assert.equal(result.code, 0, result.stderr)
    assert.equal(result.stdout, naiveFactorial(2000).toString() + '\n')
    const call = await runCli(['call', 'factorial', '2000', ...reach(provider)])
    assert.equal(result.stdout, call.stdout)
    const status = await runCli(['status', id, ...reach(provider)])
    assert.equal(status.stdout, 'SUCCESS\n', status.stderr)
    const json = await runCli(['result', id, '--json', ...reach(provider)])
    assert.equal(JSON.parse(json.stdout).result, naiveFactorial(2000).toString())
    const listed = await runCli(['jobs', '--json', '--task', 'factorial', ...reach(provider)])
    assert.deepEqual(JSON.parse(listed.stdout).map((j: { id: string }) => j.id), [id])
  })

  it('unknown ids are UNKNOWN_JOB, malformed ones BAD_ARGUMENT', async function () {
    const provider = await node(['--serve', 'add', '--data-dir', ':memory:'])
    const unknown = await runCli(['status', 'ab'.repeat(24), ...reach(provider)])
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /UNKNOWN_JOB/)
    const malformed = await runCli(['result', 'not-a-job', ...reach(provider)])
    assert.equal(malformed.code, 2)
    assert.match(malformed.stderr, /BAD_ARGUMENT/)
  })

  it('a provider killed (SIGKILL) after finishing and restarted with the same key and data dir still has the result', async function () {
    const key = join(dir, 'restart.key')
    const data = join(dir, 'restart-data')
    const args = ['--serve', 'factorial', '--key', key, '--data-dir', data]
    const first = await node(args)
    const id = await submit(['factorial', '3000'], [first])
    assert.equal((await runCli(['result', id, '--wait', ...reach(first)])).code, 0)
    await first.stop('SIGKILL')
    const again = await node(args)
    assert.equal(again.peerId, first.peerId)
    const r = await runCli(['result', id, ...reach(again)])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, naiveFactorial(3000).toString() + '\n')
  })

  it('results expire after --result-ttl, visibly EXPIRED', async function () {
    const short = await node(['--serve', 'add', '--data-dir', ':memory:', '--result-ttl', '400'])
    // A CLI process takes longer to start than this TTL: the result is gone by the time anyone asks.
    const id = await submit(['add', '1', '2'], [short])
    let status = ''
    for (let i = 0; i < 20 && status !== 'EXPIRED\n'; i++) status = (await runCli(['status', id, ...reach(short)])).stdout
    assert.equal(status, 'EXPIRED\n')
    const gone = await runCli(['result', id, ...reach(short)])
    assert.equal(gone.code, 1)
    assert.match(gone.stderr, /EXPIRED/)
  })

  it('past --result-store-max the oldest results go first, visibly EXPIRED', async function () {
    this.timeout(300_000)
    // Each factorial(5000) result is ~6.9 kB: a 20 kB bound keeps the newest two or three.
    const small = await node(['--serve', 'factorial', '--data-dir', ':memory:', '--result-store-max', '20000'])
    const ids: string[] = []
    // A factorial(5000) takes milliseconds, a CLI process seconds: each job has finished before the next is submitted.
    for (let i = 0; i < 5; i++) ids.push(await submit(['factorial', '5000'], [small]))
    assert.equal((await runCli(['result', ids[4], '--wait', ...reach(small)])).code, 0)
    const oldest = await runCli(['status', ids[0], ...reach(small)])
    assert.equal(oldest.stdout, 'EXPIRED\n', oldest.stderr)
    assert.equal((await runCli(['status', ids[4], ...reach(small)])).stdout, 'SUCCESS\n')
    const listed = JSON.parse((await runCli(['jobs', '--json', '--state', 'EXPIRED', ...reach(small)])).stdout) as Array<{ id: string }>
    assert.ok(listed.some(j => j.id === ids[0]) && !listed.some(j => j.id === ids[4]))
  })

  it('a job is cancelled by id from another process, and its worker stops', async function () {
    const provider = await node(['--serve', FIXTURES, '--workers', '1', '--data-dir', ':memory:'])
    const marker = join(dir, 'spin-started')
    const id = await submit(['spin', marker], [provider])
    const status = await runCli(['status', id, ...reach(provider)])
    assert.match(status.stdout, /^(PENDING|STARTED)\n$/)
    const cancelled = await runCli(['cancel', id, ...reach(provider)])
    assert.equal(cancelled.code, 0, cancelled.stderr)
    assert.equal(cancelled.stdout, 'CANCELLED\n')
    assert.equal((await runCli(['status', id, ...reach(provider)])).stdout, 'CANCELLED\n')
    // The one worker is free again.
    assert.equal((await runCli(['call', 'double', '21', ...reach(provider)])).stdout, '42\n')
  })

  it('a peer the holder does not allow may neither ask for a result nor cancel it', async function () {
    const ownerKey = join(dir, 'owner.key')
    const ownerId = peerIdFromPrivateKey(await loadOrCreateKey(ownerKey)).toString()
    const allowFile = join(dir, 'results-allowed.txt')
    await writeFile(allowFile, `${ownerId}\n`)
    const provider = await node(['--serve', 'add', '--data-dir', ':memory:', '--allow-file', allowFile])
    const id = await submit(['add', '2', '3', '--key', ownerKey], [provider])
    const mine = await runCli(['result', id, '--wait', '--key', ownerKey, ...reach(provider)])
    assert.equal(mine.stdout, '5\n', mine.stderr)
    const stranger = await runCli(['result', id, '--json', ...reach(provider)])
    assert.equal(stranger.code, 1)
    assert.equal(JSON.parse(stranger.stdout).error.code, 'FORBIDDEN')
    const cancel = await runCli(['cancel', id, '--json', ...reach(provider)])
    assert.equal(JSON.parse(cancel.stdout).error.code, 'FORBIDDEN')
  })

  it('a corrupt or foreign data dir is BAD_CONFIG at start', async function () {
    const corrupt = join(dir, 'corrupt')
    const { mkdir } = await import('node:fs/promises')
    await mkdir(corrupt, { recursive: true })
    await writeFile(join(corrupt, 'jobs.sqlite'), 'this is not a database, just forty-odd bytes of text')
    const bad = await runCli(['node', '--serve', 'add', '--no-mdns', '--data-dir', corrupt])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /BAD_CONFIG.*job journal/)

    const mineKey = join(dir, 'mine.key')
    const owned = join(dir, 'owned-data')
    const owner = await node(['--serve', 'add', '--key', mineKey, '--data-dir', owned])
    await owner.stop()
    const foreign = await runCli(['node', '--serve', 'add', '--no-mdns', '--key', join(dir, 'other.key'), '--data-dir', owned])
    assert.equal(foreign.code, 2)
    assert.match(foreign.stderr, /BAD_CONFIG.*belongs to peer/)
  })

  it('a full journal refuses the submit with STORE_FULL and keeps what it had', async function () {
    // The journal's tables take 8 pages (schema 2) and the workflow tables beside them (src/store/workflow-store.ts) 6: 5 left for jobs.
    const provider = await node(['--serve', 'add', '--data-dir', join(dir, 'full-data'), '--journal-max-pages', '19'])
    const kept = await submit(['add', '4', '5'], [provider])
    assert.equal((await runCli(['result', kept, '--wait', ...reach(provider)])).stdout, '9\n')
    const refused = await runCli(['submit', 'add', 'x'.repeat(60_000), '1', '--json', ...reach(provider)])
    assert.equal(refused.code, 1, refused.stdout)
    assert.equal(JSON.parse(refused.stdout).error.code, 'STORE_FULL')
    assert.equal((await runCli(['result', kept, ...reach(provider)])).stdout, '9\n')
  })

  describe('the provider and one replica hold each job', function () {
    /** Two providers that know each other; jobs are submitted through `a` (it provides, `b` is the replica). */
    async function pair (): Promise<{ a: CliNode, b: CliNode }> {
      const a = await node(['--serve', FIXTURES, '--workers', '1', '--data-dir', ':memory:'])
      const b = await node(['--serve', FIXTURES, '--workers', '1', '--data-dir', ':memory:', '--bootstrap', ...a.addresses])
      return { a, b }
    }

    it('the provider killed (SIGKILL) mid-job: the replica re-dispatches it and answers by id', async function () {
      const { a, b } = await pair()
      const id = await submitReplicated(['slowAdd', '20', '22', '3000'], a)
      await a.stop('SIGKILL')
      const r = await runCli(['result', id, '--wait', ...reach(b)])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, '42\n')
    })

    it('a non-idempotent job whose provider died ends FAILURE with MAY_HAVE_RUN, not re-run', async function () {
      const { a, b } = await pair()
      const id = await submitReplicated(['spin'], a)
      await a.stop('SIGKILL')
      const r = await runCli(['result', id, '--wait', '--json', ...reach(b)])
      assert.equal(r.code, 1)
      assert.equal(JSON.parse(r.stdout).error.code, 'MAY_HAVE_RUN')
      assert.equal((await runCli(['status', id, ...reach(b)])).stdout, 'FAILURE\n')
    })

    it('the replica killed instead: the provider still answers', async function () {
      const { a, b } = await pair()
      const id = await submitReplicated(['slowAdd', '1', '2', '1000'], a)
      await b.stop('SIGKILL')
      const r = await runCli(['result', id, '--wait', ...reach(a)])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, '3\n')
    })
  })

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

  it('the provider killed (SIGKILL) mid-job: the replica that takes it over reads as the provider last sent it (state and progress), not PENDING', async function () {
    const bData = join(dir, 'replica-progress-data')
    const a = await node(['--serve', 'matmul', '--workers', '1', '--data-dir', ':memory:'])
    const b = await node(['--serve', 'matmul', '--workers', '1', '--data-dir', bData, '--bootstrap', ...a.addresses])
    await submitReplicated(['matmul', '2', '2'], a)
    // Split between a and b (~8 s of work), so a reports progress; b holds the copy.
    const id = await submit(['matmul', '3000', '3000', '--job-timeout', '600000'], [a])
    assert.equal(parseJobId(id).replica, holderHint(b.peerId))
    // Nothing but a's batches of changes puts a running state or progress in b's copy.
    await until('the job\'s progress in the replica\'s journal', async () => (await journalRow(bData, id))?.progress != null, 120_000)
    await a.stop('SIGKILL')
    await until('the replica takes the job over', async () => (await journalRow(bData, id))?.role === 'provider', 60_000)
    // Alone, b re-runs it whole (nobody to split with): no new progress, so what it reports is what a last sent.
    const r = await runCli(['status', id, '--json', ...reach(b)])
    assert.equal(r.code, 0, r.stderr)
    const status = JSON.parse(r.stdout) as { status: string, progress?: { done: number, total: number, job: string } }
    assert.ok(status.status === 'STARTED' || status.status === 'PROGRESS', r.stdout)
    const held = await journalRow(bData, id)
    assert.ok(held?.progress != null && held.finished === null)
    const sent = decode(held.progress) as { done: number, total: number, job: string }
    assert.ok(sent.total > 0 && sent.done < sent.total, JSON.stringify(sent))
    assert.deepEqual({ done: status.progress?.done, total: status.progress?.total, job: status.progress?.job }, { done: sent.done, total: sent.total, job: sent.job })
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

    /** `mesh result` from another process gets `printed`, and `holder` finished the job itself (it took it over: the node killed had not finished it). */
    async function finishedBy (holder: { n: CliNode, data: string }, id: string, printed: string): Promise<void> {
      const r = await runCli(['result', id, '--wait', ...reach(holder.n)])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, printed)
      const held = await journalRow(holder.data, id)
      assert.equal(held?.state, 'SUCCESS')
      assert.equal(held?.role, 'provider', 'the last holder took the job over')
    }

    it('provider dies: the replica takes over and re-replicates; it dies too: the third node finishes the job and answers', async function () {
      const nodes = await trio()
      const id = await submitReplicated(['slowAdd', '20', '22', '8000'], nodes[0].n)
      const { provider, replica, third } = roles(id, nodes)
      await provider.n.stop('SIGKILL')
      await until('the replica\'s takeover sends a copy to the third node', async () => (await journalRow(third.data, id))?.peer === replica.n.peerId, 60_000)
      assert.equal((await journalRow(third.data, id))?.role, 'replica')
      await replica.n.stop('SIGKILL')
      await finishedBy(third, id, '42\n')
    })

    /** A finished job at `holder` (killed last) whose other holder `first` is killed: `holder` copies the result to `third`, which answers after both died. */
    async function resultOutlives (id: string, first: { n: CliNode, data: string }, holder: { n: CliNode, data: string }, third: { n: CliNode, data: string }, printed: string): Promise<void> {
      await first.n.stop('SIGKILL')
      await until('the result is copied to the third node', async () => {
        const copy = await journalRow(third.data, id)
        return copy?.state === 'SUCCESS' && copy.peer === holder.n.peerId
      }, 60_000)
      await until('the holder journals the new holder', async () => (await journalRow(holder.data, id))?.peer === third.n.peerId, 60_000)
      await holder.n.stop('SIGKILL')
      const r = await runCli(['result', id, ...reach(third.n)])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, printed)
      assert.equal((await runCli(['status', id, ...reach(third.n)])).stdout, 'SUCCESS\n')
    }

    it('a finished job whose replica died gets a new one: the provider dies too, and the result is still there by id', async function () {
      const nodes = await trio()
      const id = await submitReplicated(['slowAdd', '20', '22', '10'], nodes[0].n)
      const { provider, replica, third } = roles(id, nodes)
      assert.equal((await runCli(['result', id, '--wait', ...reach(provider.n)])).stdout, '42\n')
      await until('the outcome reaches the replica', async () => (await journalRow(replica.data, id))?.state === 'SUCCESS', 60_000)
      assert.equal(await journalRow(third.data, id), undefined, 'two holders, not three')
      await resultOutlives(id, replica, provider, third, '42\n')
    })

    it('a finished job whose provider died: the replica copies the result on; it dies too, and the result is still there by id', async function () {
      const nodes = await trio()
      const id = await submitReplicated(['slowAdd', '1', '2', '10'], nodes[0].n)
      const { provider, replica, third } = roles(id, nodes)
      assert.equal((await runCli(['result', id, '--wait', ...reach(provider.n)])).stdout, '3\n')
      await until('the outcome reaches the replica', async () => (await journalRow(replica.data, id))?.state === 'SUCCESS', 60_000)
      await resultOutlives(id, provider, replica, third, '3\n')
    })

    it('replica dies: the provider picks another; the provider dies too: that one finishes the job and answers', async function () {
      const nodes = await trio()
      const id = await submitReplicated(['slowAdd', '1', '2', '8000'], nodes[0].n)
      const { provider, replica, third } = roles(id, nodes)
      await replica.n.stop('SIGKILL')
      await until('the provider sends a copy to the third node', async () => (await journalRow(third.data, id))?.peer === provider.n.peerId, 60_000)
      // The copy is journaled there before the answer; the provider journals its new replica on the answer.
      await until('the provider journals its new replica', async () => (await journalRow(provider.data, id))?.peer === third.n.peerId, 60_000)
      await provider.n.stop('SIGKILL')
      await finishedBy(third, id, '3\n')
    })
  })
})
