import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { Packr } from 'msgpackr'
import { decode, encode } from '../../src/codec.js'
import { REGISTRY_PROTOCOL, RPC_PROTOCOL } from '../../src/constants.js'
import { createMeshNode, type MeshNode, type NodeRecord } from '../../src/index.js'
import { createTransport } from '../../src/node/libp2p.js'
import { signRecord } from '../../src/registry/record.js'
import { FrameDecoder, encodeFrame } from '../../src/rpc/framing.js'

/**
 * Throws MESH_FUZZ_FRAMES (default 100,000) random and mutated frames at a
 * node's RPC and registry protocols over real libp2p streams, from a seeded
 * PRNG (MESH_FUZZ_SEED) so any failure replays exactly. Each batch is many
 * well-formed but hostile frames (which must be refused call by call, never
 * costing the stream), then maybe one malformed frame (which may cost the
 * stream, never the node), then a sentinel whose answer proves the node
 * processed the whole batch.
 */
const FRAMES = Number(process.env.MESH_FUZZ_FRAMES ?? 100_000)
const SEED = Number(process.env.MESH_FUZZ_SEED ?? 0x6d657368)
const RPC_LANES = 3
const SENTINEL_ID = 2 ** 31

/** mulberry32: small, fast, seeded. */
function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// A packer for hostile frames: it may write things mesh's own codec would not.
const rawPacker = new Packr({ moreTypes: true, useRecords: false })

class Gen {
  readonly random: () => number
  constructor (seed: number) { this.random = prng(seed) }
  int (n: number): number { return Math.floor(this.random() * n) }
  chance (p: number): boolean { return this.random() < p }
  pick<T> (items: readonly T[]): T { return items[this.int(items.length)] }
  bytes (n: number): Uint8Array { return Uint8Array.from({ length: n }, () => this.int(256)) }

  string (): string {
    return this.pick(['', 'add', 'factorial', 'matmul', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'x'.repeat(this.int(300)),
      String.fromCharCode(...Array.from({ length: this.int(20) }, () => this.int(0x2fff))), '@mesh/steal', 'greeter.hello', '../../etc/passwd',
      'data:text/javascript,process.exit(1)', 'node:child_process'])
  }

