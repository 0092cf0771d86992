/**
 * The scale scenarios of issue 15, shared by the CI tests (20 nodes) and
 * `npm run bench:scale` (50): convergence, churn, two subnets.
 */
import { spawn } from 'node:child_process'
import { MESH_BIN, Probe, Topology, quantiles, startMany, startNode, type NodeProc, type Netns } from './harness.js'

export type Layout = 'loopback' | 'bridge'

export interface ConvergeResult {
  layout: Layout
  nodes: number
  /** From the first spawn to the last ready line, ms. */
  allReadyMs: number
  /** Nodes whose record the client holds, and when it held them all (ms after the last ready; NaN: never). */
  seen: number
  seenAfterMs: number
  /** Per node: ms from the last ready until the client's own call to it answered (NaN: never). */
  callableAfterMs: number[]
  /** Node 1's count of other nodes whose records it holds, and the least of any node. */
  joinsNode1: number
  joinsMin: number
  /** Median resident set of the node processes, bytes, after convergence. */
  rssMedian: number
  rssMax: number
  /** CPU seconds a node used: up to its ready line (median), and from then until the mesh converged (median, max). */
  cpuStart: number
  cpuConverge: number
  cpuConvergeMax: number
}

function listenOn (ns: Netns | undefined): string {
  return ns === undefined ? '/ip4/127.0.0.1/tcp/0' : `/ip4/${ns.addr}/tcp/0`
}

/** A running mesh: nodes, the probe, and (bridge layout) the topology. Always `close()` it. */
export class Mesh {
  nodes: NodeProc[] = []
  private spawned = 0
  constructor (readonly probe: Probe, readonly topology: Topology | undefined, private readonly slots: Array<Netns | undefined>, private readonly args: string[]) {}

  static async open (layout: Layout, count: number, options: { spare?: number, args?: string[] } = {}): Promise<Mesh> {
    const total = count + (options.spare ?? 0)
    const topology = layout === 'bridge' ? Topology.up(total, 0) : undefined
    try {
      const slots = topology === undefined ? Array.from({ length: total }, () => undefined) : topology.nodes(1)
      const clientNs = topology?.client(1)
      const probe = await Probe.start({ ns: clientNs, listen: listenOn(clientNs) })
      return new Mesh(probe, topology, slots, options.args ?? [])
    } catch (err) {
      topology?.down()
      throw err
    }
  }

  /** Start `count` more nodes at once, each in the next free slot. */
  async start (count: number): Promise<NodeProc[]> {
    const first = this.spawned
    this.spawned += count
    const started = await startMany(count, async (i) => {
      const ns = this.slots[first + i]
      return startNode(`n${first + i + 1}`, { ns, listen: listenOn(ns), args: this.args })
    })
    this.nodes.push(...started)
    return started
  }

  alive (): NodeProc[] { return this.nodes.filter(n => n.process.exitCode === null && n.process.signalCode === null) }

  async close (): Promise<void> {
    await Promise.all(this.nodes.map(async n => { await n.kill('SIGKILL') }))
    await this.probe.stop()
    this.topology?.down()
  }
}

