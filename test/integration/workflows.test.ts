import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { chain, chord, constants, createMeshNode, group, sig, type ChainProgress, type MeshNode, type MeshNodeOptions } from '../../src/index.js'
import { naiveFactorial, rejectsWithCode } from '../helpers.js'

const TASKS = fileURLToPath(new URL('../../../examples/workflow-tasks.js', import.meta.url))

describe('workflows: chains with direct hand-off, groups, chords, map (real nodes, real TCP)', function () {
  this.timeout(120_000)
  const nodes: MeshNode[] = []
  let submitter: MeshNode
  let adder: MeshNode
  let factorialer: MeshNode
  let digitser: MeshNode

  async function start (options: MeshNodeOptions): Promise<MeshNode> {
    const node = await createMeshNode({ mdns: false, workers: 1, bootstrap: nodes.flatMap(n => n.addresses), ...options })
    nodes.push(node)
    return node
  }

  before(async function () {
    // Three nodes, each serving only its own step, and a submitter serving nothing.
    adder = await start({ name: 'adder', serve: 'add' })
    factorialer = await start({ name: 'factorialer', serve: 'factorial' })
    digitser = await start({ name: 'digitser', serve: TASKS })
    submitter = await start({ name: 'submitter' })
    for (const node of nodes) await node.waitForPeers(3)
  })

  after(async function () {
    for (const node of nodes) await node.stop()
  })

  it('runs a chain across three nodes: the submitter makes one call and each intermediate crosses one hop', async function () {
    const before = new Map(nodes.map(n => [n, n.workflowStats()]))
    const progress: ChainProgress[] = []
    const result = await submitter.run(chain(sig('add', 4, 6), sig('factorial'), sig('digits')), { onProgress: (p) => { progress.push(p) } })
    assert.equal(result, 7) // 10! = 3628800
    const delta = (n: MeshNode): Record<string, number> => {
      const a = before.get(n) as unknown as Record<string, number>
      const b = n.workflowStats() as unknown as Record<string, number>
      return Object.fromEntries(Object.keys(b).map(k => [k, b[k] - a[k]]))
    }
    // The submitter: one call out (to the adder), one result in, no intermediate.
    assert.deepEqual(pick(delta(submitter), 'callsOut', 'handoffsIn', 'handoffsOut', 'stepsRun', 'resultsReceived'), { callsOut: 1, handoffsIn: 0, handoffsOut: 0, stepsRun: 0, resultsReceived: 1 })
    // add ran on the adder, which handed 10 straight to the factorialer, which handed 10! to the digitser.
    assert.deepEqual(pick(delta(adder), 'handoffsIn', 'stepsRun', 'handoffsOut', 'callsOut'), { handoffsIn: 0, stepsRun: 1, handoffsOut: 1, callsOut: 1 })
    assert.deepEqual(pick(delta(factorialer), 'handoffsIn', 'stepsRun', 'handoffsOut', 'callsOut'), { handoffsIn: 1, stepsRun: 1, handoffsOut: 1, callsOut: 1 })
    assert.deepEqual(pick(delta(digitser), 'handoffsIn', 'stepsRun', 'handoffsOut', 'resultsDelivered', 'callsOut'), { handoffsIn: 1, stepsRun: 1, handoffsOut: 0, resultsDelivered: 1, callsOut: 1 })
    // Progress reached the submitter from the node that ran each step.
    assert.deepEqual(progress.map(p => [p.step, p.of, p.task, p.peer]), [
      [1, 3, 'add', adder.peerId], [2, 3, 'factorial', factorialer.peerId], [3, 3, 'digits', digitser.peerId]
    ])
  })

  it('moves a big intermediate once: factorial(20000) goes from the factorialer to the digitser only', async function () {
    const before = [submitter, factorialer, digitser].map(n => n.workflowStats())
    const result = await submitter.run(chain(sig('factorial', 20000), sig('digits')))
    assert.equal(result, naiveFactorial(20000).toString().length)
    const [s, f, d] = [submitter, factorialer, digitser].map((n, i) => {
      const now = n.workflowStats()
      return { handoffsIn: now.handoffsIn - before[i].handoffsIn, handoffsOut: now.handoffsOut - before[i].handoffsOut }
    })
    assert.deepEqual([s, f, d], [{ handoffsIn: 0, handoffsOut: 0 }, { handoffsIn: 0, handoffsOut: 1 }, { handoffsIn: 1, handoffsOut: 0 }])
  })

  it('refuses a chain naming an unknown task before anything runs, naming the step', async function () {
    const before = nodes.map(n => n.workflowStats().stepsRun)
    const err = await rejectsWithCode(submitter.run(chain(sig('add', 1, 2), sig('factorial'), sig('digitz'))), 'UNKNOWN_TASK')
    assert.match(err.message, /chain step 3 names "digitz"/)
    assert.deepEqual(nodes.map(n => n.workflowStats().stepsRun), before)
  })

  it('refuses a chain over the configured length, and a cycle', async function () {
    const long = chain(...Array.from({ length: constants.DEFAULT_MAX_CHAIN_STEPS + 1 }, () => sig('add', 1)))
    await rejectsWithCode(submitter.run(long), 'LIMIT_EXCEEDED')
    const g = group(sig('add', 1, 1))
    g.members.push(g)
    await rejectsWithCode(submitter.run(g), 'BAD_ARGUMENT')
  })

  it('fails a chain with the failing step named and its code kept', async function () {
    const err = await rejectsWithCode(submitter.run(chain(sig('add', 1, 2), sig('factorial'), sig('sum'))), 'BAD_ARGUMENT')
    assert.match(err.message, /chain step 3 \(sum\) failed: sum: values must be a list/)
  })

  it('runs a group: results in order', async function () {
    const results = await submitter.run<bigint[]>(group(sig('factorial', 1000n), sig('factorial', 2000n)))
    assert.deepEqual(results, [naiveFactorial(1000), naiveFactorial(2000)])
    assert.deepEqual(await submitter.run(group()), [])
  })

  it('runs a chord exactly once: [2, 4, 6] → 12; an empty group fires with []', async function () {
    const fired = (): number => nodes.reduce((s, n) => s + n.workflowStats().chordsFired, 0)
    const before = fired()
    assert.equal(await submitter.run(chord(group(...[1, 2, 3].map(n => sig('add', n, n))), sig('sum'))), 12)
    assert.equal(fired() - before, 1)
    assert.equal(await submitter.run(chord(group(), sig('sum'))), 0)
    assert.equal(fired() - before, 2)
    // A chord whose body is a chain: sum, then its digit count.
    assert.equal(await submitter.run(chord([sig('add', 500, 500), sig('add', 1, 1)], chain(sig('sum'), sig('digits')))), 4)
  })

  it('fails a chord with a failed member\'s error, and does not fire the body', async function () {
    const fired = (): number => nodes.reduce((s, n) => s + n.workflowStats().chordsFired, 0)
    const before = fired()
    await rejectsWithCode(submitter.run(chord(group(sig('add', 1, 1), sig('factorial', -1)), sig('sum'))), 'BAD_ARGUMENT')
    assert.equal(fired(), before)
  })

  it('maps a task over items, results in order; starmap with spread', async function () {
    const ns = Array.from({ length: 50 }, (_, i) => BigInt(i))
    assert.deepEqual(await submitter.map('factorial', ns, { concurrency: 8 }), ns.map(n => naiveFactorial(Number(n))))
    const pairs = Array.from({ length: 500 }, (_, i) => [i, i])
    assert.deepEqual(await submitter.map('add', pairs, { spread: true, concurrency: 64 }), pairs.map(([a]) => 2 * a))
    await rejectsWithCode(submitter.map('nope', [1]), 'UNKNOWN_TASK')
    await rejectsWithCode(submitter.map('add', [1], { concurrency: 0 }), 'BAD_ARGUMENT')
  })
})

function pick (o: Record<string, number>, ...keys: string[]): Record<string, number> {
  return Object.fromEntries(keys.map(k => [k, o[k]]))
}