  number (): number {
    return this.pick([0, -0, 1, -1, 0.5, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 53) - 2, 1e308, 5e-324, this.int(2 ** 31), this.random() * 1e6 - 5e5, 2 ** 32 + 1])
  }

  value (depth = 0): unknown {
    const leaf = depth > 4 || this.chance(0.4)
    const k = this.int(leaf ? 9 : 16)
    switch (k) {
      case 0: return this.number()
      case 1: return this.string()
      case 2: return this.pick([null, undefined, true, false])
      case 3: return BigInt(this.int(2 ** 31)) ** BigInt(1 + this.int(40)) * (this.chance(0.5) ? -1n : 1n)
      case 4: return new Float64Array(this.int(20)).map(() => this.random())
      case 5: return this.bytes(this.int(64))
      case 6: return new Date(this.int(2 ** 40))
      case 7: return this.int(100)
      case 8: return this.pick([new Error('e'), new RangeError('r'), new Int32Array(3), new Set([1, 'a'])])
      case 9: case 10: case 11: return Array.from({ length: this.int(6) }, () => this.value(depth + 1))
      case 12: case 13: {
        const o: Record<string, unknown> = {}
        for (let i = 0; i < this.int(5); i++) own(o, this.pick(['__proto__', 'constructor', 'prototype', 'rows', 'cols', 'data', 'code', this.string()]), this.value(depth + 1))
        return o
      }
      case 14: return { rows: this.int(5), cols: this.int(5), data: new Float64Array(this.int(30)) }
      default: return Array.from({ length: this.int(4) }, () => Array.from({ length: this.int(4) }, () => this.number()))
    }
  }

  /** Well-formed RPC envelopes with hostile contents: every one must be answered or ignored, never cost the stream. */
  softRpc (id: number): Uint8Array {
    switch (this.int(10)) {
      case 0: case 1: case 2: {
        const task = this.pick(['add', 'add', 'factorial', 'matmul', 'nope', this.string()])
        const args = Array.from({ length: this.int(4) }, () => this.value(1))
        const meta = this.pick([undefined, {}, { timeout: this.number() }, { timeout: 'soon' }, own({}, '__proto__', { timeout: 1 })])
        return rawPacker.pack([1, id, task, args, meta])
      }
      case 3: return rawPacker.pack([1, id, 'add', [this.int(1000), this.int(1000)], undefined])
      case 4: return rawPacker.pack([1, id, 'factorial', [this.pick([this.int(300), -1, 2001, 1.5, 'x', 2n ** 70n])], undefined])
      case 5: {
        // over-limit arguments: nesting past the depth limit, or a BigInt whose declared length is over the limit
        if (this.chance(0.5)) {
          const nested = encode([1, id, 'add', [1, 2], undefined])
          const deep = new Uint8Array(100).fill(0x91)
          return concat(nested.subarray(0, nested.length - 4), new Uint8Array([0x92]), deep, new Uint8Array([0xc0, 0x01, 0xc0]))
        }
        const head = encode([1, id, 'add', [0, 1], undefined])
        const lie = new Uint8Array([0xc9, 0x7f, 0xff, 0xff, 0xff, 0x42])
        return concat(head.subarray(0, head.length - 4), new Uint8Array([0x92]), lie)
      }
      case 6: return rawPacker.pack([this.pick([2, 5]), this.int(2 ** 40), this.value(2)]) // answers to calls never made
      case 7: return rawPacker.pack([3, this.int(100), this.pick([{ code: '__proto__', message: 5 }, { code: 'BUSY' }, { data: this.value(2) }])])
      case 8: return rawPacker.pack([4, this.int(2 ** 31)])
      default: return rawPacker.pack([1, this.pick([1, 1, 2]), 'add', [1, 2], undefined]) // duplicate ids
    }
  }

  /** Malformed frames: these may reset the stream. */
  hard (soft: Uint8Array): { bytes: Uint8Array, endsStream: boolean } {
    const framed = (payload: Uint8Array): { bytes: Uint8Array, endsStream: boolean } => ({ bytes: encodeFrame(payload), endsStream: false })
    switch (this.int(11)) {
      case 0: return framed(this.bytes(this.int(300)))
      case 1: { // flip bytes
        const m = soft.slice()
        for (let i = 0; i < 1 + this.int(4); i++) if (m.length > 0) m[this.int(m.length)] = this.int(256)
        return framed(m)
      }
      case 2: return framed(soft.subarray(0, this.int(soft.length))) // truncated value
      case 3: return framed(concat(soft, this.bytes(1 + this.int(8)))) // trailing bytes
      case 4: { // length prefix promising more than arrives, then the stream ends
        const bytes = encodeFrame(soft)
        new DataView(bytes.buffer).setUint32(0, soft.length + 1 + this.int(1000))
        return { bytes, endsStream: true }
      }
      case 5: { // oversized length prefix
        const bytes = new Uint8Array(4 + this.int(16))
        new DataView(bytes.buffer).setUint32(0, 64 * 1024 * 1024 + 1 + this.int(2 ** 31))
        return { bytes, endsStream: false }
      }
      case 6: return framed(rawPacker.pack(this.pick([[this.pick([0, 6, 99, -1, 'x', null]), 1], [1, 'id', 'add', []], [1, 1.5, 'add', []], [1, 1, 5, []],
        [1, 1, 'add', 'args'], [2, 1], { 0: 1 }, 'hello', 42, [3, 1, null], []])))
      case 7: return framed(concat(new Uint8Array(50_000 + this.int(50_000)).fill(0x91), new Uint8Array([0xc0]))) // deep nesting
      case 8: return framed(this.pick([ // extensions mesh refuses
        new Uint8Array([0xd4, 0x72, 0x0a, 0x91, 0xa1, 0x78, 0x05]),
        new Uint8Array([0xd6, 0x69, 0, 0, 0, 1, 0x90]),
        new Uint8Array([0xd6, 0x70, 0, 0, 0, 1]),
        new Uint8Array([0xd6, 0x62, 0, 0, 0, 9, 0xa1, 0x61]),
        new Uint8Array([0xd4, this.int(256), 0x00])
      ]))
      case 9: return framed(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff, ...this.bytes(this.int(20))])) // lying counts
      default: return framed(new Uint8Array([0x95, 0x03, 0x01, 0xc9, 0x7f, 0xff, 0xff, 0xff, 0x42])) // BigInt lie in a non-request
    }
  }
}

