// Remote method call against task call, same setup: two nodes in one process
// over TCP + Noise + Yamux on loopback, one long-lived RPC stream.
//   npm run bench:objects            (add --json for a machine-readable line)
// Figures: p50 of sequential round trips, and calls/s with 64 in flight.
// The task is the built-in `add` (inline, with its argument checks), as in npm run bench.
// Runs alternate (task, object, task, object…) so machine noise hits both.
import { loadavg } from 'node:os'
import { createMeshNode, type MeshNode } from '../src/index.js'

const SEQUENTIAL = 2000
const CONCURRENT_CALLS = 20_000
const IN_FLIGHT = 64
const ROUNDS = 3

class Calc {
  add (a: number, b: number): number { return a + b }
}

async function latencies (fn: () => Promise<unknown>, n: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await fn()
    out.push(performance.now() - t)
  }
  return out.sort((a, b) => a - b)
}

async function throughput (fn: () => Promise<unknown>, total: number, inFlight: number): Promise<number> {
  let started = 0
  const t = performance.now()
  const lane = async (): Promise<void> => {
    while (started < total) { started++; await fn() }
  }
  await Promise.all(Array.from({ length: inFlight }, lane))
  return total / ((performance.now() - t) / 1000)
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main (): Promise<void> {
  const provider: MeshNode = await createMeshNode({ name: 'bench-provider', serve: 'add', mdns: false, workers: 1 })
  provider.expose('calc', new Calc())
  const caller = await createMeshNode({ name: 'bench-caller', mdns: false, bootstrap: provider.addresses })
  try {
    const calc = await caller.lookup<Calc>('calc', { timeout: 10_000 })
    const task = async (): Promise<unknown> => caller.call('add', 1, 2)
    const method = async (): Promise<unknown> => calc.add(1, 2)
    // Warm up both paths (JIT, stream, registry).
    await latencies(task, 500)
    await latencies(method, 500)
    await throughput(task, 5000, IN_FLIGHT)
    await throughput(method, 5000, IN_FLIGHT)
    const r = { taskP50: [] as number[], methodP50: [] as number[], taskRate: [] as number[], methodRate: [] as number[] }
    for (let i = 0; i < ROUNDS; i++) {
      r.taskP50.push(median(await latencies(task, SEQUENTIAL)))
      r.methodP50.push(median(await latencies(method, SEQUENTIAL)))
      r.taskRate.push(await throughput(task, CONCURRENT_CALLS, IN_FLIGHT))
      r.methodRate.push(await throughput(method, CONCURRENT_CALLS, IN_FLIGHT))
    }
    const result = {
      load: loadavg().map(x => Math.round(x * 100) / 100),
      taskCallP50Ms: median(r.taskP50),
      methodCallP50Ms: median(r.methodP50),
      taskCallsPerSec: Math.round(median(r.taskRate)),
      methodCallsPerSec: Math.round(median(r.methodRate)),
      inFlight: IN_FLIGHT
    }
    if (process.argv.includes('--json')) {
      process.stdout.write(JSON.stringify(result) + '\n')
      return
    }
    const pct = (a: number, b: number): string => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(1)} %`
    process.stdout.write([
      `remote objects vs task calls (2 nodes, loopback, median of ${ROUNDS} rounds; load ${result.load.join(' ')})`,
      `                          task add     calc.add()   method vs task`,
      `p50 sequential (ms)       ${result.taskCallP50Ms.toFixed(3).padEnd(12)} ${result.methodCallP50Ms.toFixed(3).padEnd(12)} ${pct(result.methodCallP50Ms, result.taskCallP50Ms)}`,
      `calls/s, ${IN_FLIGHT} in flight     ${String(result.taskCallsPerSec).padEnd(12)} ${String(result.methodCallsPerSec).padEnd(12)} ${pct(result.methodCallsPerSec, result.taskCallsPerSec)}`
    ].join('\n') + '\n')
  } finally {
    await caller.stop()
    await provider.stop()
  }
}

await main()
