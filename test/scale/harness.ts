/**
 * The harness of the scale tests (test/scale/*.test.ts) and `npm run bench:scale`:
 * many `mesh node` processes, each in its own network namespace on a bridge
 * (test/scale/topology.sh) or all on 127.0.0.1, and a probe process that is
 * the library client measuring when each node becomes callable.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, readFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const MESH_BIN = fileURLToPath(new URL('../../bin/mesh.js', import.meta.url))
export const PROBE = fileURLToPath(new URL('./probe.js', import.meta.url))
/** The script is not compiled: it lives next to the sources. */
export const TOPOLOGY = fileURLToPath(new URL('../../../test/scale/topology.sh', import.meta.url))

/** One network namespace of the topology: a node's (index ≥ 1) or a subnet's client's (index 0). */
export interface Netns { subnet: number, index: number, pid: number, addr: string }

/**
 * Whether child network namespaces can be made here: we must be inside
 * ../shared/netns-run (only loopback) with the rights to make namespaces
 * (root, or root of a user namespace, as netns-run arranges).
 */
export function canBuildTopology (): boolean {
  try {
    execFileSync('unshare', ['--net', 'true'], { stdio: 'ignore' })
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    return links.trim().split('\n').every(l => / lo:/.test(l) || /meshbr|meshv/.test(l))
  } catch {
    return false
  }
}

export class Topology {
  private constructor (private readonly state: string, private readonly dir: string, readonly namespaces: Netns[]) {}

  /** Build two subnets of `n1` and `n2` node namespaces (n2 may be 0), plus a client namespace on each. */
  static up (n1: number, n2: number): Topology {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-topology-'))
    const state = join(dir, 'state')
    execFileSync(TOPOLOGY, ['up', String(n1), String(n2), state], { stdio: ['ignore', 'ignore', 'inherit'] })
    const namespaces = readFileSync(state, 'utf8').trim().split('\n').map(line => {
      const [subnet, index, pid, addr] = line.split(' ')
      return { subnet: Number(subnet), index: Number(index), pid: Number(pid), addr }
    })
    return new Topology(state, dir, namespaces)
  }

  nodes (subnet: number): Netns[] { return this.namespaces.filter(n => n.subnet === subnet && n.index > 0) }
  client (subnet: number): Netns { return this.namespaces.find(n => n.subnet === subnet && n.index === 0) as Netns }

  down (): void {
    try { execFileSync(TOPOLOGY, ['down', this.state], { stdio: 'ignore' }) } catch { /* already down */ }
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** argv to run `node script args` inside `ns` (or here). */
function command (ns: Netns | undefined, script: string, args: string[]): [string, string[]] {
  return ns === undefined
    ? [process.execPath, [script, ...args]]
    : ['nsenter', ['-t', String(ns.pid), '-n', '--', process.execPath, script, ...args]]
}

export interface NodeProc {
  name: string
  process: ChildProcess
  peerId: string
  addresses: string[]
  /** Epoch ms of its ready line. */
  readyAt: number
  /** Peers whose record this node has seen arrive (its `peer joined` lines), and left. */
  joins: Set<string>
  leaves: number
  exited: Promise<void>
  /** Resident set size now, in bytes (0 once it exited). */
  rss: () => number
  /** CPU time used so far (user + system), in seconds: a figure a loaded machine does not distort much. */
  cpu: () => number
  kill: (signal?: NodeJS.Signals) => Promise<void>
}

/** Start `mesh node --serve add` (text output, so its peer joins are printed) and wait until it is ready. */
export async function startNode (name: string, options: { ns?: Netns, listen: string, args?: string[], env?: NodeJS.ProcessEnv }): Promise<NodeProc> {
  const [cmd, argv] = command(options.ns, MESH_BIN, ['node', '--serve', 'add', '--name', name, '--listen', options.listen, ...(options.args ?? [])])
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } })
  const exited = new Promise<void>((resolve) => { child.on('exit', () => { resolve() }) })
  const joins = new Set<string>()
  let leaves = 0
  let stderr = ''
  // SCALE_LOG_DIR=<dir>: keep each node's stderr there (with DEBUG=mesh:* it is the node's trace).
  const logDir = process.env.SCALE_LOG_DIR
  if (logDir !== undefined) child.stderr!.pipe(createWriteStream(join(logDir, `${name}.log`)))
  createInterface({ input: child.stderr! }).on('line', (line) => {
    const join = /^peer joined: \S+ (\S+)/.exec(line)
    if (join !== null) joins.add(join[1])
    else if (line.startsWith('peer left:')) leaves++
    else if (stderr.length < 10_000) stderr += line + '\n'
  })
  const ready = await new Promise<{ peerId: string, addresses: string[], at: number }>((resolve, reject) => {
    let peerId = ''
    const addresses: string[] = []
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('peer id:')) peerId = line.slice('peer id:'.length).trim()
      else if (line.startsWith('listening:')) addresses.push(line.slice('listening:'.length).trim())
      else if (line === 'ready') resolve({ peerId, addresses, at: Date.now() })
    })
    void exited.then(() => { reject(new Error(`node ${name} exited before ready: ${stderr}`)) })
  })
  const proc: NodeProc = {
    name,
    process: child,
    peerId: ready.peerId,
    addresses: ready.addresses,
    readyAt: ready.at,
    joins,
    get leaves () { return leaves },
    exited,
    rss: () => {
      try {
        const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
        return kb === null ? 0 : Number(kb[1]) * 1024
      } catch { return 0 }
    },
    cpu: () => {
      try {
        const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')
        // utime and stime are fields 14 and 15 of stat, in clock ticks (100 a second on Linux).
        return (Number(fields[11]) + Number(fields[12])) / 100
      } catch { return 0 }
    },
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    }
  }
  return proc
}

