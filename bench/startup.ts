import type { MeshNode } from '../src/index.js'
import { FloorClient } from './floor.js'
import { FLOOR_SERVER, spawnMeshNode, spawnReady } from './procs.js'
import { median, nowUs } from './stats.js'

export interface StartupFigures { minMs: number, medianMs: number, runs: number }

function figures (times: number[]): StartupFigures {
  return { minMs: Math.min(...times), medianMs: median(times), runs: times.length }
}

/** Resolves when `caller` knows no provider of add any more (the last one stopped). */
async function providerGone (caller: MeshNode): Promise<void> {
  while (caller.providers('add').length > 0) {
    await new Promise<void>((resolve) => { caller.once('peer:leave', () => { resolve() }) })
  }
}

/**
 * From spawning `mesh node --serve add ...flags` until a warm node (`caller`,
 * which serves nothing) has the first result of add from it. The caller
 * starts waiting at spawn, as a live mesh would.
 */
export async function meshStartup (caller: MeshNode, flags: string[], runs: number): Promise<StartupFigures> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const t0 = nowUs()
    const result = caller.callWith('add', [4, 6], { timeout: 20_000 })
    const child = await spawnMeshNode(['--serve', 'add', '--workers', '1', ...flags])
    if (await result !== 10) throw new Error('add 4 6 was not 10')
    times.push((nowUs() - t0) / 1000)
    await child.stop()
    await providerGone(caller)
  }
  return figures(times)
}

/** The floor: spawn the plain TCP server, connect as soon as it prints its port, call once. */
export async function floorStartup (runs: number): Promise<StartupFigures> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const child = await spawnReady<{ port: number }>(FLOOR_SERVER, [])
    const client = await FloorClient.connect(child.ready.port)
    if (await client.call('add', [4, 6]) !== 10) throw new Error('floor add 4 6 was not 10')
    times.push((nowUs() - child.spawnedAt) / 1000)
    client.close()
    await child.stop()
  }
  return figures(times)
}
