import type { MeshNode } from '../../node/mesh-node.js'
import { renderResult, shortId } from '../format.js'

/**
 * `mesh demo`: a three-node mesh in this process. Two nodes serve tasks, the
 * third calls across the mesh; it prints what ran where, then stops. The
 * nodes dial each other directly, so the demo needs no multicast.
 */
export async function demoCommand (): Promise<void> {
  const { createMeshNode } = await import('../../node/mesh-node.js')
  const out = (line: string): void => { process.stdout.write(line + '\n') }
  const nodes: MeshNode[] = []
  try {
    const alpha = await createMeshNode({ name: 'alpha', serve: 'add,factorial', mdns: false, workers: 1 })
    nodes.push(alpha)
    const beta = await createMeshNode({ name: 'beta', serve: 'factorial,matmul', mdns: false, workers: 1, bootstrap: alpha.addresses })
    nodes.push(beta)
    const client = await createMeshNode({ name: 'client', mdns: false, bootstrap: [...alpha.addresses, ...beta.addresses] })
    nodes.push(client)
    for (const n of nodes) out(`started ${n.name.padEnd(7)} ${shortId(n.peerId)}  serving ${n.served.join(', ') || 'nothing'}`)
    await client.waitForPeers(2, 10_000)

    const ranOn = new Map<string, string>()
    for (const n of [alpha, beta]) n.on('task:start', (task) => { ranOn.set(task, n.name) })
    const show = async (label: string, task: string, args: unknown[], render: (r: unknown) => string): Promise<void> => {
      const t0 = performance.now()
      const result = await client.callWith(task, args)
      const ms = (performance.now() - t0).toFixed(1)
      out(`${label.padEnd(20)} = ${render(result)}   (ran on ${ranOn.get(task) ?? '?'}, ${ms} ms)`)
    }
    out('')
    out('client calls across the mesh:')
    await show('add(4, 6)', 'add', [4, 6], renderResult)
    await show('factorial(20000)', 'factorial', [20000], r => `${renderResult(r).slice(0, 20)}… (${renderResult(r).length} digits)`)
    await show('matmul(3, 3)', 'matmul', [3, 3], r => renderResult(r).slice(0, 60) + '…')
    out('')
    out('the registry as the client sees it:')
    for (const r of client.records()) out(`  ${r.name.padEnd(7)} ${shortId(r.peerId)}  ${r.tasks.map(t => t.name).join(', ')}`)
  } finally {
    await Promise.all(nodes.map(n => n.stop()))
  }
  out('')
  out('stopped all nodes')
}
