import assert from 'node:assert/strict'
import { mkdtemp, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decode, encode } from '../../src/codec.js'
import { holderHint, makeJobId, parseJobId, randomJobPart, rendezvous } from '../../src/results/id.js'
import { ResultCopies } from '../../src/results/recopy.js'
import { OutcomeBatches, StateJournal, type Settled } from '../../src/results/states.js'
import { copyOf, parseChanges } from '../../src/results/wire.js'
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
    // Drawn from a pool of random bytes: never the same part twice (across several refills), never zeros.
    const parts = new Set(Array.from({ length: 1000 }, randomJobPart))
    assert.equal(parts.size, 1000)
    assert.ok(![...parts].some(p => p === '0'.repeat(32) || p.length !== 32))
    assert.equal(holderHint('provider'), holderHint('provider'))
    assert.notEqual(holderHint('provider'), holderHint('replica'))
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
    const shared: string[] = []
    const states = new StateJournal(j, log, 20, (updates) => { shared.push(...updates.map(u => `${u.id}:${u.state}:${u.progress !== undefined ? JSON.stringify(decode(u.progress)) : '-'}`)) })
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
    // What was journaled is handed on (for the replica) once per window too: the same updates, nothing for the settled job.
    assert.deepEqual(shared, ['run:PROGRESS:{"done":100,"total":250}', 'big:PROGRESS:-'])
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
    // Back to schema 1 (no progress column, no indexes by peer), as the first release of detached jobs wrote it.
    const Database = (await import('better-sqlite3')).default
    const db = new Database(join(where, 'jobs.sqlite'))
    db.exec("DROP INDEX jobs_unfinished; DROP INDEX jobs_kept; ALTER TABLE jobs DROP COLUMN progress; UPDATE meta SET value = '1' WHERE key = 'schema'")
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

  it('finds the kept results held with a peer a page at a time (schema 3), and counts a copied result towards the bound', async function () {
    const where = join(dir, 'kept')
    const j = await Journal.open(where, 'me')
    const t = Date.now()
    for (let i = 0; i < 7; i++) {
      j.accept(row(`k${i}`, { peer: 'gone' }))
      j.settle(`k${i}`, 'SUCCESS', encode(i), t + i)
    }
    j.accept(row('running', { peer: 'gone' }))
    j.accept(row('elsewhere', { peer: 'alive' }))
    j.settle('elsewhere', 'SUCCESS', encode(0), t + 100)
    const ids = (after: number, limit: number): string[] => j.keptWith('gone', after, limit).map(r => r.id)
    const first = j.keptWith('gone', 0, 3)
    assert.deepEqual(first.map(r => r.id), ['k0', 'k1', 'k2'])
    assert.deepEqual(ids(first[2].seq, 10), ['k3', 'k4', 'k5', 'k6'])
    assert.deepEqual(decode(j.keptWith('gone', first[2].seq, 10)[3].outcome as Uint8Array), 6)
    // An expired result is not kept any more: nothing to copy.
    j.bound(j.bytes - 1)
    assert.deepEqual(ids(0, 10), ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'])
    // A peer whose id ends like another's (the index holds the end only) gets its own rows alone.
    for (const [id, peer] of [['twin1', 'A-twelve-tail'], ['twin2', 'B-twelve-tail']]) {
      j.accept(row(id, { peer }))
      j.settle(id, 'SUCCESS', encode(1), t + 200)
    }
    assert.deepEqual(j.keptWith('B-twelve-tail', 0, 10).map(r => r.id), ['twin2'])
    const before = j.bytes
    j.accept(row('copied', { role: 'replica', peer: 'p', args: null, state: 'SUCCESS', finished: t, outcome: new Uint8Array(500) }))
    assert.equal(j.bytes, before + 500 + 'copied'.length + 64)
    assert.deepEqual(j.keptWith('p', 0, 10).map(r => r.id), ['copied'])
    const plan = j.database.prepare("EXPLAIN QUERY PLAN SELECT rowid FROM jobs WHERE substr(peer, -12) = substr(@peer, -12) AND peer = @peer AND finished IS NOT NULL AND state != 'EXPIRED' AND rowid > @after ORDER BY rowid LIMIT @limit").all({ peer: 'gone', after: 0, limit: 5 }) as Array<{ detail: string }>
    assert.ok(plan.some(p => /USING INDEX jobs_kept/.test(p.detail)) && !plan.some(p => /TEMP B-TREE/.test(p.detail)), JSON.stringify(plan))
    j.close()
    // A schema-2 journal (round b) gets the index in place.
    const Database = (await import('better-sqlite3')).default
    const db = new Database(join(where, 'jobs.sqlite'))
    db.exec("DROP INDEX jobs_kept; UPDATE meta SET value = '2' WHERE key = 'schema'")
    db.close()
    const again = await Journal.open(where, 'me')
    assert.deepEqual(again.keptWith('gone', 0, 10).map(r => r.id), ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'])
    assert.equal((again.database.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string }).value, '3')
    again.close()
  })

  it('copies the results a departed peer held a page per step, never retries a refused one in a loop, and stops if the peer is back', async function () {
    const j = await Journal.open(':memory:', 'me')
    for (let i = 0; i < 10; i++) {
      j.accept(row(`r${i}`, { peer: 'gone' }))
      j.settle(`r${i}`, 'SUCCESS', encode(i), Date.now())
    }
    j.accept(row('running', { peer: 'gone' }))
    const placed: string[] = []
    let back = false
    const log = Object.assign(() => {}, { error: () => {}, trace: () => {}, enabled: false }) as any
    const copies = new ResultCopies({
      journal: j,
      logger: log,
      place: async (r, gone) => { assert.equal(gone, 'gone'); placed.push(r.id); return r.id === 'r3' ? undefined : 'new' },
      canPlace: () => true,
      alive: () => back
    }, 4, 60_000)
    copies.left('gone')
    await until('the first page', () => placed.length === 4)
    await new Promise(resolve => setTimeout(resolve, 50))
    assert.equal(placed.length, 4, 'one page per leave at once; the rest is paced')
    assert.deepEqual(j.keptWith('gone', 0, 10).map(r => r.id), ['r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9'], 'placed ones name their new holder; the refused one stays here alone')
    assert.equal(j.get('r0')?.peer, 'new')
    await copies.step()
    await copies.step()
    assert.deepEqual(placed, ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9'], 'each once, in id order; never the running job')
    assert.equal(copies.pending, 0)
    assert.equal(j.get('r3')?.peer, 'gone')
    // A peer that is back has its copies: nothing more is copied.
    for (let i = 10; i < 15; i++) {
      j.accept(row(`r${i}`, { peer: 'gone' }))
      j.settle(`r${i}`, 'SUCCESS', encode(i), Date.now())
    }
    back = true
    copies.left('gone')
    await copies.step()
    assert.equal(placed.length, 10)
    assert.equal(copies.pending, 0)
    copies.stop()
    j.close()
  })

  it('checks a provider\'s batch of changes and a copy: running states and finished copies kept, anything else BAD_ARGUMENT', function () {
    const id = makeJobId(randomJobPart(), 'prov', 'me')
    assert.deepEqual(parseChanges([[id, 'PROGRESS', encode(1)], [id, 'SUCCESS', 'not bytes']]), [[id, 'PROGRESS', encode(1)], [id, 'SUCCESS', null]])
    for (const bad of [[42], [[id, 'WHATEVER', null]], [['nope', 'SUCCESS', null]]]) {
      assert.throws(() => parseChanges(bad), (err: any) => err.code === 'BAD_ARGUMENT')
    }
    const sent = row(id, { state: 'PROGRESS', progress: encode({ done: 1 }), role: 'provider', peer: 'prov' })
    assert.deepEqual([copyOf(sent, 'prov', false, 'me', () => true).state, copyOf(sent, 'prov', false, 'me', () => true).progress], ['PENDING', null], 'a copy at submit starts PENDING')
    assert.throws(() => copyOf(sent, 'prov', false, 'someone-else', () => true), (err: any) => err.code === 'BAD_ARGUMENT')
    const moved = copyOf(sent, 'other', true, 'someone-else', () => true)
    assert.deepEqual([moved.state, moved.peer, decode(moved.progress as Uint8Array)], ['PROGRESS', 'other', { done: 1 }])
    const done = copyOf({ ...sent, state: 'SUCCESS', finished: 5, outcome: encode(42) }, 'other', true, 'x', () => true)
    assert.deepEqual([done.state, done.finished, decode(done.outcome as Uint8Array), done.args, done.role], ['SUCCESS', 5, 42, null, 'replica'])
    assert.throws(() => copyOf({ ...sent, state: 'PROGRESS', finished: 5 }, 'other', true, 'x', () => true), (err: any) => err.code === 'BAD_ARGUMENT')
  })
})
