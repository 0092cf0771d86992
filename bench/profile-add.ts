import { createMeshNode } from '../src/index.js'
import { IN_FLIGHT } from './warm.js'
import { measureLatency, measureThroughput } from './stats.js'

/**
 * Profiling target, not a figure: two in-process nodes doing add calls for a
 * few seconds, so `node --cpu-prof dist/bench/profile-add.js [latency|throughput]`
 * sees both ends of the hot path in one profile.
 */
const mode = process.argv[2] ?? 'throughput'
const provider = await createMeshNode({ serve: 'add', mdns: false })
const caller = await createMeshNode({ mdns: false, bootstrap: provider.addresses })
await caller.waitForProvider('add')
let i = 0
// Warm up (JIT, buffers) before counting anything.
await measureThroughput(async () => await caller.callWith('add', [i++, 1]), IN_FLIGHT, 1000, 0)
// CPU time per call is far steadier than wall time on a shared, loaded machine.
const cpu0 = process.cpuUsage()
let calls = 0
if (mode === 'latency') {
  const l = await measureLatency(async () => { calls++; return await caller.callWith('add', [4, 6]) }, 20000, 0)
  process.stdout.write(`p50 ${l.p50.toFixed(0)} µs p99 ${l.p99.toFixed(0)} µs`)
} else {
  const t = await measureThroughput(async () => { calls++; return await caller.callWith('add', [i++, 1]) }, IN_FLIGHT, 5000, 0)
  process.stdout.write(`${t.callsPerSec.toFixed(0)} calls/s`)
}
const cpu = process.cpuUsage(cpu0)
process.stdout.write(`, ${((cpu.user + cpu.system) / calls).toFixed(1)} µs CPU per call (both ends)\n`)
await caller.stop()
await provider.stop()
process.exit(0)
