import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chain, chord, createMeshNode, group, sig, type MeshNode } from '../../src/index.js'
import { rejectsWithCode } from '../helpers.js'

const TASKS = fileURLToPath(new URL('../../../examples/workflow-tasks.js', import.meta.url))

/** Chords held by nodes with a data dir on disk: journaled joins, members and body as detached jobs (real nodes, real TCP). */
describe('workflows: journaled chord joins', function () {
  this.timeout(120_000)
  const nodes: MeshNode[] = []
  let tmp: string
  let submitter: MeshNode
  const fired = (): number => nodes.reduce((s, n) => s + n.workflowStats().chordsFired, 0)

  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'mesh-chords-'))
    for (const [name, serve] of [['adder', `add,${TASKS}`], ['factorialer', 'factorial']]) {
      nodes.push(await createMeshNode({ name, serve, mdns: false, workers: 1, dataDir: join(tmp, name), bootstrap: nodes.flatMap(n => n.addresses) }))
    }
    submitter = await createMeshNode({ name: 'submitter', mdns: false, bootstrap: nodes.flatMap(n => n.addresses) })
    nodes.push(submitter)
    for (const n of nodes) await n.waitForPeers(2)
  })

  after(async function () {
    for (const n of nodes) await n.stop()
    rmSync(tmp, { recursive: true, force: true })
  })

  it('runs exactly once ([2, 4, 6] → 12, the empty group, a chain body), its members being detached jobs of the mesh', async function () {
    const before = fired()
    assert.equal(await submitter.run(chord(group(...[1, 2, 3].map(n => sig('add', n, n))), sig('sum'))), 12)
    assert.equal(fired() - before, 1)
    assert.equal(await submitter.run(chord(group(), sig('sum'))), 0)
    assert.equal(fired() - before, 2)
    assert.equal(await submitter.run(chord([sig('add', 500, 500), sig('add', 1, 1)], chain(sig('sum'), sig('digits')))), 4)
    assert.equal(fired() - before, 3)
    // Journaled: the members ran as detached jobs (kept by their providers, askable by id), the body too when it is one task.
    const jobs = await submitter.jobs({ task: 'add' })
    assert.equal(jobs.filter(j => j.state === 'SUCCESS').length, 5)
    assert.equal((await submitter.jobs({ task: 'sum' })).length, 2)
  })

  it('fails with a failed member\'s error, and does not fire the body', async function () {
    const before = fired()
    await rejectsWithCode(submitter.run(chord(group(sig('add', 1, 1), sig('factorial', -1)), sig('sum'))), 'BAD_ARGUMENT')
    assert.equal(fired(), before)
  })
})