export interface ProbeEvent { event: string, peer?: string, at?: number, [key: string]: unknown }

/** The probe: a library client (test/scale/probe.ts) in its own process, reporting JSON lines. */
export class Probe {
  readonly events: ProbeEvent[] = []
  private readonly waiters: Array<() => void> = []
  private readonly exited: Promise<void>

  private constructor (readonly process: ChildProcess) {
    this.exited = new Promise((resolve) => { process.on('exit', () => { resolve() }) })
    createInterface({ input: process.stdout! }).on('line', (line) => {
      try { this.events.push(JSON.parse(line)) } catch { return }
      for (const w of this.waiters.splice(0)) w()
    })
  }

  static async start (options: { ns?: Netns, listen: string, args?: string[] }): Promise<Probe> {
    const [cmd, argv] = command(options.ns, PROBE, ['--listen', options.listen, ...(options.args ?? [])])
    const probe = new Probe(spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'inherit'] }))
    await probe.until(() => probe.events.some(e => e.event === 'ready'), 30_000)
    return probe
  }

  /** Peers that answered a call, with the epoch ms of the first answer. */
  callable (): Map<string, number> {
    const out = new Map<string, number>()
    for (const e of this.events) if (e.event === 'callable' && e.peer !== undefined && !out.has(e.peer)) out.set(e.peer, e.at as number)
    return out
  }

  /** Peers whose record the probe holds now. */
  known (): Set<string> {
    const out = new Set<string>()
    for (const e of this.events) {
      if (e.event === 'seen' && e.peer !== undefined) out.add(e.peer)
      if (e.event === 'gone' && e.peer !== undefined) out.delete(e.peer)
    }
    return out
  }

  /** Resolves when `test()` holds; false at the timeout. */
  async until (test: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (!test()) {
      const left = deadline - Date.now()
      if (left <= 0) return false
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250))
        this.waiters.push(() => { clearTimeout(t); resolve() })
      })
    }
    return true
  }

  /** Send a command line to the probe (`load start`, `load stop`). */
  send (line: string): void { this.process.stdin!.write(line + '\n') }

  async stop (): Promise<void> {
    this.process.stdin!.end()
    if (this.process.exitCode === null) this.process.kill('SIGTERM')
    await this.exited
  }
}

export function quantiles (values: number[]): { p50: number, p90: number, max: number, n: number } {
  const s = [...values].sort((a, b) => a - b)
  const q = (p: number): number => s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]
  return { p50: q(0.5), p90: q(0.9), max: s.length === 0 ? NaN : s[s.length - 1], n: s.length }
}

/** Start `count` nodes at once; resolves with them in start order. */
export async function startMany (count: number, make: (i: number) => Promise<NodeProc>): Promise<NodeProc[]> {
  return Promise.all(Array.from({ length: count }, async (_, i) => make(i)))
}