/** Set an own property, even `__proto__`, as a map off the wire would carry it. */
function own (o: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true })
  return o
}

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

interface Figures { frames: number, rpcFrames: number, registryFrames: number, streams: number, resets: number, batches: number, hugeBigInts: number }

/** Read frames off an attacker stream and resolve when the sentinel is answered or the stream closes. */
function watch (stream: Stream): { answered: (id: number) => Promise<'answered' | 'closed'>, closed: () => boolean } {
  const decoder = new FrameDecoder(1024 * 1024 * 1024)
  let isClosed = false
  const waiting = new Map<number, (outcome: 'answered' | 'closed') => void>()
  stream.addEventListener('message', (evt) => {
    for (const frame of decoder.push(evt.data)) {
      const m = decode(frame) as unknown[]
      if ((m[0] === 2 || m[0] === 3) && waiting.has(m[1] as number)) {
        waiting.get(m[1] as number)!('answered')
        waiting.delete(m[1] as number)
      }
    }
  })
  stream.addEventListener('close', () => {
    isClosed = true
    for (const resolve of waiting.values()) resolve('closed')
    waiting.clear()
  })
  return {
    answered: async (id) => isClosed ? 'closed' : new Promise((resolve) => { waiting.set(id, resolve) }),
    closed: () => isClosed
  }
}

