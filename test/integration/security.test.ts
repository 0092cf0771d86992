import assert from 'node:assert/strict'
import { mkdtemp } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PrivateKey, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { decode, encode } from '../../src/codec.js'
import { REGISTRY_PROTOCOL, RPC_PROTOCOL } from '../../src/constants.js'
import { createMeshNode, generatePsk, MeshError, type MeshNode, type NodeRecord } from '../../src/index.js'
import { loadOrCreateKey } from '../../src/node/identity.js'
import { createTransport } from '../../src/node/libp2p.js'
import { signRecord } from '../../src/registry/record.js'
import { FrameDecoder, encodeFrame } from '../../src/rpc/framing.js'
import { inPrivateNetwork, rejectsWithCode } from '../helpers.js'

/** A bare libp2p node (no mesh protocols) that can dial a mesh node and write what it likes. */
async function rawPeer (privateKey?: PrivateKey, psk?: Uint8Array): Promise<Libp2p> {
  const libp2p = await createTransport({ privateKey: privateKey ?? await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, psk })
  await libp2p.start()
  return libp2p
}

function tcpPort (node: MeshNode): number {
  const port = node.addresses.map(a => /\/tcp\/(\d+)/.exec(a)?.[1]).find(p => p !== undefined)
  assert.ok(port)
  return Number(port)
}

describe('private mesh with a pre-shared key (direct dials, runs anywhere)', function () {
  const nodes: MeshNode[] = []
  const raw: Libp2p[] = []
  const key = generatePsk()
  let provider: MeshNode

  before(async function () {
    provider = await createMeshNode({ name: 'private-provider', serve: 'add', mdns: false, psk: key })
    nodes.push(provider)
  })

  after(async function () {
    await Promise.all([...nodes.map(n => n.stop()), ...raw.map(r => r.stop())])
  })

  it('a node with the same key connects, sees the provider and calls it', async function () {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-psk-'))
    const { writeFile } = await import('node:fs/promises')
    await writeFile(join(dir, 'mesh.key'), key)
    // The key by file path, as the CLI passes it.
    const member = await createMeshNode({ name: 'member', mdns: false, psk: join(dir, 'mesh.key'), bootstrap: provider.addresses })
    nodes.push(member)
    await member.waitForPeers(1, 10_000)
    assert.equal(await member.call('add', 20, 22), 42)
    assert.deepEqual(member.providers('add'), [provider.peerId])
  })

  for (const [label, psk] of [['another key', generatePsk()], ['no key', undefined]] as const) {
    it(`a node with ${label} cannot connect, see or call anything`, async function () {
      const stranger = await createMeshNode({ name: 'stranger', mdns: false, psk, bootstrap: provider.addresses })
      nodes.push(stranger)
      await rejectsWithCode(stranger.waitForPeers(1, 1500), 'TIMEOUT')
      await rejectsWithCode(stranger.callWith('add', [1, 2], { timeout: 1000 }), 'NO_PROVIDER')
      assert.deepEqual(stranger.peers(), [])
      assert.deepEqual(stranger.records(), [])
      assert.ok(!provider.peers().some(p => p.peerId === stranger.peerId))
      // Nor can it open a protocol stream by dialing directly.
      const bare = await rawPeer(undefined, psk)
      raw.push(bare)
      await assert.rejects(bare.dialProtocol(multiaddr(provider.addresses[0]), RPC_PROTOCOL, { signal: AbortSignal.timeout(3000) }))
      assert.equal(await provider.call('add', 1, 1), 2)
    })
  }

  it('refuses a malformed key at start with BAD_CONFIG', async function () {
    await rejectsWithCode(createMeshNode({ mdns: false, psk: new TextEncoder().encode('secret') }), 'BAD_CONFIG')
    await rejectsWithCode(createMeshNode({ mdns: false, psk: '/nonexistent/mesh.key' }), 'BAD_CONFIG')
  })
})

