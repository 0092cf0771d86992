/**
 * The client of the scale tests, run as its own process (in a network
 * namespace of the topology, or on 127.0.0.1): a library MeshNode that
 * serves nothing. It prints one JSON line per event, with epoch ms:
 *   {event:'ready', peerId}              started
 *   {event:'seen', peer, at}             a record serving add arrived
 *   {event:'callable', peer, at}         that very peer answered add(2, 3)
 *   {event:'gone', peer, at}             its record went away
 *   {event:'load', ok, failed, codes}    after `load stop` on stdin
 * `load start` on stdin starts LOAD_LOOPS loops of calls through the mesh
 * (provider choice and retries as any caller); `load stop` ends them.
 *
 *   node dist/test/scale/probe.js --listen /ip4/10.71.1.200/tcp/0 [--no-mdns] [--bootstrap <ma>...]
 */
import { createInterface } from 'node:readline'
import { peerIdFromString } from '@libp2p/peer-id'
import { createMeshNode } from '../../src/index.js'

const LOAD_LOOPS = 8
/** A call to one chosen provider, dial included: shorter, and a slow handshake on a loaded machine was aborted and restarted for ever. */
const PROBE_CALL_TIMEOUT_MS = 20_000

const argv = process.argv.slice(2)
const listen: string[] = []
const bootstrap: string[] = []
let mdns = true
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--listen') listen.push(argv[++i])
  else if (argv[i] === '--bootstrap') bootstrap.push(argv[++i])
  else if (argv[i] === '--no-mdns') mdns = false
}

const say = (event: Record<string, unknown>): void => { process.stdout.write(JSON.stringify(event) + '\n') }
const node = await createMeshNode({ name: `probe-${process.pid}`, listen: listen.length > 0 ? listen : undefined, mdns, bootstrap })
// The probe calls one provider it chooses; the public API picks providers itself.
const rpc = (node as unknown as { rpc: { call: (peer: ReturnType<typeof peerIdFromString>, task: string, args: unknown[], options: { timeout: number }) => Promise<unknown> } }).rpc

const callable = new Set<string>()
const trying = new Set<string>()
/**
 * First calls (each a dial and a Noise handshake) at most this many at
 * once: 50 handshakes at once on a loaded 2-core machine all ran past the
 * 10 s dial timeout and were retried, a storm the probe made itself.
 */
const MAX_PROBES = 8
let probing = 0
const waiting: Array<() => void> = []
async function slot (): Promise<void> {
  while (probing >= MAX_PROBES) await new Promise<void>(resolve => { waiting.push(resolve) })
  probing++
}
function release (): void {
  probing--
  waiting.shift()?.()
}
async function probe (peer: string): Promise<void> {
  if (callable.has(peer) || trying.has(peer)) return
  trying.add(peer)
  try {
    while (node.registry.get(peer) !== undefined && !callable.has(peer)) {
      await slot()
      try {
        if (await rpc.call(peerIdFromString(peer), 'add', [2, 3], { timeout: PROBE_CALL_TIMEOUT_MS }) === 5) {
          callable.add(peer)
          say({ event: 'callable', peer, at: Date.now() })
        }
      } catch {
        release()
        await new Promise(resolve => setTimeout(resolve, 100))
        continue
      }
      release()
    }
  } finally {
    trying.delete(peer)
  }
}

node.registry.on('change', (peer, record) => {
  if (record === undefined) {
    callable.delete(peer)
    say({ event: 'gone', peer, at: Date.now() })
  } else if (record.tasks.some(t => t.name === 'add') && !callable.has(peer) && !trying.has(peer)) {
    say({ event: 'seen', peer, at: Date.now() })
    void probe(peer)
  }
})

let loading = false
let ok = 0
let failed = 0
const codes: Record<string, number> = {}
const loops: Array<Promise<void>> = []
async function loop (k: number): Promise<void> {
  let i = 0
  while (loading) {
    try {
      const r = await node.callWith('add', [k, i], { timeout: 15_000 })
      if (r === k + i) ok++
      else { failed++; codes.WRONG = (codes.WRONG ?? 0) + 1 }
    } catch (err: any) {
      failed++
      codes[err.code ?? 'ERROR'] = (codes[err.code ?? 'ERROR'] ?? 0) + 1
    }
    i++
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'load start' && !loading) {
    loading = true
    for (let k = 0; k < LOAD_LOOPS; k++) loops.push(loop(k))
  } else if (line === 'load stop') {
    loading = false
    void Promise.all(loops.splice(0)).then(() => { say({ event: 'load', ok, failed, codes }) })
  }
}).on('close', () => { loading = false })

process.on('SIGTERM', () => { void node.stop().then(() => process.exit(0)) })
say({ event: 'ready', peerId: node.peerId })