/** Start `count` nodes at once and measure how long until the client can call every one. */
export async function converge (layout: Layout, count: number, timeoutMs = 60_000): Promise<ConvergeResult> {
  const mesh = await Mesh.open(layout, count)
  try {
    const t0 = Date.now()
    const nodes = await mesh.start(count)
    const cpuAtReady = nodes.map(n => n.cpu())
    const lastReady = Math.max(...nodes.map(n => n.readyAt))
    const ids = nodes.map(n => n.peerId)
    const all = (): boolean => { const c = mesh.probe.callable(); return ids.every(id => c.has(id)) }
    await mesh.probe.until(all, timeoutMs)
    // Let node-to-node records settle as long as the client needed, at least 2 s.
    const joined = (n: NodeProc): number => ids.filter(id => id !== n.peerId && n.joins.has(id)).length
    const settleUntil = Date.now() + Math.max(2_000, Math.min(timeoutMs, Date.now() - lastReady))
    while (Date.now() < settleUntil && nodes.some(n => joined(n) < count - 1)) await new Promise(resolve => setTimeout(resolve, 200))
    if (process.env.SCALE_DEBUG !== undefined) {
      const { writeFileSync } = await import('node:fs')
      writeFileSync(process.env.SCALE_DEBUG, JSON.stringify({ t0, lastReady, nodes: nodes.map(n => ({ name: n.name, peerId: n.peerId, readyAt: n.readyAt })), events: mesh.probe.events }, null, 1))
    }
    const callable = mesh.probe.callable()
    const seenEvents = mesh.probe.events.filter(e => e.event === 'seen' && ids.includes(e.peer as string))
    const seenAt = new Map<string, number>()
    for (const e of seenEvents) if (!seenAt.has(e.peer as string)) seenAt.set(e.peer as string, e.at as number)
    const rss = nodes.map(n => n.rss()).sort((a, b) => a - b)
    const cpu = nodes.map((n, i) => n.cpu() - cpuAtReady[i]).sort((a, b) => a - b)
    return {
      layout,
      nodes: count,
      allReadyMs: lastReady - t0,
      seen: seenAt.size,
      seenAfterMs: seenAt.size === count ? Math.max(0, Math.max(...seenAt.values()) - lastReady) : NaN,
      callableAfterMs: ids.map(id => callable.has(id) ? Math.max(0, (callable.get(id) as number) - lastReady) : NaN),
      joinsNode1: joined(nodes[0]),
      joinsMin: Math.min(...nodes.map(joined)),
      rssMedian: rss[Math.floor(rss.length / 2)],
      rssMax: rss[rss.length - 1],
      cpuStart: [...cpuAtReady].sort((a, b) => a - b)[Math.floor(count / 2)],
      cpuConverge: cpu[Math.floor(cpu.length / 2)],
      cpuConvergeMax: cpu[cpu.length - 1]
    }
  } finally {
    await mesh.close()
  }
}

export function describeConverge (r: ConvergeResult): string {
  const q = quantiles(r.callableAfterMs.filter(Number.isFinite))
  const s = (ms: number): string => Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'never'
  return `${r.nodes} nodes (${r.layout}): ready ${s(r.allReadyMs)}; client sees ${r.seen}/${r.nodes} after ${s(r.seenAfterMs)}; ` +
    `callable ${q.n}/${r.nodes}, after last ready p50 ${s(q.p50)} p90 ${s(q.p90)} max ${s(q.max)}; ` +
    `joins node 1 ${r.joinsNode1}, min ${r.joinsMin}; RSS median ${(r.rssMedian / 2 ** 20).toFixed(0)} MB max ${(r.rssMax / 2 ** 20).toFixed(0)} MB; ` +
    `CPU per node: ${r.cpuStart.toFixed(2)} s to ready, ${r.cpuConverge.toFixed(2)} s (max ${r.cpuConvergeMax.toFixed(2)}) to converge`
}

export interface ChurnResult {
  nodes: number
  killed: number
  started: number
  /** Calls made through the mesh during the churn, and those that failed (must be 0). */
  ok: number
  failed: number
  codes: Record<string, unknown>
  /** Per killed node: ms from the SIGKILL until the client no longer held its record (NaN: still held). */
  forgottenAfterMs: number[]
  /** Per new node: ms from its ready line until the client's call to it answered. */
  newCallableAfterMs: number[]
}