describe('private mesh over mDNS (needs the private network namespace)', function () {
  const nodes: MeshNode[] = []

  before(function () {
    if (!inPrivateNetwork()) this.skip()
  })

  after(async function () {
    await Promise.all(nodes.map(n => n.stop()))
  })

  it('members find each other; nodes with another key or none see nothing', async function () {
    const key = generatePsk()
    const provider = await createMeshNode({ name: 'mdns-private', serve: 'add', psk: key })
    nodes.push(provider)
    const member = await createMeshNode({ name: 'mdns-member', psk: key })
    const otherMesh = await createMeshNode({ name: 'mdns-other', psk: generatePsk() })
    const open = await createMeshNode({ name: 'mdns-open', serve: 'add' })
    nodes.push(member, otherMesh, open)
    await member.waitForPeers(1, 15_000)
    assert.equal(await member.call('add', 2, 3), 5)
    // Give mDNS a few more query rounds (1 s each) to find anyone it could.
    await new Promise(resolve => setTimeout(resolve, 3000))
    assert.deepEqual(member.peers().map(p => p.peerId), [provider.peerId])
    assert.deepEqual(provider.peers().map(p => p.peerId), [member.peerId])
    assert.deepEqual(otherMesh.peers(), [])
    assert.ok(!open.peers().some(p => p.peerId === provider.peerId || p.peerId === member.peerId))
    await rejectsWithCode(otherMesh.callWith('add', [1, 2], { timeout: 500 }), 'NO_PROVIDER')
    // The open node only ever sees itself as a provider of add.
    assert.deepEqual(open.providers('add'), [open.peerId])
  })
})

describe('allow-lists, rate limits and argument limits', function () {
  const nodes: MeshNode[] = []

  after(async function () {
    await Promise.all(nodes.map(n => n.stop()))
  })

  it('only listed peers may call; the listing survives a restart with the same --key', async function () {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-allow-'))
    const keyFile = join(dir, 'caller.key')
    const allowedId = peerIdFromPrivateKey(await loadOrCreateKey(keyFile)).toString()
    const provider = await createMeshNode({ name: 'guarded', serve: 'add', mdns: false, allow: [allowedId] })
    nodes.push(provider)

    const allowed = await createMeshNode({ name: 'allowed', mdns: false, keyFile, bootstrap: provider.addresses })
    assert.equal(allowed.peerId, allowedId)
    assert.equal(await allowed.call('add', 1, 2), 3)
    await allowed.stop()

    const stranger = await createMeshNode({ name: 'stranger', mdns: false, bootstrap: provider.addresses })
    nodes.push(stranger)
    const err = await rejectsWithCode(stranger.call('add', 1, 2), 'FORBIDDEN')
    assert.equal(err.retryable, false)
    assert.equal(err.name, 'ForbiddenError')

    const again = await createMeshNode({ name: 'allowed-again', mdns: false, keyFile, bootstrap: provider.addresses })
    nodes.push(again)
    assert.equal(again.peerId, allowedId)
    assert.equal(await again.call('add', 3, 4), 7)
    await rejectsWithCode(stranger.call('add', 1, 2), 'FORBIDDEN')
  })

  it('a peer over its rate is refused RATE_LIMITED while another peer is served', async function () {
    const provider = await createMeshNode({ name: 'rated', serve: 'add', mdns: false, limits: { rateLimitPerSecond: 1, rateLimitBurst: 2 } })
    const greedy = await createMeshNode({ name: 'greedy', mdns: false, bootstrap: provider.addresses })
    const polite = await createMeshNode({ name: 'polite', mdns: false, bootstrap: provider.addresses })
    nodes.push(provider, greedy, polite)
    await greedy.waitForPeers(1, 10_000)
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, async () => greedy.call('add', 1, 1)))
    const codes = outcomes.map(o => o.status === 'fulfilled' ? 'ok' : (o.reason as MeshError).code)
    assert.ok(codes.filter(c => c === 'ok').length >= 2, codes.join())
    assert.ok(codes.includes('RATE_LIMITED'), codes.join())
    assert.deepEqual([...new Set(codes)].sort(), ['RATE_LIMITED', 'ok'])
    const refused = outcomes.find(o => o.status === 'rejected') as PromiseRejectedResult
    assert.equal(refused.reason.retryable, true)
    assert.equal(await polite.call('add', 5, 5), 10)
  })

  it('refuses over-limit arguments with LIMIT_EXCEEDED and keeps the stream', async function () {
    const provider = await createMeshNode({ name: 'strict', serve: 'add', mdns: false, limits: { maxBigIntBits: 1024, maxArgBytes: 10_000 } })
    const caller = await createMeshNode({ name: 'caller', mdns: false, bootstrap: provider.addresses })
    nodes.push(provider, caller)
    await caller.waitForPeers(1, 10_000)
    assert.equal(await caller.call('add', 2n ** 1000n, 1), 2n ** 1000n + 1n)
    await rejectsWithCode(caller.call('add', 2n ** 2000n, 1), 'LIMIT_EXCEEDED')
    await rejectsWithCode(caller.call('add', 'x'.repeat(20_000), 1), 'LIMIT_EXCEEDED')
    let deep: unknown = 1
    for (let i = 0; i < 100; i++) deep = [deep]
    await rejectsWithCode(caller.call('add', deep, 1), 'LIMIT_EXCEEDED')
    // The same channel still carries calls.
    const results = await Promise.all([caller.call('add', 1, 2), caller.call('add', 2n ** 100n, 1n)])
    assert.deepEqual(results, [3, 2n ** 100n + 1n])
  })
})

