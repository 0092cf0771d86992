/**
 * Work-stealing benchmark (npm run bench:steal). Every node is a separate
 * `mesh node` process with one worker thread, so nodes, not threads, share
 * the machine's cores; the caller is an in-process client node that is
 * already connected, so times are end to end minus CLI start-up.
 *
 *   node dist/bench/steal.js [--quick] [--only kernel,scale,throttle,small,kill,transfer] [--repeat n]
 *
 * Figures on a shared machine are noisy: `uptime` is printed beside each
 * section; re-run on a quiet machine for final numbers.
 */
import '../src/polyfill.js'
import { execSync } from 'node:child_process'
import { createMeshNode, type Matrix, type MeshNode } from '../src/index.js'
import type { JobProgress } from '../src/stealing/index.js'
import { bigintToDecimal } from '../src/tasks/kernels/bigint-decimal.js'
import { factorial as factorialKernel } from '../src/tasks/kernels/factorial.js'
import { matmulRows, randomMatrix } from '../src/tasks/kernels/matmul.js'
import { factorialSplit, productTree } from '../src/tasks/split-builtins.js'
import { DEFAULT_LIMITS } from '../src/node/mesh-node.js'
import { startCliNode, type CliNode } from '../test/helpers.js'

const argv = process.argv.slice(2)
const quick = argv.includes('--quick')
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1].split(',') : undefined
const repeat = argv.includes('--repeat') ? Number(argv[argv.indexOf('--repeat') + 1]) : 1
const want = (section: string): boolean => only === undefined || only.includes(section)

const FACT_N = quick ? 400_000 : 1_000_000
const MATMUL_N = quick ? 800 : 2000
const SMALL_MATMUL_N = quick ? 600 : 1500
const NODE = ['--serve', 'factorial,matmul', '--workers', '1', '--no-mdns']

const uptime = (): string => execSync('uptime').toString().trim().replace(/^.*load/, 'load')
const say = (line: string): void => { process.stdout.write(line + '\n') }
const ms = (t: number): string => `${t.toFixed(0)} ms`
const results: Record<string, unknown> = {}

interface Cluster { nodes: CliNode[], client: MeshNode, stop: () => Promise<void> }

async function cluster (extra: string[][]): Promise<Cluster> {
  const nodes: CliNode[] = []
  for (const args of extra) {
    nodes.push(await startCliNode([...NODE, ...args, ...nodes.flatMap(n => ['--bootstrap', n.addresses[0]])]))
  }
  const client = await createMeshNode({ name: 'bench-client', mdns: false, bootstrap: nodes.map(n => n.addresses[0]) })
  await client.waitForPeers(nodes.length, 20_000)
  // Let every node's registry settle: owners split only when they see peers serving the task.
  await new Promise(resolve => setTimeout(resolve, 1500))
  return {
    nodes,
    client,
    stop: async () => {
      await client.stop()
      await Promise.all(nodes.map(n => n.stop('SIGKILL')))
    }
  }
}

interface Timed { ms: number, progress?: JobProgress }

async function timed (client: MeshNode, task: string, args: unknown[], onProgress?: (p: JobProgress) => void): Promise<Timed> {
  let progress: JobProgress | undefined
  const started = performance.now()
  await client.callWith(task, args, { timeout: 600_000, onProgress: (p) => { progress = p as JobProgress; onProgress?.(progress) } })
  return { ms: performance.now() - started, progress }
}

async function best (client: MeshNode, task: string, args: unknown[], times = repeat): Promise<Timed> {
  let out: Timed | undefined
  for (let i = 0; i < times; i++) {
    const t = await timed(client, task, args)
    if (out === undefined || t.ms < out.ms) out = t
  }
  return out as Timed
}

function shares (p?: JobProgress): string {
  if (p === undefined) return 'ran whole (not split)'
  return `${p.total} chunks: ` + p.peers.map(s => `${s.name === 'self' ? 'owner' : s.name.replace(/^.*-/, 'pid')} ${s.chunks} (${s.steals} steals, ${s.returned} lost, ${s.reclaimed} reclaimed)`).join(', ')
}

/** How much parallel CPU the machine gives right now: 1 vs 2 busy threads (ratio 1.0 = two free cores). */
async function capacity (): Promise<void> {
  const { Worker } = await import('node:worker_threads')
  const code = `const { parentPort } = require('node:worker_threads'); let x = 0
    for (let i = 0; i < 1e8; i++) x = (x + i * 7) % 1000003
    parentPort.postMessage(x)`
  const run = async (k: number): Promise<number> => {
    const t = performance.now()
    await Promise.all(Array.from({ length: k }, async () => await new Promise<void>((resolve) => {
      const w = new Worker(code, { eval: true })
      w.on('message', () => { void w.terminate(); resolve() })
    })))
    return performance.now() - t
  }
  const one = await run(1)
  const two = await run(2)
  say(`\n## parallel capacity now: 1 busy thread ${ms(one)}, 2 busy threads ${ms(two)} → ${(2 * one / two).toFixed(2)} cores' worth (2.00 = two free cores) — ${uptime()}`)
  results.capacity = { one, two }
}