/** `count` nodes converge; under a steady load of calls, SIGKILL `churn` at random and start `churn` new ones. */
export async function churn (layout: Layout, count: number, churnCount: number, timeoutMs = 60_000): Promise<ChurnResult> {
  const mesh = await Mesh.open(layout, count, { spare: churnCount })
  try {
    const first = await mesh.start(count)
    await mesh.probe.until(() => { const c = mesh.probe.callable(); return first.every(n => c.has(n.peerId)) }, timeoutMs)
    mesh.probe.send('load start')
    await new Promise(resolve => setTimeout(resolve, 1_000))
    const victims = [...first].sort(() => Math.random() - 0.5).slice(0, churnCount)
    const killedAt = Date.now()
    await Promise.all(victims.map(async v => { await v.kill('SIGKILL') }))
    const fresh = await mesh.start(churnCount)
    const gone = (): boolean => { const k = mesh.probe.known(); return victims.every(v => !k.has(v.peerId)) }
    const allNew = (): boolean => { const c = mesh.probe.callable(); return fresh.every(n => c.has(n.peerId)) }
    await mesh.probe.until(() => gone() && allNew(), timeoutMs)
    await new Promise(resolve => setTimeout(resolve, 1_000))
    mesh.probe.send('load stop')
    const reported = await mesh.probe.until(() => mesh.probe.events.some(e => e.event === 'load'), 30_000)
    // An overloaded probe (50 nodes on two cores) may not report in time: say so, not a TypeError.
    if (!reported) throw new Error('churn: the probe did not report its call load within 30 s of "load stop"')
    const load = mesh.probe.events.find(e => e.event === 'load') as unknown as { ok: number, failed: number, codes: Record<string, unknown> }
    const goneAt = (peer: string): number => {
      const e = mesh.probe.events.filter(x => x.event === 'gone' && x.peer === peer && (x.at as number) >= killedAt)[0]
      return e === undefined || mesh.probe.known().has(peer) ? NaN : (e.at as number) - killedAt
    }
    const callable = mesh.probe.callable()
    return {
      nodes: count,
      killed: churnCount,
      started: churnCount,
      ok: load.ok,
      failed: load.failed,
      codes: load.codes,
      forgottenAfterMs: victims.map(v => goneAt(v.peerId)),
      newCallableAfterMs: fresh.map(n => callable.has(n.peerId) ? Math.max(0, (callable.get(n.peerId) as number) - n.readyAt) : NaN)
    }
  } finally {
    await mesh.close()
  }
}

export interface SubnetsResult {
  nodes: [number, number]
  /** ms from the joining node's ready line until the client (bootstrapped to one node of subnet 1, no mDNS) could call each node. */
  callableAfterMs: number[]
  /** Records the client held at the end, of the n1 + n2 nodes. */
  seen: number
  /** Nodes `mesh ls --no-mdns --bootstrap <one node>` listed as providers of add, run in subnet 1's client namespace. */
  lsProviders: number
}

/** Two subnets (no multicast between them), joined by one `--bootstrap` from a node of subnet 2 to one of subnet 1. */
export async function subnets (n1: number, n2: number, timeoutMs = 60_000): Promise<SubnetsResult> {
  const topology = Topology.up(n1, n2)
  const nodes: NodeProc[] = []
  let probe: Probe | undefined
  try {
    const start = async (ns: Netns, args: string[] = []): Promise<NodeProc> => startNode(`s${ns.subnet}n${ns.index}`, { ns, listen: `/ip4/${ns.addr}/tcp/0`, args })
    const side1 = await Promise.all(topology.nodes(1).map(async ns => start(ns)))
    const [joiner, ...rest2] = topology.nodes(2)
    const side2 = await Promise.all(rest2.map(async ns => start(ns)))
    nodes.push(...side1, ...side2)
    const client = topology.client(1)
    probe = await Probe.start({ ns: client, listen: `/ip4/${client.addr}/tcp/0`, args: ['--no-mdns', '--bootstrap', side1[0].addresses[0]] })
    // The join: one node of subnet 2 is given one address of subnet 1.
    const join = await start(joiner, ['--bootstrap', side1[side1.length - 1].addresses[0]])
    nodes.push(join)
    const ids = nodes.map(n => n.peerId)
    const p = probe
    await p.until(() => { const c = p.callable(); return ids.every(id => c.has(id)) }, timeoutMs)
    const callable = p.callable()
    const ls = await new Promise<string>((resolve) => {
      const child = spawn('nsenter', ['-t', String(client.pid), '-n', '--', process.execPath, MESH_BIN, 'ls', '--json', '--no-mdns', '--timeout', '5000', '--bootstrap', side1[0].addresses[0]], { stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d })
      child.on('close', () => { resolve(out) })
    })
    let lsProviders = 0
    try {
      const records = JSON.parse(ls) as Array<{ peerId: string, tasks: Array<{ name: string }> }>
      lsProviders = records.filter(r => ids.includes(r.peerId) && r.tasks.some(t => t.name === 'add')).length
    } catch { /* not JSON: 0 */ }
    return {
      nodes: [n1, n2],
      callableAfterMs: ids.map(id => callable.has(id) ? Math.max(0, (callable.get(id) as number) - join.readyAt) : NaN),
      seen: [...p.known()].filter(id => ids.includes(id)).length,
      lsProviders
    }
  } finally {
    await Promise.all(nodes.map(async n => { await n.kill('SIGKILL') }))
    await probe?.stop()
    topology.down()
  }
}
