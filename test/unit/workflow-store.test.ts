import assert from 'node:assert/strict'
import Database from 'better-sqlite3'
import { WORKFLOW_STORE_SCHEMA_VERSION } from '../../src/constants.js'
import { WorkflowStore } from '../../src/store/workflow-store.js'

describe('the workflow tables (src/store/workflow-store.ts)', function () {
  it('are created if missing, kept across opens, and refuse a schema version they do not read (BAD_CONFIG)', function () {
    const db = new Database(':memory:')
    const store = WorkflowStore.open(db)
    assert.equal(store.putSchedule('a', 2, new Uint8Array([2])), true)
    WorkflowStore.open(db)
    assert.deepEqual(WorkflowStore.open(db).schedules(), [{ name: 'a', version: 2, envelope: new Uint8Array([2]) }])
    db.prepare("UPDATE wf_meta SET value = ? WHERE key = 'schema'").run(String(WORKFLOW_STORE_SCHEMA_VERSION + 1))
    assert.throws(() => WorkflowStore.open(db), (err: any) => err.code === 'BAD_CONFIG' && /schema version/.test(err.message))
  })

  it('keep only the newest version of a schedule', function () {
    const store = WorkflowStore.open(new Database(':memory:'))
    store.putSchedule('a', 5, new Uint8Array([5]))
    assert.equal(store.putSchedule('a', 4, new Uint8Array([4])), false)
    assert.equal(store.putSchedule('a', 5, new Uint8Array([9])), false)
    assert.equal(store.putSchedule('a', 6, new Uint8Array([6])), true)
    assert.deepEqual(store.schedules().map(s => s.version), [6])
  })

  it('forget old tick ids but each schedule\'s newest of each kind', function () {
    const store = WorkflowStore.open(new Database(':memory:'))
    for (const at of [1, 2, 3]) store.addTick(`a@${at}`, 'fired', 'a', at)
    store.addTick('a@1', 'ran', 'a', 1)
    store.addTick('b@1', 'fired', 'b', 1)
    store.addTick('a@3', 'fired', 'a', 3)
    assert.equal(store.pruneTicks(10), 2)
    assert.deepEqual(store.ticks('fired').sort(), ['a@3', 'b@1'])
    assert.deepEqual(store.ticks('ran'), ['a@1'])
  })

  it('write nothing and read nothing once the database is closed (a node stopping)', function () {
    const db = new Database(':memory:')
    const store = WorkflowStore.open(db)
    db.close()
    assert.equal(store.putSchedule('a', 1, new Uint8Array()), false)
    assert.deepEqual(store.ticks('ran'), [])
  })

  it('keep a delayed job\'s eta until it starts, and forget old ones', function () {
    const store = WorkflowStore.open(new Database(':memory:'))
    store.putDelay('j1', 1_000)
    store.putDelay('j2', 5_000)
    assert.equal(store.delay('j1'), 1_000)
    store.dropDelay('j1')
    assert.equal(store.delay('j1'), undefined)
    store.pruneDelays(6_000)
    assert.equal(store.delay('j2'), undefined)
  })

  it('keep chord rows whole; unfinished ones are listed, finished ones forgotten after their time', function () {
    const store = WorkflowStore.open(new Database(':memory:'))
    const row = { id: 'c', workflow: new Uint8Array([1, 2]), deadline: 9, members: ['m1', null], state: 'joining' as const, bodyJob: null, outcome: null, finished: null }
    store.saveChord(row)
    assert.deepEqual({ ...store.chord('c'), workflow: [...(store.chord('c')?.workflow ?? [])] }, { ...row, workflow: [1, 2] })
    assert.deepEqual(store.unfinishedChords().map(r => r.id), ['c'])
    store.saveChord({ ...row, state: 'done', outcome: new Uint8Array([3]), finished: 100 })
    assert.deepEqual(store.unfinishedChords(), [])
    store.pruneChords(50)
    assert.equal(store.chord('c')?.state, 'done')
    store.pruneChords(101)
    assert.equal(store.chord('c'), undefined)
    assert.equal(store.durable, false)
  })
})
