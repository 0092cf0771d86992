import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { nowUs } from './stats.js'

/** The built CLI and the bench's own scripts, as compiled into dist/. */
export const MESH_BIN = fileURLToPath(new URL('../bin/mesh.js', import.meta.url))
export const FLOOR_SERVER = fileURLToPath(new URL('./floor-server.js', import.meta.url))
export const FLOOR_CLI = fileURLToPath(new URL('./floor-cli.js', import.meta.url))

export interface Child<T> {
  process: ChildProcess
  ready: T
  /** Wall time from spawn to the ready line, in ms. */
  readyMs: number
  /** Milliseconds-since-spawn origin, as nowUs(). */
  spawnedAt: number
  stop: () => Promise<void>
}

/** Spawn `node script ...args` and wait for its JSON line with event "ready". */
export async function spawnReady<T = any> (script: string, args: string[]): Promise<Child<T>> {
  const spawnedAt = nowUs()
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const exited = new Promise<void>((resolve) => { child.on('exit', () => { resolve() }) })
  const ready = await new Promise<T>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const msg = JSON.parse(line)
        if (msg.event === 'ready') resolve(msg)
      } catch { /* not JSON */ }
    })
    void exited.then(() => { reject(new Error(`${script} exited before ready: ${stderr}`)) })
  })
  return {
    process: child,
    ready,
    readyMs: (nowUs() - spawnedAt) / 1000,
    spawnedAt,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    }
  }
}

/** Run `node script ...args` to completion; resolves with its wall time in ms and stdout. */
export async function runToExit (script: string, args: string[]): Promise<{ ms: number, stdout: string, code: number | null }> {
  const t0 = nowUs()
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  let stdout = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
  const code = await new Promise<number | null>((resolve) => { child.on('exit', (c) => { resolve(c) }) })
  return { ms: (nowUs() - t0) / 1000, stdout, code }
}

export interface MeshNodeReady { peerId: string, addresses: string[] }

/** `mesh node --json` with the given flags, as a separate process. */
export async function spawnMeshNode (args: string[]): Promise<Child<MeshNodeReady>> {
  return spawnReady<MeshNodeReady>(MESH_BIN, ['node', '--json', ...args])
}
