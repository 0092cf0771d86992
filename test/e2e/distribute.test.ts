import assert from 'node:assert/strict'
import { createMeshNode, type MeshNode } from '../../src/index.js'
import type { JobProgress } from '../../src/stealing/index.js'
import { factorial as factorialKernel } from '../../src/tasks/kernels/factorial.js'
import { runCli, startCliNode, type CliNode } from '../helpers.js'

/**
 * Issue 9's split paths across `mesh node` processes: a thief killed with
 * SIGKILL mid-job (matmul, streamed to the caller) and mid-conversion
 * (decimal), and `mesh call` asking the mesh to print a huge integer.
 */
const NODE = ['--serve', 'factorial,matmul', '--workers', '1', '--no-mdns', '--split-threshold', '1']

describe('issue 9: split paths across CLI node processes', function () {
  const started: CliNode[] = []
  let client: MeshNode | undefined

  const start = async (...args: string[]): Promise<CliNode> => {
    const node = await startCliNode([...NODE, ...args, ...started.flatMap(n => ['--bootstrap', n.addresses[0]])])
    started.push(node)
    return node
  }

  afterEach(async function () {
    await client?.stop()
    client = undefined
    await Promise.all(started.splice(0).map(n => n.stop('SIGKILL')))
  })

  /** Three slow nodes and a library caller that talks to the first (the owner). */
  async function three (): Promise<CliNode[]> {
    for (let i = 0; i < 3; i++) await start('--throttle', '0.2')
    client = await createMeshNode({ name: 'client', mdns: false, bootstrap: [started[0].addresses[0]] })
    await client.waitForPeers(1, 10_000)
    await new Promise(resolve => setTimeout(resolve, 500))
    return started
  }

  /** Call, killing the first thief seen holding stolen work before it returns it all. */
  async function killAThief (task: string, args: unknown[]): Promise<{ result: unknown, last: JobProgress, victim: string }> {
    let victim: string | undefined
    let last: JobProgress | undefined
    const result = await client!.callWith(task, args, {
      timeout: 120_000,
      onProgress: (p) => {
        last = p as JobProgress
        if (victim !== undefined || last.final === true) return
        const thief = last.peers.find(s => s.peer !== started[0].peerId && s.steals > 0)
        const node = started.find(n => n.peerId === thief?.peer)
        if (node !== undefined) { victim = node.peerId; node.process.kill('SIGKILL') }
      }
    })
    assert.ok(victim !== undefined && last !== undefined, `no thief ever stole: ${JSON.stringify(last?.peers)}`)
    return { result, last, victim }
  }

  it('a thief killed mid-conversion: its digit block is converted elsewhere, the digits are exact', async function () {
    await three()
    const x = factorialKernel(60000)
    const { result, last, victim } = await killAThief('decimal', [x])
    assert.equal(result, x.toString())
    assert.ok((last.peers.find(s => s.peer === victim)?.returned ?? 0) > 0, JSON.stringify(last.peers))
    assert.equal(last.peers.reduce((n, s) => n + s.chunks, 0), last.total)
  })

  it('a thief killed mid-job while parts stream to the caller: the product is whole and right', async function () {
    await three()
    const { result, last } = await killAThief('matmul', [600, 400])
    const m = result as { rows: number, cols: number, data: Float64Array }
    assert.equal(m.rows, 600)
    assert.equal(m.cols, 600)
    assert.equal(m.data.length, 600 * 600)
    assert.ok(m.data.every(v => Number.isFinite(v) && v > 0))
    assert.equal(last.peers.reduce((n, s) => n + s.chunks, 0), last.total)
  })

  it('mesh call prints a huge factorial through the mesh: exact digits, conversion stats from more than one peer', async function () {
    await start()
    await start()
    const r = await runCli(['call', 'factorial', '300000', '--stats', '--json', '--no-mdns', ...started.flatMap(n => ['--bootstrap', n.addresses[0]]), '--timeout', '60000'])
    assert.equal(r.code, 0, r.stderr)
    const envelope = JSON.parse(r.stdout)
    assert.equal(envelope.result, factorialKernel(300000).toString())
    assert.equal(envelope.decimalStats?.split, true, r.stdout.slice(-400))
    assert.equal(envelope.decimalStats.chunks, 2)
    assert.equal(envelope.decimalStats.peers.filter((p: any) => p.chunks > 0).length, 2)
  })
})
