import { loadavg } from 'node:os'
import { createMeshNode, type MeshNode } from '../src/index.js'
import { watchMesh } from '../src/events/watch.js'
import type { MeshView } from '../src/events/view.js'
import { measureLatency, measureThroughput, median } from './stats.js'
import { markdownTable, row, textTable, type Row } from './table.js'
import { IN_FLIGHT } from './warm.js'

/**
 * The cost of metrics (issue 12) on the `add` round trip: pairs of nodes in
 * this process (provider serving add, caller serving nothing), one pair per
 * configuration, measured in turns (off, on, on + watched, off, on, …) so
 * that the machine's noise falls on every configuration alike; each figure
 * is the median over the rounds. "on": both nodes with `metrics: true`
 * (mesh's counters and histogram, libp2p's Prometheus metrics). "watched":
 * "mesh's only": `metrics: { libp2p: false }`. "watched": metrics on and
 * also a dashboard's view on the caller subscribed to the provider's events
 * (two event frames per call). Target: on ≤ 5 % over off. The CPU time per
 * call is the figure least moved by other processes on a shared machine.
 */
const ROUNDS = Number(process.env.MESH_BENCH_ROUNDS ?? 5)
const CALLS = 3000
const THROUGHPUT_MS = 1000

interface Pair { label: string, provider: MeshNode, caller: MeshNode, view?: MeshView, p50: number[], p99: number[], rate: number[], cpu: number[] }

async function pair (label: string, metrics: boolean | { libp2p: false }, watched: boolean): Promise<Pair> {
  const provider = await createMeshNode({ serve: 'add', workers: 1, mdns: false, metrics })
  const caller = await createMeshNode({ mdns: false, bootstrap: provider.addresses, metrics })
  await caller.waitForProvider('add')
  const view = watched ? watchMesh(caller) : undefined
  if (view !== undefined) await view.whenSynced(5000)
  return { label, provider, caller, view, p50: [], p99: [], rate: [], cpu: [] }
}

export async function metricsCost (progress: (msg: string) => void = () => {}): Promise<Row[]> {
  const pairs = [await pair('off', false, false), await pair('on', true, false), await pair('on, mesh\'s only (libp2p: false)', { libp2p: false }, false), await pair('on, a dashboard watching', true, true)]
  try {
    for (let round = 0; round < ROUNDS; round++) {
      progress(`metrics on/off, round ${round + 1} of ${ROUNDS}`)
      for (const p of pairs) {
        const latency = await measureLatency(async () => await p.caller.callWith('add', [4, 6]), CALLS)
        p.p50.push(latency.p50)
        p.p99.push(latency.p99)
        let i = 0
        const cpu = process.cpuUsage()
        const throughput = await measureThroughput(async () => await p.caller.callWith('add', [i++, 1]), IN_FLIGHT, THROUGHPUT_MS)
        const used = process.cpuUsage(cpu)
        p.rate.push(throughput.callsPerSec)
        // CPU per call (both ends are in this process; warm-up calls included): other processes' load hardly moves it.
        p.cpu.push((used.user + used.system) / i)
      }
    }
  } finally {
    for (const p of pairs) {
      p.view?.stop()
      await p.caller.stop()
      await p.provider.stop()
    }
  }
  const [off, ...rest] = pairs
  const rows: Row[] = []
  for (const p of rest) {
    rows.push(row(`add round trip p50, metrics ${p.label} (floor column: off)`, median(p.p50), median(off.p50), 'µs', { limit: median(off.p50) * 1.05, atMost: true }))
    rows.push(row(`add round trip p99, metrics ${p.label} (floor column: off)`, median(p.p99), median(off.p99), 'µs'))
    rows.push(row(`add throughput ${IN_FLIGHT} in flight, metrics ${p.label} (floor column: off)`, median(p.rate), median(off.rate), 'calls/s', { limit: median(off.rate) * 0.95, atMost: false }, true))
    rows.push(row(`CPU per add call, both ends, metrics ${p.label} (floor column: off)`, median(p.cpu), median(off.cpu), 'µs', { limit: median(off.cpu) * 1.05, atMost: true }))
  }
  return rows
}

// `npm run bench:metrics`: this group alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const before = loadavg()
  metricsCost((msg) => { process.stderr.write(`bench: ${msg}\n`) }).then((rows) => {
    const load = `load average ${before.map(l => l.toFixed(2)).join(' ')} before, ${loadavg().map(l => l.toFixed(2)).join(' ')} after; Node ${process.version}; ${ROUNDS} rounds`
    process.stdout.write(`\n${textTable(rows)}\n\n${load}\n\nMarkdown:\n\n${markdownTable(rows)}\n\n_${load}_\n`)
    process.exit(0)
  }, (err) => {
    process.stderr.write(`bench failed: ${err?.stack ?? err}\n`)
    process.exit(1)
  })
}
