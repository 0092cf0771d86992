import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chord, createMeshNode, group, sig, type MeshNode } from '../../src/index.js'
import { rejectsWithCode, startCliNode, type CliNode } from '../helpers.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/workflow-tasks.js', import.meta.url))
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** The pids that noted a start in `marker` so far. */
function starters (marker: string): string[] {
  return existsSync(marker) ? readFileSync(marker, 'utf8').split('\n').filter(l => l !== '') : []
}

describe('a chord whose member\'s node is killed mid-run (real processes, kill -9)', function () {
  this.timeout(120_000)
  let tmp: string
  let providers: CliNode[] = []
  let submitter: MeshNode

  beforeEach(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'mesh-chord-'))
    providers = await Promise.all([0, 1].map(async () => startCliNode(['--serve', FIXTURES, '--no-mdns', '--workers', '1'])))
    submitter = await createMeshNode({ mdns: false, bootstrap: providers.flatMap(p => p.addresses) })
    await submitter.waitForPeers(2)
  })

  afterEach(async function () {
    for (const p of providers) await p.stop('SIGKILL')
    await submitter.stop()
    rmSync(tmp, { recursive: true, force: true })
  })

  /** Kill -9 a provider that has started a member, once members have started. */
  async function killOneRunning (marker: string): Promise<void> {
    while (starters(marker).length === 0) await sleep(20)
    const pid = Number(starters(marker)[0])
    const victim = providers.find(p => p.process.pid === pid)
    assert.ok(victim !== undefined, `pid ${pid} is not a provider`)
    await victim.stop('SIGKILL')
  }

  it('idempotent members are re-run elsewhere: the chord completes exactly, and fires once', async function () {
    const marker = join(tmp, 'started')
    const fired = join(tmp, 'fired')
    const members = [1, 2, 3, 4, 5, 6].map(n => sig('slowDouble', n, 1500, marker))
    const outcome = submitter.run(chord(group(members), sig('record', fired)))
    await killOneRunning(marker)
    assert.equal(await outcome, 2 * (1 + 2 + 3 + 4 + 5 + 6))
    const firings = readFileSync(fired, 'utf8').split('\n').filter(l => l !== '')
    assert.deepEqual(firings, [JSON.stringify([2, 4, 6, 8, 10, 12])])
  })

  it('a member that may not run twice fails the chord with that member\'s error, and the body never fires', async function () {
    const marker = join(tmp, 'started')
    const fired = join(tmp, 'fired')
    const members = [1, 2, 3, 4].map(n => sig('slowDoubleOnce', n, 1500, marker))
    const outcome = submitter.run(chord(group(members), sig('record', fired)), { retries: 3 })
    outcome.catch(() => {}) // awaited below, after the kill
    await killOneRunning(marker)
    const err = await rejectsWithCode(outcome, 'PEER_GONE')
    assert.match(err.message, /not idempotent/)
    assert.equal(existsSync(fired), false)
  })
})
