import assert from 'node:assert/strict'
import { mkdtemp, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decode, encode } from '../../src/codec.js'
import { holderHint, makeJobId, parseJobId, randomJobPart, rendezvous } from '../../src/results/id.js'
import { OutcomeBatches, StateJournal, type Settled } from '../../src/results/states.js'
import { Journal, type JobRow } from '../../src/store/journal.js'
import { rejectsWithCode, until } from '../helpers.js'

function row (id: string, over: Partial<JobRow> = {}): JobRow {
  return { id, task: 'add', args: encode([1, 2]), state: 'PENDING', role: 'provider', peer: null, submitter: 'me', idempotent: true, timeout: 1000, created: Date.now(), finished: null, outcome: null, ...over }
}

describe('the job journal (SQLite) and job ids', function () {
  let dir: string
  before(async function () { dir = await mkdtemp(join(tmpdir(), 'mesh-store-')) })

  it('keeps rows across a reopen; refuses another identity, a non-database and a foreign database', async function () {
    const where = join(dir, 'a')
    const j = await Journal.open(where, 'peer-a')
    j.accept(row('j1'))
    assert.ok(j.settle('j1', 'SUCCESS', encode(3n), Date.now()))
    assert.equal(j.settle('j1', 'FAILURE', null, Date.now()), false, 'settles once')
    j.close()
    const again = await Journal.open(where, 'peer-a')
    assert.equal(again.get('j1')?.state, 'SUCCESS')
    again.close()
    await rejectsWithCode(Journal.open(where, 'peer-b'), 'BAD_CONFIG')

    const junk = join(dir, 'junk')
    await mkdir(junk)
    await writeFile(join(junk, 'jobs.sqlite'), 'x'.repeat(5000))
    await rejectsWithCode(Journal.open(junk, 'peer-a'), 'BAD_CONFIG')

    const other = join(dir, 'other')
    await mkdir(other)
    const Database = (await import('better-sqlite3')).default
    const db = new Database(join(other, 'jobs.sqlite'))
    db.exec('CREATE TABLE t (x)')
    db.close()
    const err = await rejectsWithCode(Journal.open(other, 'peer-a'), 'BAD_CONFIG')
    assert.match(err.message, /another program/)
  })

  it('sweeps results past their TTL to EXPIRED and bounds the bytes kept, oldest first', async function () {
    const j = await Journal.open(':memory:', 'me')
    const t = 1_000_000
    for (let i = 0; i < 5; i++) {
      j.accept(row(`j${i}`))
      j.settle(`j${i}`, 'SUCCESS', new Uint8Array(1000), t + i)
    }
    assert.deepEqual(j.sweep(t + 1002, 1000, 10_000), ['j0', 'j1'])
    assert.equal(j.get('j0')?.state, 'EXPIRED')
    assert.equal(j.get('j0')?.outcome, null)
    const before = j.bytes
    assert.deepEqual(j.bound(before - 1), ['j2'])
    assert.deepEqual(j.list({ state: 'SUCCESS', limit: 10 }).map(r => r.id), ['j4', 'j3'])
    j.sweep(t + 20_000, 1000, 10_000)
    assert.equal(j.get('j0'), undefined, 'forgotten long after')
    j.close()
  })

  it('a full database refuses the write with STORE_FULL and keeps what it had', async function () {
    const j = await Journal.open(join(dir, 'full'), 'me', { maxPages: 12 })
    j.accept(row('small'))
    assert.throws(() => { j.accept(row('big', { args: new Uint8Array(200_000) })) }, (err: any) => err.code === 'STORE_FULL')
    assert.equal(j.get('small')?.task, 'add')
    assert.equal(j.get('big'), undefined)
    j.close()
  })

  it('ids carry 128 random bits and hints of their holders; anything else is BAD_ARGUMENT', function () {
    const random = randomJobPart()
    assert.equal(random.length, 32)
    const id = makeJobId(random, 'provider', 'replica')
    assert.deepEqual(parseJobId(id), { random, provider: holderHint('provider'), replica: holderHint('replica') })
    assert.equal(parseJobId(makeJobId(random, 'provider')).replica, undefined)
    for (const bad of ['', 'xyz', id.toUpperCase(), id + '0', 42]) {
      assert.throws(() => parseJobId(bad), (err: any) => err.code === 'BAD_ARGUMENT')
    }
  })

  it('rendezvous order is the same from any starting order and moves only the lost node\'s keys', function () {
    const peers = ['a', 'b', 'c', 'd', 'e']
    const keys = Array.from({ length: 200 }, (_, i) => `key${i}`)
    for (const k of keys.slice(0, 20)) assert.deepEqual(rendezvous(k, peers), rendezvous(k, [...peers].reverse()))
    const without = peers.filter(p => p !== 'c')
    for (const k of keys) {
      const first = rendezvous(k, peers)[0]
      if (first !== 'c') assert.equal(rendezvous(k, without)[0], first)
    }
  })

  it('journals running states and the last progress coalesced: one transaction per window, none for a job that settled', async function () {
    const j = await Journal.open(join(dir, 'states'), 'me')
    for (const id of ['run', 'quick', 'big']) j.accept(row(id))
    let writes = 0
    const setStates = j.setStates.bind(j)
    j.setStates = (updates) => { writes++; setStates(updates) }
    const log = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) as any
    const states = new StateJournal(j, log, 20)
    states.note('run', 'STARTED')
    for (let done = 1; done <= 100; done++) states.note('run', 'PROGRESS', { done, total: 250 })
    states.note('quick', 'STARTED')
    states.drop('quick')
    states.note('big', 'PROGRESS', new Uint8Array(100_000))
    assert.equal(j.get('run')?.state, 'PENDING', 'nothing written at the event')
    await until('the coalesced write', () => j.get('run')?.state === 'PROGRESS')
    assert.equal(writes, 1)
    assert.deepEqual(decode(j.get('run')?.progress as Uint8Array), { done: 100, total: 250 })
    assert.equal(j.get('quick')?.state, 'PENDING', 'a settled job writes no running state')
    assert.equal(j.get('big')?.state, 'PROGRESS')
    assert.equal(j.get('big')?.progress, null, 'a progress bigger than PROGRESS_JOURNAL_MAX_BYTES is not kept')
    // A state change later keeps the last progress; a settle drops it; stop() flushes.
    states.note('run', 'RETRY')
    states.stop()
    assert.equal(writes, 2)
    assert.equal(j.get('run')?.state, 'RETRY')
    assert.deepEqual(decode(j.get('run')?.progress as Uint8Array), { done: 100, total: 250 })
    j.settle('run', 'SUCCESS', encode(1), Date.now())
    assert.equal(j.get('run')?.progress, null)
    states.note('run', 'STARTED')
    assert.equal(writes, 2, 'nothing after stop')
    j.close()
  })

  it('finds the unfinished jobs held with a peer, moves them to another, and upgrades a schema-1 journal in place', async function () {
    const where = join(dir, 'v1')
    const j = await Journal.open(where, 'me')
    j.accept(row('p1', { peer: 'gone' }))
    j.accept(row('r1', { role: 'replica', peer: 'gone' }))
    j.accept(row('done', { peer: 'gone' }))
    j.settle('done', 'SUCCESS', encode(3), Date.now())
    j.accept(row('other', { peer: 'alive' }))
    assert.deepEqual(j.heldWith('gone').map(r => r.id).sort(), ['p1', 'r1'])
    j.setPeer('p1', 'new')
    assert.deepEqual(j.heldWith('gone').map(r => r.id), ['r1'])
    assert.equal(j.get('p1')?.peer, 'new')
    assert.throws(() => { j.accept(row('p1')) }, (err: any) => err.code === 'BAD_ARGUMENT', 'an id already held is refused, not replaced')
    assert.equal(j.get('p1')?.peer, 'new')
    j.close()
    // Back to schema 1 (no progress column, no index), as the first release of detached jobs wrote it.
    const Database = (await import('better-sqlite3')).default
    const db = new Database(join(where, 'jobs.sqlite'))
    db.exec("DROP INDEX jobs_unfinished; ALTER TABLE jobs DROP COLUMN progress; UPDATE meta SET value = '1' WHERE key = 'schema'")
    db.close()
    const again = await Journal.open(where, 'me')
    assert.equal(again.get('done')?.state, 'SUCCESS')
    again.setStates([{ id: 'r1', state: 'STARTED', progress: encode({ done: 1, total: 2 }) }])
    assert.deepEqual(decode(again.get('r1')?.progress as Uint8Array), { done: 1, total: 2 })
    assert.deepEqual(again.heldWith('gone').map(r => r.id), ['r1'])
    again.close()
  })

  it('sends the outcomes for each replica in one call per window', async function () {
    const sent: Array<[string, Settled[]]> = []
    const batches = new OutcomeBatches((peer, batch) => { sent.push([peer, batch]) }, 20)
    for (let i = 0; i < 10; i++) batches.add(i % 2 === 0 ? 'r1' : 'r2', [`j${i}`, 'SUCCESS', null])
    assert.equal(sent.length, 0, 'nothing sent at the settle')
    await until('the batched send', () => sent.length > 0)
    assert.deepEqual(sent.map(([peer, batch]) => [peer, batch.map(o => o[0])]), [['r1', ['j0', 'j2', 'j4', 'j6', 'j8']], ['r2', ['j1', 'j3', 'j5', 'j7', 'j9']]])
    batches.add('r1', ['j10', 'FAILURE', null])
    batches.flush()
    assert.deepEqual(sent[2], ['r1', [['j10', 'FAILURE', null]]])
  })
})
