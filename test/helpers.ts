import { spawn, type ChildProcess } from 'node:child_process'
import { networkInterfaces } from 'node:os'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import assert from 'node:assert/strict'
import { MeshError } from '../src/errors.js'

/** The built CLI, as `npx mesh` runs it. */
export const MESH_BIN = fileURLToPath(new URL('../bin/mesh.js', import.meta.url))

/**
 * True inside a private network namespace (../shared/netns-run), where the
 * only interface is loopback. mDNS tests run only there: outside it they
 * would multicast on a real LAN.
 */
export function inPrivateNetwork (): boolean {
  return Object.keys(networkInterfaces()).every(name => name === 'lo')
}

export interface CliResult { code: number | null, stdout: string, stderr: string }

/** Run the CLI to completion. */
export async function runCli (args: string[], options: { timeout?: number, env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [MESH_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, options.timeout ?? 60_000)
  const code = await new Promise<number | null>((resolve) => { child.on('close', (c) => { resolve(c) }) })
  clearTimeout(timer)
  return { code, stdout, stderr }
}

export interface CliNode {
  process: ChildProcess
  peerId: string
  addresses: string[]
  stderr: () => string
  /** SIGTERM and wait for exit; returns the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/** Start `mesh node` in the background and wait for its ready line. */
export async function startCliNode (args: string[]): Promise<CliNode> {
  const child = spawn(process.execPath, [MESH_BIN, 'node', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const exited = new Promise<number | null>((resolve) => { child.on('exit', (c) => { resolve(c) }) })
  const ready = await new Promise<{ peerId: string, addresses: string[] }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line)
        if (msg.event === 'ready') resolve(msg)
      } catch { /* not a JSON line: ignore */ }
    })
    void exited.then((code) => { reject(new Error(`mesh node exited with ${code} before ready: ${stderr}`)) })
  })
  return {
    process: child,
    peerId: ready.peerId,
    addresses: ready.addresses,
    stderr: () => stderr,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    }
  }
}

/** Factorial by the naive loop: the oracle the fast kernel is checked against. */
export function naiveFactorial (n: number): bigint {
  let f = 1n
  for (let i = 2n; i <= BigInt(n); i++) f *= i
  return f
}

/** Await `promise`, expecting it to reject with a MeshError of `code`; returns the error. */
export async function rejectsWithCode (promise: Promise<unknown>, code: string): Promise<MeshError> {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof MeshError, `expected a MeshError, got ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return err
  }
  assert.fail(`expected rejection with ${code}`)
}

/** Poll `check` until it holds; fail naming `what` after `timeout` ms. */
export async function until (what: string, check: () => boolean | Promise<boolean>, timeout = 20_000): Promise<void> {
  const deadline = Date.now() + timeout
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 25))
  }
}
