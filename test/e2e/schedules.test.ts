import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { rendezvous } from '../../src/workflows/service.js'
import { runCli, startCliNode, type CliNode } from '../helpers.js'

const FIXTURES = fileURLToPath(new URL('../fixtures/workflow-tasks.js', import.meta.url))
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Each run of the schedule's task: [tick id, scheduled time, pid]. */
function runs (file: string): Array<[string, number, number]> {
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8').split('\n').filter(l => l !== '').map(l => { const [t, at, pid] = l.split(' '); return [t, Number(at), Number(pid)] })
}

describe('periodic schedules with no single beat (real processes, the CLI)', function () {
  this.timeout(120_000)
  const nodes: CliNode[] = []
  let tmp: string

  before(async function () {
    tmp = mkdtempSync(join(tmpdir(), 'mesh-schedule-'))
    for (let i = 0; i < 3; i++) {
      nodes.push(await startCliNode(['--serve', FIXTURES, '--no-mdns', '--workers', '1', '--name', `beat-${i}`, ...(i > 0 ? ['--bootstrap', ...nodes.flatMap(n => n.addresses)] : [])]))
    }
  })

  after(async function () {
    for (const n of nodes) await n.stop('SIGKILL')
    rmSync(tmp, { recursive: true, force: true })
  })

  const client = (): string[] => ['--no-mdns', '--bootstrap', ...nodes.filter(n => n.process.exitCode === null && n.process.signalCode === null).flatMap(n => n.addresses)]

  it('refuses an interval or cron expression that does not parse with BAD_ARGUMENT', async function () {
    const bad = await runCli(['schedule', 'add', 'x', '--every', 'often', 'add', '1', '2', ...client()])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /BAD_ARGUMENT: interval "often" does not parse/)
    const cron = await runCli(['schedule', 'add', 'x', '--cron', '61 * * * *', 'add', '1', '2', ...client()])
    assert.equal(cron.code, 2)
    assert.match(cron.stderr, /BAD_ARGUMENT: cron minute field "61"/)
  })

  it('fires every second on three nodes while its owner is killed: 10 ± 1 ticks in 10 s, none run twice', async function () {
    const file = join(tmp, 'ticks')
    const added = await runCli(['schedule', 'add', 'beat', '--every', '1s', '--pass-tick', 'tickLog', file, ...client()])
    assert.equal(added.code, 0, added.stderr)
    const ls = await runCli(['schedule', 'ls', ...client()])
    assert.match(ls.stdout, /beat\s+every 1s\s+tickLog/)
    while (runs(file).length < 2) await sleep(50)
    // Kill -9 the node rendezvous hashing makes the owner: its backup must take over.
    const owner = rendezvous('beat', nodes.map(n => n.peerId))[0]
    const killedAt = Date.now()
    await nodes.find(n => n.peerId === owner)!.stop('SIGKILL')
    const from = Math.ceil(killedAt / 1000) * 1000
    // Ticks are counted by their scheduled time: leave a loaded machine a few seconds to finish the last runs.
    while (Date.now() < from + 10_000 + 5_000) await sleep(100)
    const all = runs(file)
    const ids = all.map(([t]) => t)
    assert.equal(new Set(ids).size, ids.length, `a tick ran twice: ${all.map(r => r.join(' ')).join(', ')}; nodes ${nodes.map(n => `${n.process.pid}=${n.peerId.slice(-6)}`).join(' ')} owner ${owner.slice(-6)}`)
    const inWindow = new Set(all.filter(([, at]) => at >= from && at < from + 10_000).map(([t]) => t))
    assert.ok(Math.abs(inWindow.size - 10) <= 1, `${inWindow.size} ticks in the 10 s after the owner died: ${all.map(r => r.join(' ')).join(', ')}; killed at ${killedAt}`)
    const rm = await runCli(['schedule', 'rm', 'beat', ...client()])
    assert.equal(rm.code, 0, rm.stderr)
  })
})
