/**
 * What detached jobs and their journal cost (docs/results.md):
 *  1. the `add` round trip (node.call) to a provider journaling on disk and to one with `:memory:`,
 *     against a detached submit (accepted: journaled at the provider and its replica) and submit + result;
 *  2. detached jobs/s one provider accepts durably (32 submits in flight);
 *  3. the journal's size on disk per 10,000 finished jobs.
 * Run: npm run bench:results  (env BLOCKS, JOBS, SECONDS to change sizes)
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createMeshNode, type MeshNode } from '../src/index.js'

const MESH_BIN = fileURLToPath(new URL('../bin/mesh.js', import.meta.url))

const BLOCKS = Number(process.env.BLOCKS ?? 60)
const BLOCK = 50
const JOBS = Number(process.env.JOBS ?? 10_000)
const SECONDS = Number(process.env.SECONDS ?? 5)
const IN_FLIGHT = 32
/** A well-formed job id that no node holds. */
const UNKNOWN_ID = 'ab'.repeat(24)
const load = (): string => loadavg().map(x => x.toFixed(2)).join(' ')
const quantile = (xs: number[], q: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * q))] }
const median = (xs: number[]): number => quantile(xs, 0.5)

interface Proc { child: ChildProcess, peerId: string, addresses: string[] }

async function startNode (args: string[]): Promise<Proc> {
  const child = spawn(process.execPath, [MESH_BIN, 'node', '--json', '--no-mdns', '--workers', '1', ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  return await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const msg = JSON.parse(line)
        if (msg.event === 'ready') resolve({ child, peerId: msg.peerId, addresses: msg.addresses })
      } catch { /* not JSON */ }
    })
    child.on('exit', (code) => { reject(new Error(`node exited with ${code}`)) })
  })
}

async function stopProc (p: Proc): Promise<void> {
  if (p.child.exitCode !== null) return
  const exited = new Promise(resolve => p.child.once('exit', resolve))
  p.child.kill('SIGTERM')
  await exited
}

/**
 * A provider and its would-be replica, each its own process (as on a real
 * mesh: the replica's journal write and the job run off the caller's and
 * the provider's event loops), and an in-process caller that knows only the provider.
 */
async function trio (dir: string | undefined): Promise<{ caller: MeshNode, providerOnly: MeshNode, stop: () => Promise<void> }> {
  const provider = await startNode(['--serve', 'add', '--data-dir', dir !== undefined ? join(dir, 'p') : ':memory:'])
  // The replica serves another task, so callers send their add jobs to the provider.
  const replica = await startNode(['--serve', 'factorial', '--data-dir', dir !== undefined ? join(dir, 'r') : ':memory:', '--bootstrap', ...provider.addresses])
  // `caller` knows both (it replicates in parallel with the submit); `providerOnly` knows the provider alone (which replicates).
  const caller = await createMeshNode({ mdns: false, bootstrap: [...provider.addresses, ...replica.addresses] })
  const providerOnly = await createMeshNode({ mdns: false, bootstrap: provider.addresses })
  await caller.waitForProvider('add')
  await caller.waitForProvider('factorial')
  await providerOnly.waitForProvider('add')
  // Until the provider knows its replica, its jobs have none: wait for an id that names one.
  for (let i = 0; i < 50 && (await providerOnly.submit('add', [0, 0], { detach: true })).id.endsWith('00000000'); i++) await new Promise(resolve => setTimeout(resolve, 100))
  return { caller, providerOnly, stop: async () => { await caller.stop(); await providerOnly.stop(); await stopProc(replica); await stopProc(provider) } }
}

