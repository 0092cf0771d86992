/**
 * What the reliability machinery costs and what it buys (docs/reliability.md):
 *  1. the `add` round trip with leases on and off (same run, interleaved rounds);
 *  2. the time from a provider's death (kill -9) or hang (SIGSTOP) to its calls being re-dispatched;
 *  3. calls/s while one of three providers is killed and restarted every few seconds.
 * Run: npm run bench:leases  (env ROUNDS, CALLS, CHURN_SECONDS to change sizes)
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { loadavg } from 'node:os'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createMeshNode, type Job, type MeshNode } from '../src/index.js'

const MESH_BIN = fileURLToPath(new URL('../bin/mesh.js', import.meta.url))
const FIXTURES = fileURLToPath(new URL('../test/fixtures/reliability-tasks.js', import.meta.url))
const ROUNDS = Number(process.env.ROUNDS ?? 6)
const CALLS = Number(process.env.CALLS ?? 2000)
const CHURN_SECONDS = Number(process.env.CHURN_SECONDS ?? 15)
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
const load = (): string => loadavg().map(x => x.toFixed(2)).join(' ')
const quantile = (xs: number[], q: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * q))] }
const median = (xs: number[]): number => quantile(xs, 0.5)

interface Proc { child: ChildProcess, peerId: string, addresses: string[] }

async function startProvider (args: string[]): Promise<Proc> {
  const child = spawn(process.execPath, [MESH_BIN, 'node', '--json', '--no-mdns', ...args], { stdio: ['ignore', 'pipe', 'ignore'] })
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const msg = JSON.parse(line)
        if (msg.event === 'ready') resolve({ child, peerId: msg.peerId, addresses: msg.addresses })
      } catch { /* not JSON */ }
    })
    child.on('exit', (code) => { reject(new Error(`provider exited with ${code}`)) })
  })
}

async function pair (lease: boolean): Promise<{ provider: MeshNode, caller: MeshNode }> {
  const provider = await createMeshNode({ mdns: false, serve: 'add', lease: lease ? undefined : false })
  const caller = await createMeshNode({ mdns: false, bootstrap: provider.addresses, lease: lease ? undefined : false })
  await caller.waitForProvider('add')
  return { provider, caller }
}

async function roundTrip (): Promise<void> {
  // The machine is shared and its load swings by 2× within seconds: variants
  // alternate in short blocks, and the cost is the median of paired block ratios.
  const BLOCK = 100
  const blocks = Math.max(1, Math.round(ROUNDS * CALLS / BLOCK))
  console.log(`\n## add round trip, sequential, ${blocks} alternating blocks of ${BLOCK} calls per variant (load ${load()})`)
  const on = await pair(true)
  const off = await pair(false)
  const rpcOf = (n: MeshNode): any => (n as any).rpc
  const variants: Array<[string, (i: number) => Promise<unknown>]> = [
    ['leases on  (node.call)', async (i) => on.caller.call('add', i, 1)],
    ['leases off (node.call)', async (i) => off.caller.call('add', i, 1)],
    ['leases on  (raw channel, no Job)', async (i) => rpcOf(on.caller).call(on.provider.libp2p.peerId, 'add', [i, 1], {})],
    ['leases off (raw channel, no Job)', async (i) => rpcOf(off.caller).call(off.provider.libp2p.peerId, 'add', [i, 1], {})]
  ]
  const perCall = new Map<string, number[]>(variants.map(([name]) => [name, []]))
  for (const [, run] of variants) for (let i = 0; i < 500; i++) await run(i) // warm up
  for (let b = 0; b < blocks; b++) {
    for (const [name, run] of (b % 2 === 0 ? variants : [...variants].reverse())) {
      const t = performance.now()
      for (let i = 0; i < BLOCK; i++) await run(i)
      perCall.get(name)!.push((performance.now() - t) * 1000 / BLOCK)
    }
  }
  for (const [name, xs] of perCall) console.log(`${name.padEnd(34)} median ${median(xs).toFixed(1)} µs/call, p25 ${quantile(xs, 0.25).toFixed(1)}, p75 ${quantile(xs, 0.75).toFixed(1)}`)
  const paired = (a: string, b: string): number => median(perCall.get(a)!.map((x, i) => x / perCall.get(b)![i]))
  console.log(`lease cost, node.call:    ${((paired('leases on  (node.call)', 'leases off (node.call)') - 1) * 100).toFixed(1)} % (median of paired block ratios; target ≤ 5 %)`)
  console.log(`lease cost, raw channel:  ${((paired('leases on  (raw channel, no Job)', 'leases off (raw channel, no Job)') - 1) * 100).toFixed(1)} %`)
  console.log(`Job (submit+result) cost: ${((paired('leases on  (node.call)', 'leases on  (raw channel, no Job)') - 1) * 100).toFixed(1)} % over the raw channel call`)
  for (const p of [on, off]) { await p.caller.stop(); await p.provider.stop() }
}

