// Workflows end to end, the submitter in this process and the provider a
// separate `mesh node` process over TCP + Noise + Yamux on loopback:
//   npm run bench:workflows          (add --json for a machine-readable line)
// Figures:
//  - a 10-step chain of `add` (each step adds 1 to the previous result) run
//    with node.run(chain(...)), against the same 10 calls made one after
//    another from the caller (each result back to the caller, then out again);
//    p50 over many runs, rounds alternating so machine noise hits both;
//  - node.map of 20,000 `add` (concurrency 64), calls/s, against Dask's
//    client.map (644 calls/s) and Celery's group (807 calls/s) measured on
//    this machine (issue 14);
//  - a chord of 10 `add` members and a `sum` body, p50, held by a provider
//    with a `:memory:` journal (the join in memory, members are calls) and by
//    one with a data dir on disk (the join journaled, members and body are
//    detached jobs: docs/workflows.md): the price of a chord that survives
//    its holder's restart.
import { mkdtempSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chain, chord, createMeshNode, group, sig, type MeshNode } from '../src/index.js'
import { spawnMeshNode } from './procs.js'

const TASKS = fileURLToPath(new URL('../../examples/workflow-tasks.js', import.meta.url))
const CHORD_MEMBERS = 10
const CHORD_RUNS = 50

const STEPS = 10
const CHAIN_RUNS = 300
const MAP_CALLS = 20_000
const MAP_CONCURRENCY = 64
const ROUNDS = 3
const DASK_MAP = 644
const CELERY_GROUP = 807

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function timeEach (fn: () => Promise<unknown>, n: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    await fn()
    out.push(performance.now() - t)
  }
  return out
}

async function main (): Promise<void> {
  const json = process.argv.includes('--json')
  const provider = await spawnMeshNode(['--serve', `add,${TASKS}`, '--no-mdns', '--workers', '1', '--name', 'bench-provider', '--data-dir', ':memory:'])
  const caller: MeshNode = await createMeshNode({ name: 'bench-submitter', mdns: false, bootstrap: provider.ready.addresses })
  // A second mesh: its one provider journals chord joins (a data dir on disk).
  const dataDir = mkdtempSync(join(tmpdir(), 'mesh-bench-wf-'))
  const durable = await spawnMeshNode(['--serve', `add,${TASKS}`, '--no-mdns', '--workers', '1', '--name', 'bench-durable', '--data-dir', dataDir])
  const durableCaller: MeshNode = await createMeshNode({ name: 'bench-submitter-2', mdns: false, bootstrap: durable.ready.addresses })
  try {
    await durableCaller.waitForProvider('sum', { timeout: 20_000 })
    await caller.waitForProvider('add', { timeout: 20_000 })
    const steps = [sig('add', 0, 1), ...Array.from({ length: STEPS - 1 }, () => sig('add', 1))]
    const workflow = chain(...steps)
    const chained = async (): Promise<unknown> => {
      const r = await caller.run<number>(workflow)
      if (r !== STEPS) throw new Error(`chain gave ${r}`)
      return r
    }
    const sequential = async (): Promise<unknown> => {
      let x = 0
      for (let i = 0; i < STEPS; i++) x = await caller.call<number>('add', x, 1)
      if (x !== STEPS) throw new Error(`calls gave ${x}`)
      return x
    }
    // Warm up both paths (JIT, stream, registry).
    await timeEach(chained, 100)
    await timeEach(sequential, 100)
    const aChord = chord(group(...Array.from({ length: CHORD_MEMBERS }, (_, i) => sig('add', i, i))), sig('sum'))
    const chordOn = (node: MeshNode) => async (): Promise<unknown> => {
      const r = await node.run<number>(aChord)
      if (r !== CHORD_MEMBERS * (CHORD_MEMBERS - 1)) throw new Error(`chord gave ${r}`)
      return r
    }
    await timeEach(chordOn(caller), 10)
    await timeEach(chordOn(durableCaller), 10)
    const memoryChordP50: number[] = []
    const journaledChordP50: number[] = []
    const chainP50: number[] = []
    const seqP50: number[] = []
    const mapRates: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      chainP50.push(median(await timeEach(chained, CHAIN_RUNS)))
      seqP50.push(median(await timeEach(sequential, CHAIN_RUNS)))
      const items = Array.from({ length: MAP_CALLS }, (_, i) => [i, i])
      const t = performance.now()
      const out = await caller.map<number>('add', items, { spread: true, concurrency: MAP_CONCURRENCY })
      mapRates.push(MAP_CALLS / ((performance.now() - t) / 1000))
      if (out[MAP_CALLS - 1] !== 2 * (MAP_CALLS - 1)) throw new Error('map gave a wrong result')
      memoryChordP50.push(median(await timeEach(chordOn(caller), CHORD_RUNS)))
      journaledChordP50.push(median(await timeEach(chordOn(durableCaller), CHORD_RUNS)))
    }
    const result = {
      chainSteps: STEPS,
      chainP50Ms: median(chainP50),
      sequentialP50Ms: median(seqP50),
      chainSpeedup: median(seqP50) / median(chainP50),
      mapCalls: MAP_CALLS,
      mapConcurrency: MAP_CONCURRENCY,
      mapCallsPerSec: median(mapRates),
      vsDaskClientMap: median(mapRates) / DASK_MAP,
      vsCeleryGroup: median(mapRates) / CELERY_GROUP,
      chordMembers: CHORD_MEMBERS,
      memoryChordP50Ms: median(memoryChordP50),
      journaledChordP50Ms: median(journaledChordP50),
      loadavg: loadavg().map(x => Number(x.toFixed(2)))
    }
    if (json) {
      process.stdout.write(JSON.stringify(result) + '\n')
    } else {
      process.stdout.write([
        `workflows (submitter here, provider a separate mesh node process; load average ${result.loadavg.join(' ')})`,
        `  ${STEPS}-step chain of add, end to end (p50):   ${result.chainP50Ms.toFixed(2)} ms`,
        `  ${STEPS} sequential add calls from the caller:   ${result.sequentialP50Ms.toFixed(2)} ms   → chain ${result.chainSpeedup.toFixed(1)}× faster`,
        `  node.map of ${MAP_CALLS} add (concurrency ${MAP_CONCURRENCY}): ${Math.round(result.mapCallsPerSec)} calls/s` +
          `   (Dask client.map ${DASK_MAP}: ${result.vsDaskClientMap.toFixed(1)}×, Celery group ${CELERY_GROUP}: ${result.vsCeleryGroup.toFixed(1)}×)`,
        `  chord of ${CHORD_MEMBERS} add + sum (p50): join in memory ${result.memoryChordP50Ms.toFixed(2)} ms, journaled ${result.journaledChordP50Ms.toFixed(2)} ms` +
          `   (${(result.journaledChordP50Ms / result.memoryChordP50Ms).toFixed(1)}×)`
      ].join('\n') + '\n')
    }
  } finally {
    await caller.stop()
    await provider.stop()
    await durableCaller.stop()
    await durable.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await main()