describe('signed registry records: forgeries and replays are ignored (over a real connection)', function () {
  let victim: MeshNode
  let bystander: MeshNode
  let bystanderKey: PrivateKey
  let attackerKey: PrivateKey
  let attacker: Libp2p

  before(async function () {
    bystanderKey = await generateKeyPair('Ed25519')
    attackerKey = await generateKeyPair('Ed25519')
    victim = await createMeshNode({ name: 'victim', serve: 'add', mdns: false })
    bystander = await createMeshNode({ name: 'bystander', serve: 'add', mdns: false, privateKey: bystanderKey, bootstrap: victim.addresses })
    await victim.waitForPeers(1, 10_000)
    attacker = await rawPeer(attackerKey)
  })

  after(async function () {
    await Promise.all([victim.stop(), bystander.stop(), attacker.stop()])
  })

  function record (peerId: string, seq: number, task: string, expires = Date.now() + 60_000): NodeRecord {
    return { peerId, name: task, seq, expires, addrs: [], tasks: [{ name: task, args: '' }], objects: [], load: { running: 0, queued: 0, workers: 1 } }
  }

  async function frame (r: NodeRecord, key: PrivateKey): Promise<Uint8Array> {
    return encodeFrame(encode(await signRecord(r, key)))
  }

  it('accepts only records its sender signed for itself, with a growing seq, unexpired', async function () {
    const attackerId = peerIdFromPrivateKey(attackerKey).toString()
    const seen: Array<[string, string | undefined]> = []
    victim.registry.on('change', (peer, r) => { seen.push([peer, r?.tasks[0]?.name]) })
    const arrival = async (task: string): Promise<void> => new Promise((resolve) => {
      const check = (peer: string, r: NodeRecord | undefined): void => {
        if (peer === attackerId && r?.tasks[0]?.name === task) { victim.registry.off('change', check); resolve() }
      }
      victim.registry.on('change', check)
    })

    const stream: Stream = await attacker.dialProtocol(multiaddr(victim.addresses[0]), REGISTRY_PROTOCOL)
    const seq = Date.now() * 1000
    const first = await frame(record(attackerId, seq, 'legit-1'), attackerKey)
    const arrived1 = arrival('legit-1')
    stream.send(first)
    await arrived1

    const otherKey = await generateKeyPair('Ed25519')
    const forgeries = [
      // names the bystander, signed by the attacker: the signature does not match the named peer
      await frame(record(bystander.peerId, seq + 10, 'forged-name'), attackerKey),
      // names the attacker, signed by some other key
      await frame(record(attackerId, seq + 11, 'forged-key'), otherKey),
      // (the bystander's genuinely signed record relayed by the attacker is taken: records are relayed
      // with their signatures intact, src/registry/relay.ts; it is checked below)
      // the attacker's own record with an older seq, and the first record again: replays
      await frame(record(attackerId, seq - 1, 'replayed-older'), attackerKey),
      first,
      // a correctly signed record that has already expired
      await frame(record(attackerId, seq + 13, 'expired', Date.now() - 1), attackerKey)
    ]
    for (const f of forgeries) stream.send(f)
    // Records on one stream are verified in order: once this one lands, every forgery was judged.
    const arrived2 = arrival('legit-2')
    stream.send(await frame(record(attackerId, seq + 20, 'legit-2'), attackerKey))
    await arrived2

    assert.deepEqual(seen.filter(([peer]) => peer === attackerId).map(([, task]) => task), ['legit-1', 'legit-2'])
    assert.deepEqual(victim.registry.get(bystander.peerId)?.tasks.map(t => t.name), ['add'])
    for (const task of ['forged-name', 'forged-key', 'replayed-older', 'expired']) assert.deepEqual(victim.providers(task), [], task)
    assert.deepEqual(victim.providers('legit-2'), [attackerId])
    stream.abort(new Error('done'))
  })
})

