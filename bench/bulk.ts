import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createMeshNode } from '../src/index.js'
import { generatePsk } from '../src/security/psk.js'
import { BULK_DOUBLES, bulkArray } from './bulk-tasks.js'
import { FloorClient } from './floor.js'
import { FLOOR_SERVER, spawnMeshNode, spawnReady } from './procs.js'
import { nowUs } from './stats.js'
import { row, type Row } from './table.js'
import type { Caller } from './warm.js'

/**
 * The bulk figure of issue 10: a 32 MiB Float64Array to a peer in another
 * process and back through the normal RPC path (node.callWith: codec, frame
 * limits, argument checks, Noise, Yamux, TCP), in MB/s (10^6 bytes) each way,
 * beside the same on the raw-TCP floor. `sink` times the way there (the
 * answer is a number), `source` the way back (the request is a number).
 */

const BULK_TASKS = fileURLToPath(new URL('./bulk-tasks.js', import.meta.url))
const RUNS = 5
export const BULK_TARGET_MBPS = 300

export interface BulkFigures { toPeer: number, fromPeer: number, roundTrip: number }

/** Median MB/s of RUNS timed calls after one untimed. */
async function rate (caller: Caller, task: string, args: unknown[], bytes: number, check: (r: unknown) => boolean): Promise<number> {
  const rates: number[] = []
  for (let i = 0; i <= RUNS; i++) {
    const t0 = nowUs()
    const result = await caller.call(task, args)
    const us = nowUs() - t0
    if (!check(result)) throw new Error(`${task} returned a wrong answer`)
    if (i > 0) rates.push(bytes / us)
  }
  rates.sort((a, b) => a - b)
  return rates[Math.floor(rates.length / 2)]
}

function sameArray (r: unknown, expected: Float64Array): boolean {
  if (!(r instanceof Float64Array) || r.length !== expected.length) return false
  // Spot checks: a full compare would add to the timed call.
  for (const i of [0, 1, expected.length >> 1, expected.length - 1]) if (r[i] !== expected[i]) return false
  return true
}

export async function measureBulk (caller: Caller): Promise<BulkFigures> {
  const data = bulkArray(BULK_DOUBLES)
  const bytes = data.byteLength
  const toPeer = await rate(caller, 'sink', [data], bytes, r => r === bytes)
  const fromPeer = await rate(caller, 'source', [BULK_DOUBLES], bytes, r => sameArray(r, data))
  const roundTrip = await rate(caller, 'echo', [data], 2 * bytes, r => sameArray(r, data))
  return { toPeer, fromPeer, roundTrip }
}

/** The floor's figures, then mesh's without and with a pre-shared key (pnet). */
export async function bulkRows (progress: (msg: string) => void, mdnsFlags: string[]): Promise<Row[]> {
  progress('bulk: floor server (separate process)')
  const floorServer = await spawnReady<{ port: number }>(FLOOR_SERVER, [])
  const floorClient = await FloorClient.connect(floorServer.ready.port)
  const floor = await measureBulk(floorClient)
  floorClient.close()
  await floorServer.stop()

  const rows: Row[] = []
  const dir = await mkdtemp(join(tmpdir(), 'mesh-bulk-'))
  try {
    const keyFile = join(dir, 'psk')
    await writeFile(keyFile, generatePsk(), { mode: 0o600 })
    for (const psk of [false, true]) {
      const label = psk ? ' (--psk)' : ''
      progress(`bulk: mesh provider (separate process: mesh node --serve bulk-tasks${label})`)
      const provider = await spawnMeshNode(['--serve', BULK_TASKS, '--workers', '1', ...mdnsFlags, ...(psk ? ['--psk', keyFile] : [])])
      const caller = await createMeshNode({ mdns: false, bootstrap: provider.ready.addresses, ...(psk ? { psk: keyFile } : {}) })
      try {
        await caller.waitForProvider('sink')
        const mesh = await measureBulk({ call: async (task, args) => await caller.callWith(task, args) })
        const target = { limit: BULK_TARGET_MBPS, atMost: false }
        rows.push(row(`bulk 32 MiB Float64Array to the peer${label}`, mesh.toPeer, floor.toPeer, 'MB/s', target, true))
        rows.push(row(`bulk 32 MiB Float64Array back from the peer${label}`, mesh.fromPeer, floor.fromPeer, 'MB/s', target, true))
        rows.push(row(`bulk 32 MiB there and back in one call${label}`, mesh.roundTrip, floor.roundTrip, 'MB/s', undefined, true))
      } catch (err: any) {
        // On a starved machine a 32 MiB call can outlast a lease (LEASE_TIMEOUT_MS): report it, keep the other figures.
        progress(`bulk${label} failed: ${err.code ?? ''} ${err.message}`)
        rows.push({ ...row(`bulk 32 MiB${label}: FAILED (${String(err.code ?? err.message)})`, 0, floor.toPeer, 'MB/s', { limit: BULK_TARGET_MBPS, atMost: false }, true), cost: '—' })
      } finally {
        await caller.stop()
        await provider.stop()
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  return rows
}
