import { createMeshNode, generatePsk } from '../src/index.js'
import bulkTasks, { BULK_DOUBLES, bulkArray } from './bulk-tasks.js'

/**
 * Profiling target, not a figure: two in-process nodes moving the 32 MiB
 * Float64Array of the bulk figure each way, so
 * `node --cpu-prof dist/bench/profile-bulk.js [--psk]` sees both ends of the
 * data plane in one profile. It prints CPU time per MB moved (both ends),
 * which is far steadier than wall time on a shared machine.
 */
const psk = process.argv.includes('--psk') ? generatePsk() : undefined
const provider = await createMeshNode({ serve: bulkTasks, mdns: false, psk })
const caller = await createMeshNode({ mdns: false, bootstrap: provider.addresses, psk })
await caller.waitForProvider('sink')
const data = bulkArray(BULK_DOUBLES)
const rounds = 6
await caller.callWith('sink', [data])
await caller.callWith('source', [BULK_DOUBLES])
const cpu0 = process.cpuUsage()
const t0 = performance.now()
for (let i = 0; i < rounds; i++) {
  if (await caller.callWith('sink', [data]) !== data.byteLength) throw new Error('sink: wrong answer')
  const back = await caller.callWith<Float64Array>('source', [BULK_DOUBLES])
  if (back.length !== BULK_DOUBLES || back[BULK_DOUBLES - 1] !== data[BULK_DOUBLES - 1]) throw new Error('source: wrong answer')
}
const ms = performance.now() - t0
const cpu = process.cpuUsage(cpu0)
const mb = 2 * rounds * data.byteLength / 1e6
process.stdout.write(`${(mb / (ms / 1000)).toFixed(0)} MB/s wall, ${((cpu.user + cpu.system) / 1000 / mb).toFixed(2)} ms CPU per MB (both ends)${psk !== undefined ? ' --psk' : ''}\n`)
await caller.stop()
await provider.stop()
process.exit(0)
