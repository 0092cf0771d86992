/**
 * `../shared/netns-run node dist/bench/connections.js [clients]`: what one
 * connection costs a node (issue 15). Starts `mesh node --serve add`, then
 * `clients` library clients one after another, each with its own identity:
 * each connects (TCP, Noise, Yamux, identify, registry streams), calls
 * add once and stops. Prints the node's CPU (user + system, from /proc) per
 * client, and the client's time to its first answer, connection included.
 */
import { readFileSync } from 'node:fs'
import { createMeshNode } from '../src/index.js'
import { startCliNode } from '../test/helpers.js'

const clients = Number(process.argv[2] ?? 30)
const cpuMs = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
  // utime and stime (fields 14 and 15 of stat) are in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10
}
const settle = async (): Promise<void> => { await new Promise(resolve => setTimeout(resolve, 1_000)) }

async function client (addr: string): Promise<number> {
  const c = await createMeshNode({ name: 'bench-connections', mdns: false, bootstrap: [addr] })
  try {
    const t0 = performance.now()
    if (await c.callWith('add', [1, 2]) !== 3) throw new Error('add 1 2 was not 3')
    return performance.now() - t0
  } finally {
    await c.stop()
  }
}

const node = await startCliNode(['--serve', 'add', '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'])
try {
  const pid = node.process.pid as number
  // Warm-up: the node's first connections load Noise's WebAssembly and compile the hot paths.
  for (let i = 0; i < 3; i++) await client(node.addresses[0])
  await settle()
  const before = cpuMs(pid)
  let firstCallMs = 0
  for (let i = 0; i < clients; i++) firstCallMs += await client(node.addresses[0])
  await settle()
  const perClient = (cpuMs(pid) - before) / clients
  console.log(`${clients} clients: the node's CPU per connection + call + disconnect ${perClient.toFixed(1)} ms; ` +
    `a client's first answer (connection included) ${(firstCallMs / clients).toFixed(1)} ms on average`)
} finally {
  await node.stop()
}
process.exit(0)
