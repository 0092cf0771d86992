import assert from 'node:assert/strict'
import { createMeshNode, MeshError, type MeshNode } from '../../src/index.js'
import type { JobProgress } from '../../src/stealing/index.js'
import { factorial as factorialKernel } from '../../src/tasks/kernels/factorial.js'
import { runCli, startCliNode, type CliNode } from '../helpers.js'

/**
 * Work stealing between separate `mesh node` processes, as users run them:
 * one worker each, small chunks, and throttled nodes so that a job lasts
 * long enough for peers to steal and for a test to kill one mid-job.
 */
const NODE = ['--serve', 'factorial,matmul', '--workers', '1', '--no-mdns', '--split-chunks', '24', '--split-threshold', '1', '--split-alone']

describe('work stealing across CLI node processes', function () {
  const started: CliNode[] = []
  let client: MeshNode | undefined

  const start = async (...args: string[]): Promise<CliNode> => {
    const node = await startCliNode([...NODE, ...args])
    started.push(node)
    return node
  }

  afterEach(async function () {
    await client?.stop()
    client = undefined
    await Promise.all(started.splice(0).map(n => n.stop('SIGKILL')))
  })

  it('mesh call --stats prints the exact result on stdout and per-peer stats on stderr', async function () {
    const owner = await start('--throttle', '0.2')
    await start('--bootstrap', owner.addresses[0])
    const r = await runCli(['call', 'factorial', '60000', '--stats', '--no-mdns', '--bootstrap', owner.addresses[0], '--timeout', '30000'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, factorialKernel(60000).toString() + '\n')
    // 24 range chunks and the 22 multiplications of their tree (24 − popcount(24)), each run as a chunk.
    assert.match(r.stderr, /^stats: 46 chunks on [12] peer\(s\), \d+ steal\(s\); job \d+ ms/m)
    assert.match(r.stderr, /peer\s+id\s+chunks\s+steals\s+returned\s+reclaimed\s+to caller\s+compute ms/)
    // Not a terminal: no progress bar escape codes in the log.
    assert.ok(!r.stderr.includes('\r') && !r.stderr.includes('\u001b['))

    const j = await runCli(['call', 'matmul', '120', '80', '--stats', '--json', '--no-mdns', '--bootstrap', owner.addresses[0], '--timeout', '30000'])
    assert.equal(j.code, 0, j.stderr)
    const envelope = JSON.parse(j.stdout)
    assert.equal(envelope.ok, true)
    assert.equal(envelope.result.length, 120)
    assert.equal(envelope.stats.split, true)
    assert.equal(envelope.stats.chunks, 24)
    assert.equal(envelope.stats.peers.reduce((n: number, p: any) => n + p.chunks, 0), 24)
  })

  it('a thief killed (-9) mid-job: its chunks are done elsewhere and the result is exact', async function () {
    const owner = await start('--throttle', '0.3')
    const victim = await start('--bootstrap', owner.addresses[0], '--throttle', '0.3')
    await start('--bootstrap', owner.addresses[0])
    client = await createMeshNode({ name: 'client', mdns: false, bootstrap: [owner.addresses[0]] })
    await client.waitForPeers(1, 10_000)
    let killed = false
    let last: JobProgress | undefined
    const result = await client.callWith<bigint>('factorial', [150000], {
      timeout: 60_000,
      onProgress: (p) => {
        last = p as JobProgress
        if (!killed && last.final !== true && last.peers.some(s => s.peer === victim.peerId && s.steals > 0)) {
          killed = true
          victim.process.kill('SIGKILL')
        }
      }
    })
    assert.ok(killed, `the victim never stole: ${JSON.stringify(last?.peers)}`)
    assert.equal(result, factorialKernel(150000))
    const share = last?.peers.find(s => s.peer === victim.peerId)
    assert.ok(share !== undefined && share.returned > 0, `the victim's chunks came back: ${JSON.stringify(last?.peers)}`)
    assert.equal(last?.peers.reduce((n, s) => n + s.chunks, 0), 24 + 22)
  })

  it('a thief that stops answering (SIGSTOP) loses its chunks after the silence lease; the result is exact', async function () {
    const owner = await start('--throttle', '0.3', '--steal-silence', '1500')
    const frozen = await start('--bootstrap', owner.addresses[0], '--throttle', '0.3')
    client = await createMeshNode({ name: 'client', mdns: false, bootstrap: [owner.addresses[0]] })
    await client.waitForPeers(1, 10_000)
    let stopped = false
    let last: JobProgress | undefined
    try {
      const result = await client.callWith<bigint>('factorial', [150000], {
        timeout: 60_000,
        onProgress: (p) => {
          last = p as JobProgress
          if (!stopped && last.final !== true && last.peers.some(s => s.peer === frozen.peerId && s.steals > 0)) {
            stopped = true
            frozen.process.kill('SIGSTOP')
          }
        }
      })
      assert.ok(stopped, `the thief never stole: ${JSON.stringify(last?.peers)}`)
      assert.equal(result, factorialKernel(150000))
      const share = last?.peers.find(s => s.peer === frozen.peerId)
      assert.ok(share !== undefined && share.returned > 0, JSON.stringify(last?.peers))
    } finally {
      frozen.process.kill('SIGCONT')
    }
  })

  it('the owner killed mid-job: PEER_GONE without retries', async function () {
    const owner = await start('--throttle', '0.2')
    await start('--bootstrap', owner.addresses[0])
    client = await createMeshNode({ name: 'client', mdns: false, bootstrap: [owner.addresses[0]] })
    await client.waitForPeers(1, 10_000)
    let killed = false
    const job = client.callWith('factorial', [150000], {
      timeout: 60_000,
      retries: 0,
      onProgress: (p) => {
        if (!killed && (p as JobProgress).done > 0) { killed = true; owner.process.kill('SIGKILL') }
      }
    })
    await assert.rejects(job, (err: any) => err instanceof MeshError && err.code === 'PEER_GONE')
  })

  it('the owner killed mid-job: with retries (the default) the whole job runs again elsewhere, exactly', async function () {
    const first = await start('--throttle', '0.2')
    const second = await start('--bootstrap', first.addresses[0], '--throttle', '0.2')
    client = await createMeshNode({ name: 'client', mdns: false, bootstrap: [first.addresses[0], second.addresses[0]] })
    await client.waitForPeers(2, 10_000)
    let killed: string | undefined
    const result = await client.callWith<bigint>('factorial', [150000], {
      timeout: 60_000,
      onProgress: (p) => {
        const owner = (p as JobProgress).peers.find(s => s.name === 'self')?.peer
        if (killed === undefined && (p as JobProgress).done > 0 && owner !== undefined) {
          killed = owner
          started.find(n => n.peerId === owner)?.process.kill('SIGKILL')
        }
      }
    })
    assert.ok(killed !== undefined)
    assert.equal(result, factorialKernel(150000))
  })
})