async function kernel (): Promise<void> {
  say(`\n## kernels on one core (in process) — ${uptime()}`)
  const n = 1000
  const a = randomMatrix(n, n)
  const b = randomMatrix(n, n)
  matmulRows(a, b, n, n, 0, 64) // warm up
  let t = performance.now()
  matmulRows(a, b, n, n, 0, n)
  const matmulMs = performance.now() - t
  const gflops = 2 * n ** 3 / matmulMs / 1e6
  say(`matmul kernel ${n}×${n}: ${ms(matmulMs)} = ${gflops.toFixed(2)} GFLOP/s`)
  t = performance.now()
  const f = factorialKernel(FACT_N)
  const factMs = performance.now() - t
  say(`factorial(${FACT_N}) whole (prime swing): ${ms(factMs)}`)
  const { chunks } = factorialSplit.split([FACT_N], DEFAULT_LIMITS, { chunks: 16 })
  t = performance.now()
  const parts = chunks.map(c => factorialSplit.runChunk(c.data, undefined))
  const leavesMs = performance.now() - t
  t = performance.now()
  const merged = productTree(parts)
  const mergeMs = performance.now() - t
  say(`factorial(${FACT_N}) split in 16 ranges: leaves ${ms(leavesMs)} + product-tree merge ${ms(mergeMs)} (merge = ${(100 * mergeMs / (leavesMs + mergeMs)).toFixed(0)}% of the split work, serial on the owner)`)
  if (merged !== f) throw new Error('split factorial differs from the kernel')
  t = performance.now()
  const digits = bigintToDecimal(f).length
  const decMs = performance.now() - t
  t = performance.now()
  f.toString()
  const nativeMs = performance.now() - t
  say(`bigintToDecimal(factorial(${FACT_N})) → ${digits} digits: ${ms(decMs)} (V8's toString: ${ms(nativeMs)})`)
  results.kernel = { gflops, matmulMs, factMs, leavesMs, mergeMs, decMs, nativeMs }
}

async function scale (): Promise<void> {
  const rows: Array<{ label: string, fact: Timed, matmul: Timed }> = []
  const configs: Array<[string, string[][]]> = [
    ['1 node (whole call)', [[]]],
    ['1 node (split path)', [['--split-alone']]],
    ['2 nodes', [[], []]],
    ['3 nodes', [[], [], []]]
  ]
  for (const [label, extra] of configs) {
    say(`\n## ${label} — ${uptime()}`)
    const c = await cluster(extra)
    try {
      await c.client.call('factorial', 20000) // warm up threads and channels
      const fact = await best(c.client, 'factorial', [FACT_N])
      say(`factorial(${FACT_N}): ${ms(fact.ms)} — ${shares(fact.progress)}`)
      const matmul = await best(c.client, 'matmul', [MATMUL_N, MATMUL_N])
      say(`matmul ${MATMUL_N}×${MATMUL_N}: ${ms(matmul.ms)} — ${shares(matmul.progress)}`)
      rows.push({ label, fact, matmul })
    } finally {
      await c.stop()
    }
  }
  const base = rows[0]
  say('\n## speed-up over 1 node (whole call); target 2 nodes ≥ 1.85× for jobs ≥ 1 s')
  for (const r of rows.slice(1)) {
    say(`${r.label}: factorial ${(base.fact.ms / r.fact.ms).toFixed(2)}×, matmul ${(base.matmul.ms / r.matmul.ms).toFixed(2)}×` +
      `   (over 1-node split path: factorial ${(rows[1].fact.ms / r.fact.ms).toFixed(2)}×, matmul ${(rows[1].matmul.ms / r.matmul.ms).toFixed(2)}×)`)
  }
  results.scale = rows.map(r => ({ label: r.label, factMs: r.fact.ms, matmulMs: r.matmul.ms }))
}

async function throttle (): Promise<void> {
  say(`\n## one node at half speed (--throttle 0.5) — ${uptime()}`)
  // The ideal with speeds 1 and 0.5 is the full-speed single-node time / 1.5.
  const single = await cluster([['--split-alone']])
  let alone: Timed
  try {
    await single.client.call('factorial', 20000)
    alone = await best(single.client, 'matmul', [MATMUL_N, MATMUL_N])
  } finally {
    await single.stop()
  }
  const c = await cluster([['--throttle', '0.5'], []])
  try {
    await c.client.call('factorial', 20000)
    const mixed = await best(c.client, 'matmul', [MATMUL_N, MATMUL_N])
    const ideal = alone.ms / 1.5
    say(`matmul ${MATMUL_N}: 1 full-speed node (split path) ${ms(alone.ms)}; full + half-speed ${ms(mixed.ms)}; ideal ${ms(ideal)} → ${(100 * ideal / mixed.ms).toFixed(0)}% of ideal (target ≥ 90%)`)
    say(`  ${shares(mixed.progress)}`)
    results.throttle = { aloneMs: alone.ms, mixedMs: mixed.ms, idealMs: ideal }
  } finally {
    await c.stop()
  }
}

