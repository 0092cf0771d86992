import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chord, constants, createMeshNode, group, sig } from '../../src/index.js'
import { runCli, startCliNode, type CliNode } from '../helpers.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/workflow-tasks.js', import.meta.url))
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Each line a task appended: its fields split on spaces. */
function lines (file: string): string[][] {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8').split('\n').filter(l => l !== '').map(l => l.split(' '))
}

/** Schedules and delayed jobs kept in each node's data dir: every node killed (SIGKILL) and restarted with its key and data dir. */
describe('workflows kept across restarts (real processes, the CLI, real data dirs)', function () {
  this.timeout(240_000)
  const nodes: CliNode[] = []
  let tmp: string

  before(function () { tmp = mkdtempSync(join(tmpdir(), 'mesh-wf-restart-')) })

  afterEach(async function () {
    await Promise.all(nodes.splice(0).map(async n => n.stop('SIGKILL')))
  })

  after(function () { rmSync(tmp, { recursive: true, force: true }) })

  const live = (): CliNode[] => nodes.filter(n => n.process.exitCode === null && n.process.signalCode === null)
  const client = (): string[] => ['--no-mdns', '--timeout', '20000', '--bootstrap', ...live().flatMap(n => n.addresses)]

  /** Start node `i` with its own key and data dir, bootstrapped to the nodes up now. */
  async function start (i: number, bootstrap: string[] = []): Promise<CliNode> {
    const others = [...live().flatMap(n => n.addresses), ...bootstrap]
    const n = await startCliNode(['--serve', FIXTURES, '--no-mdns', '--workers', '1', '--name', `kept-${i}`,
      '--key', join(tmp, `node-${i}.key`), '--data-dir', join(tmp, `data-${i}`), ...(others.length > 0 ? ['--bootstrap', ...others] : [])])
    nodes.push(n)
    return n
  }

  it('a schedule outlives every node of the mesh restarting: it is still listed and fires, 10 ± 1 ticks in 10 s, none run twice', async function () {
    for (let i = 0; i < 3; i++) await start(i)
    const file = join(tmp, 'ticks')
    const added = await runCli(['schedule', 'add', 'kept', '--every', '1s', '--pass-tick', 'tickLog', file, ...client()])
    assert.equal(added.code, 0, added.stderr)
    while (lines(file).length < 2) await sleep(50)
    const ids = nodes.map(n => n.peerId)
    await Promise.all(nodes.splice(0).map(async n => n.stop('SIGKILL')))
    const beforeRestart = lines(file).length
    for (let i = 0; i < 3; i++) await start(i)
    assert.deepEqual(nodes.map(n => n.peerId), ids, 'each node came back with its identity')
    const up = Date.now()
    // Nobody added it again: it came back from the data dirs.
    const ls = await runCli(['schedule', 'ls', ...client()])
    assert.match(ls.stdout, /kept\s+every 1s\s+tickLog/, ls.stderr)
    // Counted by scheduled time, from when every node has settled; a loaded machine gets a few seconds to finish the last runs.
    const from = Math.ceil((up + constants.SCHEDULE_SETTLE_MS + 1_000) / 1000) * 1000
    while (Date.now() < from + 10_000 + 5_000) await sleep(100)
    const all = lines(file)
    const shown = all.map(r => r.join(' ')).join(', ')
    assert.ok(all.length > beforeRestart, 'ticks ran after the restart')
    const tickIds = all.map(([t]) => t)
    assert.equal(new Set(tickIds).size, tickIds.length, `a tick ran twice: ${shown}`)
    const inWindow = new Set(all.filter(([, at]) => Number(at) >= from && Number(at) < from + 10_000).map(([t]) => t))
    assert.ok(Math.abs(inWindow.size - 10) <= 1, `${inWindow.size} ticks in the 10 s window from ${from}: ${shown}`)
    assert.equal((await runCli(['schedule', 'rm', 'kept', ...client()])).code, 0)
  })

  it('delayed jobs (mesh submit --countdown) survive their holder\'s restart: one fires at its time, one whose time passed while down fires at once; each once', async function () {
    const holder = await start(0)
    const file = join(tmp, 'delayed')
    const submit = async (label: string, countdown: string): Promise<{ id: string, eta: number }> => {
      const before = Date.now()
      const r = await runCli(['submit', 'note', file, label, '--countdown', countdown, ...client()])
      assert.equal(r.code, 0, r.stderr)
      return { id: r.stdout.trim(), eta: before + Number.parseInt(countdown) * 1000 }
    }
    const late = await submit('late', '25s')
    const passed = await submit('passed', '5s')
    await holder.stop('SIGKILL')
    assert.deepEqual(lines(file), [], 'neither ran before the kill')
    // Down past the second job's time, never past the first's.
    while (Date.now() < passed.eta + 1_000) await sleep(100)
    const restarted = Date.now()
    const again = await start(0)
    assert.equal(again.peerId, holder.peerId)
    assert.equal((await runCli(['status', late.id, ...client()])).stdout, 'PENDING\n')
    for (const job of [passed, late]) {
      const r = await runCli(['result', job.id, '--wait', ...client()])
      assert.equal(r.code, 0, r.stderr)
    }
    const ran = lines(file)
    const shown = ran.map(r => r.join(' ')).join(', ')
    assert.deepEqual(ran.map(([label]) => label).sort(), ['late', 'passed'], `each ran once: ${shown}`)
    const at = (label: string): number => Number(ran.find(([l]) => l === label)?.[1])
    assert.ok(at('late') >= late.eta, `late ran at ${at('late')}, before its eta ${late.eta}`)
    assert.ok(at('passed') >= restarted, `passed ran at ${at('passed')}, before the restart at ${restarted}`)
    assert.ok(at('passed') < late.eta, 'the job whose time passed while down ran at once on restart, not at some later time')
  })

  it('a chord whose holder is killed mid-header and restarted: the header completes after the restart, the body (not idempotent) fires once, the submitter gets the exact result', async function () {
    const submitter = await createMeshNode({ mdns: false })
    try {
      // The only node serving anything holds the chord and runs its members.
      const holder = await start(0, submitter.addresses)
      await submitter.waitForProvider('recordOnce', { timeout: 30_000 })
      const marker = join(tmp, 'members')
      const file = join(tmp, 'bodies')
      const run = submitter.run(chord(group(...[1, 2, 3].map(n => sig('slowDouble', n, 3_000, marker))), sig('recordOnce', file)), { timeout: 180_000 })
      run.catch(() => {})
      while (lines(marker).length < 3) await sleep(50)
      await sleep(300)
      await holder.stop('SIGKILL')
      assert.deepEqual(lines(file), [], 'the body had not fired before the kill')
      const again = await start(0, submitter.addresses)
      assert.equal(again.peerId, holder.peerId)
      assert.equal(await run, 12)
      assert.deepEqual(lines(file), [['[2,4,6]']], 'the body fired once, with the members\' results in order')
      // The members ran again after the restart (idempotent, re-run from the holder's journal): the header completed after it.
      const pids = new Set(lines(marker).map(([pid]) => pid))
      assert.ok(pids.has(String(again.process.pid)), `members ran in the restarted holder: ${[...pids].join(', ')}`)
    } finally {
      await submitter.stop()
    }
  })
})