describe('frames that would hurt the decoder (regressions found by review of msgpackr)', function () {
  let node: MeshNode
  let attacker: Libp2p

  before(async function () {
    node = await createMeshNode({ name: 'decoder-target', serve: 'add', mdns: false })
    attacker = await rawPeer()
  })

  after(async function () {
    await Promise.all([node.stop(), attacker.stop()])
  })

  async function resetBy (payload: Uint8Array): Promise<void> {
    const stream = await attacker.dialProtocol(multiaddr(node.addresses[0]), RPC_PROTOCOL)
    const closed = new Promise<void>((resolve) => { stream.addEventListener('close', () => { resolve() }) })
    stream.send(encodeFrame(payload))
    await closed
  }

  it('refuses a call whose arguments would decode to millions of objects, before decoding (4 MB of wire was 255 MB of heap)', async function () {
    const n = 1_100_000
    // [1, 9, 'add', [<array32 of n empty maps>, 1], nil]
    const head = new Uint8Array([0x95, 0x01, 0x09, 0xa3, 0x61, 0x64, 0x64, 0x92, 0xdd, 0, 0, 0, 0])
    new DataView(head.buffer).setUint32(9, n)
    const payload = new Uint8Array(head.length + n + 2).fill(0x80, head.length)
    payload.set(head)
    payload.set([0x01, 0xc0], head.length + n)
    const stream = await attacker.dialProtocol(multiaddr(node.addresses[0]), RPC_PROTOCOL)
    const decoder = new FrameDecoder(1 << 20)
    const reply = new Promise<unknown>((resolve) => {
      stream.addEventListener('message', (evt) => { for (const f of decoder.push(evt.data)) resolve(decode(f)) })
    })
    stream.send(encodeFrame(payload))
    const answer = await reply as [number, number, { code: string }]
    assert.equal(answer[0], 3)
    assert.equal(answer[1], 9)
    assert.equal(answer[2].code, 'LIMIT_EXCEEDED')
    assert.equal(stream.status, 'open')
    stream.abort(new Error('done'))
  })

  it('refuses msgpackr record definitions (compiled with new Function) and deep nesting, and keeps serving', async function () {
    await resetBy(new Uint8Array([0x95, 0x01, 0x01, 0xa3, 0x61, 0x64, 0x64, 0x91, 0xd4, 0x72, 0x0a, 0x91, 0xa1, 0x78, 0x05, 0xc0]))
    await resetBy(new Uint8Array(200_000).fill(0x91))
    const caller = await createMeshNode({ name: 'decoder-caller', mdns: false, bootstrap: node.addresses })
    try {
      assert.equal(await caller.call('add', 1, 2), 3)
    } finally {
      await caller.stop()
    }
  })
})

describe('raw bytes to the TCP port from a plain socket (not libp2p)', function () {
  let node: MeshNode
  let caller: MeshNode

  before(async function () {
    node = await createMeshNode({ name: 'target', serve: 'add', mdns: false })
    caller = await createMeshNode({ name: 'caller', mdns: false, bootstrap: node.addresses })
    await caller.waitForPeers(1, 10_000)
  })

  after(async function () {
    await Promise.all([node.stop(), caller.stop()])
  })

  async function send (chunks: Uint8Array[], endAfter = true): Promise<void> {
    const socket = connect(tcpPort(node), '127.0.0.1')
    socket.on('error', () => {})
    await new Promise<void>((resolve) => { socket.once('connect', () => { resolve() }) })
    for (const chunk of chunks) socket.write(chunk)
    await new Promise(resolve => setTimeout(resolve, 50))
    if (endAfter) socket.end()
    socket.destroy()
  }

  it('survives garbage, half handshakes and floods, and still serves', async function () {
    let seed = 7
    const random = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed & 0xff })
    const text = (s: string): Uint8Array => new TextEncoder().encode(s)
    const multistream = text('\x13/multistream/1.0.0\n')
    await send([random(16)])
    await send([random(64 * 1024)])
    await send([multistream])
    await send([multistream, text('\x07/noise\n'), random(4096)])
    await send([multistream, text('\x07/noise\n'), new Uint8Array([0xff, 0xff]), random(1000)])
    await send([new Uint8Array(4 * 1024 * 1024)])
    await send([text('GET / HTTP/1.1\r\nHost: x\r\n\r\n')])
    await send([], false)
    await Promise.all(Array.from({ length: 20 }, async () => send([random(200)])))
    assert.equal(await caller.call('add', 40, 2), 42)
    const fresh = await createMeshNode({ name: 'fresh', mdns: false, bootstrap: node.addresses })
    try {
      assert.equal(await fresh.call('add', 1, 2), 3)
    } finally {
      await fresh.stop()
    }
  })
})