async function small (): Promise<void> {
  say(`\n## small jobs over 2 nodes, end to end — ${uptime()}`)
  const c = await cluster([[], []])
  try {
    for (let i = 0; i < 3; i++) await c.client.call('factorial', 100000)
    const times: number[] = []
    for (let i = 0; i < 9; i++) times.push((await timed(c.client, 'factorial', [100000])).ms)
    times.sort((a, b) => a - b)
    say(`factorial(100000): median ${ms(times[4])}, best ${ms(times[0])} (target ≤ 50 ms)`)
    await c.client.call('matmul', 400, 400)
    const m = await best(c.client, 'matmul', [SMALL_MATMUL_N, SMALL_MATMUL_N], Math.max(2, repeat))
    say(`matmul ${SMALL_MATMUL_N}×${SMALL_MATMUL_N}: best ${ms(m.ms)} (target ≤ 1000 ms) — ${shares(m.progress)}`)
    results.small = { factMedianMs: times[4], factBestMs: times[0], matmulMs: m.ms }
  } finally {
    await c.stop()
  }
}

async function kill (): Promise<void> {
  say(`\n## a thief killed mid-job (3 nodes, matmul ${SMALL_MATMUL_N}) — ${uptime()}`)
  const undisturbed = await cluster([[], [], []])
  let base: Timed
  try {
    await undisturbed.client.call('factorial', 20000)
    base = await best(undisturbed.client, 'matmul', [SMALL_MATMUL_N, SMALL_MATMUL_N])
  } finally {
    await undisturbed.stop()
  }
  const c = await cluster([[], [], []])
  try {
    await c.client.call('factorial', 20000)
    let victim: string | undefined
    const hit = await timed(c.client, 'matmul', [SMALL_MATMUL_N, SMALL_MATMUL_N], (p) => {
      if (victim !== undefined || p.final === true) return
      const thief = p.peers.find(s => s.name !== 'self' && s.chunks > 0)
      const node = c.nodes.find(n => n.peerId === thief?.peer)
      if (node !== undefined) { victim = node.peerId; node.process.kill('SIGKILL') }
    })
    say(`undisturbed ${ms(base.ms)}; thief killed after its first chunk ${ms(hit.ms)}: +${ms(hit.ms - base.ms)} (${victim === undefined ? 'no thief was killed!' : 'killed ' + victim.slice(-6)})`)
    say(`  ${shares(hit.progress)}`)
    results.kill = { baseMs: base.ms, killedMs: hit.ms }
  } finally {
    await c.stop()
  }
}

async function transfer (): Promise<void> {
  say(`\n## moving data — ${uptime()}`)
  const c = await cluster([[]])
  try {
    const n = MATMUL_N
    const a: Matrix = { rows: n, cols: n, data: randomMatrix(n, n) }
    const b: Matrix = { rows: n, cols: 1, data: randomMatrix(n, 1) }
    await c.client.call('matmul', a, b)
    const t = await best(c.client, 'matmul', [a, b], 3)
    const mbps = a.data.byteLength / 1e6 / (t.ms / 1000)
    say(`a ${n}×${n} matrix (${(a.data.byteLength / 1e6).toFixed(0)} MB) to a node and a ${n}×1 product back: ${ms(t.ms)} → ${mbps.toFixed(0)} MB/s through RPC (msgpack + Noise + Yamux + TCP loopback, n·n·1 compute included)`)
    // matmul n×n over 2 nodes: the thief receives B once and about half of A, and sends back half of C.
    const moved = (n * n * 8) * 2
    say(`matmul ${n} over 2 nodes moves ≈ ${(moved / 1e6).toFixed(0)} MB between owner and thief ≈ ${ms(moved / 1e6 / mbps * 1000)} of transfer`)
    const scaleRows = results.scale as Array<{ label: string, matmulMs: number }> | undefined
    const two = scaleRows?.find(r => r.label === '2 nodes')
    if (two !== undefined) say(`  = ${(100 * (moved / 1e6 / mbps * 1000) / two.matmulMs).toFixed(1)}% of the 2-node job time (${ms(two.matmulMs)})`)
    results.transfer = { mbps }
  } finally {
    await c.stop()
  }
}

say(`# bench:steal — ${quick ? 'quick sizes' : 'full sizes'}; one worker per node; ${uptime()}`)
say('# The machine is shared: these figures are noisy. A quiet re-run is needed for final numbers.')
await capacity()
if (want('kernel')) await kernel()
if (want('scale')) await scale()
if (want('throttle')) await throttle()
if (want('small')) await small()
if (want('kill')) await kill()
if (want('transfer')) await transfer()
await capacity()
say(`\n# done — ${uptime()}`)
process.exit(0)
