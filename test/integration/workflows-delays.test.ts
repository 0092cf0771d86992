import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createMeshNode, type MeshNode } from '../../src/index.js'
import { rejectsWithCode } from '../helpers.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/workflow-tasks.js', import.meta.url))

/** Detached jobs with a countdown or eta: held by their provider and its replica until their time (real nodes, real TCP). */
describe('workflows: delayed detached jobs', function () {
  this.timeout(60_000)
  const nodes: MeshNode[] = []
  let tmp: string
  let client: MeshNode

  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'mesh-delays-'))
    for (const name of ['a', 'b']) nodes.push(await createMeshNode({ name, mdns: false, workers: 1, serve: FIXTURES, dataDir: ':memory:', bootstrap: nodes.flatMap(n => n.addresses) }))
    client = await createMeshNode({ mdns: false, bootstrap: nodes.flatMap(n => n.addresses) })
    nodes.push(client)
    for (const n of nodes) await n.waitForPeers(2)
  })

  after(async function () {
    for (const n of nodes) await n.stop()
    rmSync(tmp, { recursive: true, force: true })
  })

  it('a provider gone before the eta: its replica runs the job at its time, once, though it is not idempotent', async function () {
    const file = join(tmp, 'replica')
    const eta = Date.now() + 3_000
    const job = await client.submit('note', [file, 'delayed'], { detach: true, eta: new Date(eta) })
    assert.equal(job.status, 'PENDING')
    const provider = nodes.find(n => n.peerId === job.holder)!
    await provider.stop()
    assert.equal(await job.result({ timeout: 30_000 }), 'delayed')
    const ran = readFileSync(file, 'utf8').trim().split('\n').map(l => l.split(' '))
    assert.equal(ran.length, 1, `ran once: ${JSON.stringify(ran)}`)
    assert.ok(Number(ran[0][1]) >= eta, `ran at ${ran[0][1]}, before its eta ${eta}`)
  })

  it('a countdown or eta that names no time is BAD_ARGUMENT, and nothing is held', async function () {
    const file = join(tmp, 'bad')
    await rejectsWithCode((async () => await client.submit('note', [file, 'x'], { detach: true, countdown: -5 }))(), 'BAD_ARGUMENT')
    await rejectsWithCode((async () => await client.submit('note', [file, 'x'], { detach: true, eta: Number.NaN }))(), 'BAD_ARGUMENT')
    await rejectsWithCode((async () => await client.submit('note', [file, 'x'], { detach: true, countdown: 1, eta: Date.now() }))(), 'BAD_ARGUMENT')
    assert.equal(existsSync(file), false)
  })
})
