import { FLOOR_CLI, MESH_BIN, runToExit } from './procs.js'
import { median } from './stats.js'

export interface ColdFigures { minMs: number, medianMs: number, runs: number }

function figures (times: number[]): ColdFigures {
  return { minMs: Math.min(...times), medianMs: median(times), runs: times.length }
}

/** `mesh call add 4 6 ...flags` as a fresh process, from spawn to exit, `runs` times. */
export async function coldCli (flags: string[], runs: number): Promise<ColdFigures> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const r = await runToExit(MESH_BIN, ['call', 'add', '4', '6', ...flags])
    if (r.code !== 0 || r.stdout.trim() !== '10') throw new Error(`mesh call add 4 6 printed ${JSON.stringify(r.stdout)}, exit ${r.code}`)
    times.push(r.ms)
  }
  return figures(times)
}

/** The floor of a cold call: a fresh node process doing one framed TCP call. */
export async function coldFloor (port: number, runs: number): Promise<ColdFigures> {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const r = await runToExit(FLOOR_CLI, [String(port)])
    if (r.stdout.trim() !== '10') throw new Error(`floor cli printed ${JSON.stringify(r.stdout)}`)
    times.push(r.ms)
  }
  return figures(times)
}