async function roundTrip (dir: string): Promise<void> {
  console.log(`\n## add round trip, sequential, ${BLOCKS} alternating blocks of ${BLOCK} per variant (load ${load()})`)
  const disk = await trio(join(dir, 'rt'))
  const memory = await trio(undefined)
  const variants: Array<[string, (i: number) => Promise<unknown>]> = [
    ['call, provider journals on disk', async (i) => disk.caller.call('add', i, 1)],
    ['call, provider journal :memory:', async (i) => memory.caller.call('add', i, 1)],
    ['detached submit (caller replicates)', async (i) => disk.caller.submit('add', [i, 1], { detach: true })],
    ['detached submit (provider replicates)', async (i) => disk.providerOnly.submit('add', [i, 1], { detach: true })],
    ['detached submit + result()', async (i) => (await disk.caller.submit('add', [i, 1], { detach: true })).result()],
    // The floor of a submit that sends the copy in parallel: two round trips at once (a look-up of an unknown id at both holders), no commit, no job.
    ['two round trips in parallel (floor)', async () => disk.caller.job(UNKNOWN_ID).catch(() => {})]
  ]
  const perCall = new Map<string, number[]>(variants.map(([name]) => [name, []]))
  for (const [, run] of variants) for (let i = 0; i < 200; i++) await run(i) // warm up
  for (let b = 0; b < BLOCKS; b++) {
    for (const [name, run] of (b % 2 === 0 ? variants : [...variants].reverse())) {
      const t = performance.now()
      for (let i = 0; i < BLOCK; i++) await run(i)
      perCall.get(name)!.push((performance.now() - t) * 1000 / BLOCK)
    }
  }
  for (const [name, xs] of perCall) console.log(`${name.padEnd(40)} median ${median(xs).toFixed(1)} µs, p25 ${quantile(xs, 0.25).toFixed(1)}, p75 ${quantile(xs, 0.75).toFixed(1)}`)
  const paired = (a: string, b: string): number => median(perCall.get(a)!.map((x, i) => x / perCall.get(b)![i]))
  console.log(`call, disk journal vs :memory:: ${((paired(variants[0][0], variants[1][0]) - 1) * 100).toFixed(1)} % (target: unchanged within 5 %; calls never touch the journal)`)
  console.log(`detached submit / call:        ${paired(variants[2][0], variants[0][0]).toFixed(2)}× when the caller knows the replica (target ≤ 2×); ${paired(variants[3][0], variants[0][0]).toFixed(2)}× when the provider replicates`)
  console.log(`submit + result / call:        ${paired(variants[4][0], variants[0][0]).toFixed(2)}×`)
  console.log(`two parallel round trips / call: ${paired(variants[5][0], variants[0][0]).toFixed(2)}× (what a parallel copy costs before any commit); submit / that: ${paired(variants[2][0], variants[5][0]).toFixed(2)}×`)
  await disk.stop()
  await memory.stop()
}

async function acceptRate (dir: string): Promise<void> {
  const t = await trio(join(dir, 'rate'))
  let accepted = 0
  const end = performance.now() + SECONDS * 1000
  const lane = async (): Promise<void> => {
    while (performance.now() < end) {
      await t.caller.submit('add', [accepted, 1], { detach: true })
      accepted++
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
  const s = (performance.now() - started) / 1000
  console.log(`\n## detached jobs accepted durably (journaled at provider + replica), ${IN_FLIGHT} in flight, ${SECONDS} s (load ${load()})`)
  console.log(`${(accepted / s).toFixed(0)} jobs/s (${accepted} jobs)`)
  await t.stop()
}

async function storeSize (dir: string): Promise<void> {
  const where = join(dir, 'size')
  const t = await trio(where)
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < JOBS) {
      const i = next++
      await (await t.caller.submit('add', [i, 1], { detach: true })).result()
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane))
  await t.stop() // closing the database checkpoints its WAL into the file
  const bytes = (await stat(join(where, 'p', 'jobs.sqlite'))).size
  console.log(`\n## store size: ${JOBS} finished add jobs`)
  console.log(`provider journal ${(bytes / 1024).toFixed(0)} KiB = ${(bytes / JOBS).toFixed(0)} B/job → ${(bytes * 10_000 / JOBS / 1024 / 1024).toFixed(2)} MiB per 10,000 finished jobs`)
}

const dir = await mkdtemp(join(tmpdir(), 'mesh-bench-results-'))
try {
  await roundTrip(dir)
  await acceptRate(dir)
  await storeSize(dir)
} finally {
  await rm(dir, { recursive: true, force: true })
}
process.exit(0)