describe(`fuzz: ${FRAMES} random and mutated frames at a node's RPC and registry protocols (seed ${SEED})`, function () {
  this.timeout(300_000)
  let victim: MeshNode
  let friend: MeshNode
  let attacker: Libp2p
  let attackerKey: PrivateKey
  const problems: string[] = []
  const onUnhandled = (reason: unknown): void => { problems.push(`unhandled rejection: ${String((reason as Error)?.stack ?? reason)}`) }
  const onUncaught = (err: Error): void => { problems.push(`uncaught exception: ${err.stack ?? String(err)}`) }

  before(async function () {
    process.on('unhandledRejection', onUnhandled)
    process.on('uncaughtException', onUncaught)
    victim = await createMeshNode({ name: 'fuzz-victim', serve: 'add,factorial,matmul', mdns: false, workers: 1, limits: { maxFactorialN: 2000, maxMatrixDim: 64 } })
    friend = await createMeshNode({ name: 'friend', mdns: false, bootstrap: victim.addresses })
    await friend.waitForPeers(1, 10_000)
    attackerKey = await generateKeyPair('Ed25519')
    attacker = await createTransport({ privateKey: attackerKey, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
    await attacker.start()
  })

  after(async function () {
    process.off('unhandledRejection', onUnhandled)
    process.off('uncaughtException', onUncaught)
    await Promise.all([victim?.stop(), friend?.stop(), attacker?.stop()])
  })

  it('zero crashes, zero unhandled rejections, every well-formed hostile frame refused without losing the stream, and the node still serves', async function () {
    const target = multiaddr(victim.addresses[0])
    const figures: Figures = { frames: 0, rpcFrames: 0, registryFrames: 0, streams: 0, resets: 0, batches: 0, hugeBigInts: 0 }
    const started = performance.now()
    const registryShare = Math.floor(FRAMES / 5)
    const rpcShare = FRAMES - registryShare

    const rpcLane = async (lane: number, quota: number): Promise<void> => {
      const gen = new Gen(SEED * 31 + lane)
      let stream: Stream | undefined
      let watcher: ReturnType<typeof watch> | undefined
      let sent = 0
      let nextId = 1
      while (sent < quota) {
        if (stream === undefined || watcher!.closed()) {
          stream = await attacker.dialProtocol(target, RPC_PROTOCOL)
          watcher = watch(stream)
          figures.streams++
        }
        const batch: Uint8Array[] = []
        const size = 20 + gen.int(130)
        let last: Uint8Array = new Uint8Array()
        for (let i = 0; i < size; i++) { last = gen.softRpc(nextId++); batch.push(encodeFrame(last)) }
        if (figures.hugeBigInts < 3 && gen.chance(0.005)) { // a real BigInt just over the default 2^25-bit argument limit (4 MiB)
          batch.push(encodeFrame(encode([1, nextId++, 'add', [2n ** (2n ** 25n + 64n), 1], undefined])))
          figures.hugeBigInts++
        }
        const hard = gen.chance(0.5) ? gen.hard(last) : undefined
        if (hard !== undefined) batch.push(hard.bytes)
        const sentinel = SENTINEL_ID + nextId++
        if (hard?.endsStream !== true) batch.push(encodeFrame(encode([1, sentinel, 'add', [1, 2], undefined])))
        const outcome = watcher!.answered(sentinel)
        stream.send(concat(...batch))
        if (hard?.endsStream === true) await stream.close().catch(() => {})
        const result = await Promise.race([
          outcome,
          new Promise<'hung'>(resolve => setTimeout(() => { resolve('hung') }, hard?.endsStream === true ? 2000 : 20_000))
        ])
        sent += batch.length
        figures.rpcFrames += batch.length
        figures.batches++
        if (result === 'hung' && hard?.endsStream !== true) problems.push(`lane ${lane}: batch ${figures.batches} neither answered nor reset (seed ${SEED})`)
        if (result === 'closed' && hard === undefined) problems.push(`lane ${lane}: a batch of well-formed frames cost the stream (seed ${SEED}, batch ${figures.batches})`)
        if (result !== 'answered') {
          figures.resets++
          stream.abort(new Error('next stream'))
          stream = undefined
        }
      }
      stream?.abort(new Error('done'))
      if (process.env.MESH_FUZZ_VERBOSE !== undefined) console.log(`      rpc lane ${lane} done at ${((performance.now() - started) / 1000).toFixed(1)} s`)
    }

    const registryLane = async (quota: number): Promise<void> => {
      const gen = new Gen(SEED * 31 + 1000)
      const attackerId = peerIdFromPrivateKey(attackerKey).toString()
      let seq = Date.now() * 1000
      const record = (task: string): NodeRecord => ({
        peerId: attackerId, name: 'fuzz', seq: ++seq, expires: Date.now() + 60_000, addrs: [], tasks: [{ name: task, args: '' }], objects: [], load: { running: 0, queued: 0, workers: 1 }
      })
      const good = encode(await signRecord(record('x'), attackerKey))
      let stream: Stream | undefined
      let sent = 0
      let sentinelNo = 0
      while (sent < quota) {
        if (stream === undefined || stream.status !== 'open') {
          stream = await attacker.dialProtocol(target, REGISTRY_PROTOCOL)
          figures.streams++
        }
        const batch: Uint8Array[] = []
        for (let i = 0, n = 20 + gen.int(100); i < n; i++) {
          switch (gen.int(6)) {
            case 0: batch.push(encodeFrame(gen.bytes(gen.int(200)))); break
            case 1: { const m = good.slice(); for (let j = 0; j < 1 + gen.int(4); j++) m[gen.int(m.length)] = gen.int(256); batch.push(encodeFrame(m)); break }
            case 2: batch.push(encodeFrame(rawPacker.pack({ payload: gen.bytes(gen.int(100)), signature: gen.bytes(64) }))); break
            case 3: batch.push(encodeFrame(rawPacker.pack({ payload: rawPacker.pack(gen.value()), signature: gen.bytes(64) }))); break
            case 4: batch.push(encodeFrame(rawPacker.pack(gen.value()))); break
            default: batch.push(encodeFrame(good.subarray(0, gen.int(good.length))))
          }
        }
        const kill = gen.chance(0.1)
        if (kill) {
          const prefix = new Uint8Array(4)
          new DataView(prefix.buffer).setUint32(0, 256 * 1024 + 1 + gen.int(2 ** 30))
          batch.push(prefix)
        }
        const task = `sentinel-${sentinelNo++}`
        let check: ((peer: string, r: NodeRecord | undefined) => void) | undefined
        const landed = new Promise<void>((resolve) => {
          check = (peer, r) => { if (peer === attackerId && r?.tasks[0]?.name === task) resolve() }
          victim.registry.on('change', check)
        })
        if (!kill) batch.push(encodeFrame(encode(await signRecord(record(task), attackerKey))))
        const closed = new Promise<void>((resolve) => { stream!.addEventListener('close', () => { resolve() }, { once: true }) })
        stream.send(concat(...batch))
        const result = await Promise.race([landed.then(() => 'landed'), closed.then(() => 'closed'), new Promise(resolve => setTimeout(() => { resolve('hung') }, 20_000))])
        victim.registry.off('change', check!)
        sent += batch.length
        figures.registryFrames += batch.length
        figures.batches++
        if (kill ? result !== 'closed' : result !== 'landed') problems.push(`registry: batch ${figures.batches} ended ${String(result)} (kill=${kill}, seed ${SEED})`)
        if (result !== 'landed') { figures.resets++; stream.abort(new Error('next stream')); stream = undefined }
      }
      stream?.abort(new Error('done'))
      if (process.env.MESH_FUZZ_VERBOSE !== undefined) console.log(`      registry lane done at ${((performance.now() - started) / 1000).toFixed(1)} s`)
    }

    await Promise.all([
      registryLane(registryShare),
      ...Array.from({ length: RPC_LANES }, async (_, lane) => rpcLane(lane, Math.ceil(rpcShare / RPC_LANES)))
    ])
    figures.frames = figures.rpcFrames + figures.registryFrames
    const seconds = (performance.now() - started) / 1000
    // The figures go to the test report: frames thrown, streams used, streams reset.
    console.log(`      fuzz: ${figures.frames} frames (${figures.rpcFrames} RPC, ${figures.registryFrames} registry) in ${figures.batches} batches, ` +
      `${figures.streams} streams, ${figures.resets} reset, ${figures.hugeBigInts} real over-limit BigInts, ${seconds.toFixed(1)} s, seed ${SEED}`)

    assert.deepEqual(problems, [])
    assert.ok(figures.frames >= FRAMES)
    // No forged record got in: the victim knows the friend and the attacker's own (validly signed) sentinels only.
    for (const r of victim.registry.peers()) assert.ok(r.peerId === friend.peerId || r.peerId === peerIdFromPrivateKey(attackerKey).toString(), r.peerId)
    // The node still answers: the friend that was connected all along, and a newcomer.
    assert.equal(await friend.call('add', 20, 22), 42)
    assert.equal(await friend.call('factorial', 20), 2432902008176640000n)
    const newcomer = await createMeshNode({ name: 'newcomer', mdns: false, bootstrap: victim.addresses })
    try {
      assert.equal(await newcomer.call('add', 1, 2), 3)
    } finally {
      await newcomer.stop()
    }
    assert.equal(({} as any).polluted, undefined)
  })
})
