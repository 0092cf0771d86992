import { loadavg, cpus } from 'node:os'
import { networkInterfaces } from 'node:os'
import { createMeshNode, type MeshNode } from '../src/index.js'
import { bulkRows } from './bulk.js'
import { coldCli, coldFloor } from './cold.js'
import { FloorClient, startFloorServer } from './floor.js'
import { FLOOR_SERVER, spawnMeshNode, spawnReady } from './procs.js'
import { floorStartup, meshStartup } from './startup.js'
import { markdownTable, row, textTable, type Row } from './table.js'
import { IN_FLIGHT, measureWarm, type Caller, type WarmFigures } from './warm.js'

/**
 * `npm run bench`: every figure of issue 2 in one run, each beside the same
 * measurement on the raw-TCP floor. Run it inside the network namespace
 * (`/work/shared/netns-run npm run bench`) to include the mDNS figures.
 */

const WARM = { addCalls: 5000, throughputMs: 3000, factorialCalls: 30 }
const COLD_RUNS = 10
const STARTUP_RUNS = 5

const withMdns = Object.keys(networkInterfaces()).every(name => name === 'lo')

function progress (msg: string): void { process.stderr.write(`bench: ${msg}\n`) }

function meshCaller (node: MeshNode): Caller {
  return { call: async (task, args) => await node.callWith(task, args) }
}

function warmRows (label: string, mesh: WarmFigures, floor: WarmFigures): Row[] {
  return [
    row(`add round trip p50${label}`, mesh.add.p50, floor.add.p50, 'µs', { limit: 120, atMost: true }),
    row(`add round trip p99${label}`, mesh.add.p99, floor.add.p99, 'µs'),
    row(`add throughput, ${IN_FLIGHT} in flight${label}`, mesh.throughput.callsPerSec, floor.throughput.callsPerSec, 'calls/s', { limit: 60_000, atMost: false }, true),
    row(`factorial 20000 p50${label}`, mesh.factorial.p50 / 1000, floor.factorial.p50 / 1000, 'ms', { limit: 25, atMost: true })
  ]
}

async function crossProcess (): Promise<{ rows: Row[], provider: Awaited<ReturnType<typeof spawnMeshNode>>, floorPort: number, stopFloor: () => Promise<void> }> {
  progress('floor server (separate process)')
  const floorServer = await spawnReady<{ port: number }>(FLOOR_SERVER, [])
  const floorClient = await FloorClient.connect(floorServer.ready.port)
  const floor = await measureWarm(floorClient, WARM)
  floorClient.close()

  progress('mesh provider (separate process: mesh node --serve add,factorial --workers 1)')
  const provider = await spawnMeshNode(['--serve', 'add,factorial', '--workers', '1', ...(withMdns ? [] : ['--no-mdns'])])
  const caller = await createMeshNode({ mdns: false, bootstrap: provider.ready.addresses })
  await caller.waitForProvider('add')
  const mesh = await measureWarm(meshCaller(caller), WARM)
  await caller.stop()
  return { rows: warmRows('', mesh, floor), provider, floorPort: floorServer.ready.port, stopFloor: floorServer.stop }
}

async function inProcess (): Promise<Row[]> {
  progress('floor and mesh, both ends in this process')
  const { server } = await startFloorServer()
  const address = server.address() as { port: number }
  const floorClient = await FloorClient.connect(address.port)
  const floor = await measureWarm(floorClient, WARM)
  floorClient.close()
  server.close()

  const provider = await createMeshNode({ serve: 'add,factorial', workers: 1, mdns: false })
  const caller = await createMeshNode({ mdns: false, bootstrap: provider.addresses })
  await caller.waitForProvider('add')
  // The caller serves nothing, so every call crosses the connection to the provider.
  const mesh = await measureWarm(meshCaller(caller), WARM)
  await caller.stop()
  await provider.stop()
  return warmRows(' (in-process)', mesh, floor)
}

async function cold (providerAddrs: string[], floorPort: number): Promise<Row[]> {
  progress(`cold CLI × ${COLD_RUNS}`)
  const floor = await coldFloor(floorPort, COLD_RUNS)
  const rows: Row[] = []
  const add = (label: string, m: { minMs: number, medianMs: number }): void => {
    rows.push(row(`cold CLI call add 4 6, median${label}`, m.medianMs, floor.medianMs, 'ms', { limit: 600, atMost: true }))
    rows.push(row(`cold CLI call add 4 6, min${label}`, m.minMs, floor.minMs, 'ms'))
  }
  add(' (--no-mdns --bootstrap)', await coldCli(['--no-mdns', '--bootstrap', ...providerAddrs], COLD_RUNS))
  if (withMdns) add(' (mDNS)', await coldCli([], COLD_RUNS))
  return rows
}

async function startup (): Promise<Row[]> {
  progress(`node start until callable × ${STARTUP_RUNS}`)
  const floor = await floorStartup(STARTUP_RUNS)
  const rows: Row[] = []
  const caller = await createMeshNode({ mdns: false })
  const bootstrapped = await meshStartup(caller, ['--no-mdns', '--bootstrap', ...caller.addresses], STARTUP_RUNS)
  rows.push(row('node start → first result, median (--bootstrap)', bootstrapped.medianMs, floor.medianMs, 'ms'))
  await caller.stop()
  if (withMdns) {
    const mdnsCaller = await createMeshNode({ mdns: true })
    const found = await meshStartup(mdnsCaller, [], STARTUP_RUNS)
    rows.push(row('node start → first result, median (mDNS)', found.medianMs, floor.medianMs, 'ms'))
    await mdnsCaller.stop()
  }
  return rows
}

async function main (): Promise<void> {
  const loadBefore = loadavg()
  const started = Date.now()
  const cross = await crossProcess()
  const rows = [...cross.rows]
  rows.push(...await cold(cross.provider.ready.addresses, cross.floorPort))
  await cross.provider.stop()
  await cross.stopFloor()
  rows.push(...await bulkRows(progress, withMdns ? [] : ['--no-mdns']))
  rows.push(...await startup())
  rows.push(...await inProcess())
  const loadAfter = loadavg()
  const load = `load average ${loadBefore.map(l => l.toFixed(2)).join(' ')} before, ${loadAfter.map(l => l.toFixed(2)).join(' ')} after; ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}; Node ${process.version}; ${((Date.now() - started) / 1000).toFixed(0)} s`
  process.stdout.write(`\n${textTable(rows)}\n\n${load}\n\nMarkdown:\n\n${markdownTable(rows)}\n\n_${load}_\n`)
}

main().then(() => { process.exit(0) }, (err) => {
  process.stderr.write(`bench failed: ${err?.stack ?? err}\n`)
  process.exit(1)
})