async function redispatch (how: 'SIGKILL' | 'SIGSTOP'): Promise<void> {
  const a = await startProvider(['--serve', FIXTURES, '--workers', '1'])
  const b = await startProvider(['--serve', FIXTURES, '--workers', '1'])
  const caller = await createMeshNode({ mdns: false, bootstrap: [...a.addresses, ...b.addresses] })
  await caller.waitForPeers(2)
  const jobs: Job[] = Array.from({ length: 200 }, (_, i) => caller.submit('slowAdd', [i, 1, 4000], { timeout: 60_000 }))
  await sleep(500)
  const onA = jobs.filter(j => j.provider === a.peerId)
  const moved: number[] = []
  let t0 = 0
  for (const j of onA) j.on('status', (s) => { if (s === 'STARTED' && j.attempts === 2) moved.push(performance.now() - t0) })
  t0 = performance.now()
  a.child.kill(how)
  await Promise.all(jobs.map(async j => j.result()))
  console.log(`${how === 'SIGKILL' ? 'kill -9 ' : 'SIGSTOP '}: ${moved.length}/${onA.length} calls re-dispatched; first ${Math.min(...moved).toFixed(0)} ms, median ${median(moved).toFixed(0)} ms, last ${Math.max(...moved).toFixed(0)} ms after the signal (load ${load()})`)
  if (how === 'SIGSTOP') a.child.kill('SIGCONT')
  a.child.kill('SIGKILL')
  b.child.kill('SIGKILL')
  await caller.stop()
}

async function churn (): Promise<void> {
  const caller = await createMeshNode({ mdns: false })
  const args = ['--serve', 'add', '--workers', '1', '--bootstrap', ...caller.addresses]
  const providers = await Promise.all([0, 1, 2].map(async () => startProvider(args)))
  await caller.waitForPeers(3)
  const measure = async (seconds: number, kill: boolean): Promise<{ rate: number, failed: number, wrong: number, kills: number }> => {
    let done = 0
    let failed = 0
    let wrong = 0
    let kills = 0
    let stop = false
    const workers = Array.from({ length: 32 }, async (_, w) => {
      for (let i = w; !stop; i += 32) {
        try {
          if (await caller.call('add', i, 1) !== i + 1) wrong++
          done++
        } catch { failed++ }
      }
    })
    const start = performance.now()
    const chaos = (async () => {
      let victim = 0
      while (kill && performance.now() - start < (seconds - 3) * 1000) {
        await sleep(3000)
        providers[victim].child.kill('SIGKILL')
        kills++
        providers[victim] = await startProvider(args)
        victim = (victim + 1) % 3
      }
    })()
    await sleep(seconds * 1000)
    stop = true
    await Promise.all([...workers, chaos])
    return { rate: done / ((performance.now() - start) / 1000), failed, wrong, kills }
  }
  await measure(2, false) // warm up
  const steady = await measure(5, false)
  console.log(`steady, 3 providers: ${steady.rate.toFixed(0)} calls/s, ${steady.failed} failed (load ${load()})`)
  const churned = await measure(CHURN_SECONDS, true)
  console.log(`one of 3 killed (-9) and restarted every 3 s: ${churned.rate.toFixed(0)} calls/s over ${CHURN_SECONDS} s, ${churned.kills} kills, ${churned.failed} failed, ${churned.wrong} wrong (load ${load()})`)
  const after = await measure(5, false)
  console.log(`steady again, after the churn: ${after.rate.toFixed(0)} calls/s, ${after.failed} failed (load ${load()})`)
  for (const p of providers) p.child.kill('SIGKILL')
  await caller.stop()
}

await roundTrip()
console.log(`\n## provider death → calls re-dispatched (200 calls on 2 providers, 1 killed; default lease ${'1500'} ms)`)
await redispatch('SIGKILL')
await redispatch('SIGSTOP')
console.log('\n## calls/s under churn (add, 32 in flight)')
await churn()
process.exit(0)
