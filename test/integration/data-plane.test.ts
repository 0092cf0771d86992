import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { yamux as upstreamYamux } from 'yamux-upstream'
import { createTransport } from '../../src/node/libp2p.js'
import { RpcChannel } from '../../src/rpc/channel.js'
import { generatePsk } from '../../src/security/psk.js'

/**
 * The data plane end to end over real TCP + Noise + Yamux on loopback: big
 * payloads and many small calls on one connection, and interop between a
 * node with the patched yamux (patches/) and one with an unpatched copy of
 * the same version (`yamux-upstream`, an npm alias patch-package leaves
 * alone), which sends a window update after every data frame.
 */

const PROTOCOL = '/mesh-test/data-plane/1.0.0'
const MIB = 1024 * 1024

async function patchedNode (psk?: Uint8Array): Promise<Libp2p> {
  return createTransport({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, psk })
}

/** A libp2p node as an unpatched peer runs it: stock Noise and the unpatched yamux. */
async function upstreamNode (): Promise<Libp2p> {
  return createLibp2p({
    start: false,
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [upstreamYamux() as any]
  })
}

/** `server` answers RPC calls (echo, add, sum); `client` opens one channel to it. */
async function channelBetween (client: Libp2p, server: Libp2p, maxFrameBytes: number): Promise<RpcChannel> {
  await server.handle(PROTOCOL, (stream) => {
    new RpcChannel(stream, {
      maxFrameBytes,
      lease: false,
      handler: ({ task, args }) => {
        if (task === 'echo') return args[0]
        if (task === 'add') return (args[0] as number) + (args[1] as number)
        if (task === 'digest') return digest(args[0] as Uint8Array)
        throw new Error(`no task ${task}`)
      }
    })
  })
  await server.start()
  await client.start()
  const stream = await client.dialProtocol(server.getMultiaddrs()[0], PROTOCOL)
  return new RpcChannel(stream, { maxFrameBytes, lease: false })
}

function digest (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

function pattern (bytes: number): Uint8Array {
  const out = new Uint8Array(bytes)
  for (let i = 0; i < bytes; i++) out[i] = (i * 2654435761) >>> 24
  return out
}

/** Small calls with a big payload in flight on the same connection; every answer checked. */
async function interleaved (channel: RpcChannel, calls: number, big: Uint8Array): Promise<void> {
  const bigCall = channel.call('echo', [big])
  const small: Array<Promise<void>> = []
  for (let i = 0; i < calls; i++) {
    small.push(channel.call('add', [i, 1]).then((r) => { assert.equal(r, i + 1) }))
  }
  await Promise.all(small)
  const back = await bigCall as Uint8Array
  assert.equal(back.byteLength, big.byteLength)
  assert.equal(digest(back), digest(big))
}

describe('the data plane over TCP + Noise + Yamux', function () {
  this.timeout(180_000)
  const nodes: Libp2p[] = []
  afterEach(async function () {
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
  })

  it('a 64 MiB payload and 10,000 interleaved small calls over one connection arrive intact', async function () {
    const a = await patchedNode()
    const b = await patchedNode()
    nodes.push(a, b)
    const channel = await channelBetween(a, b, 65 * MIB)
    await interleaved(channel, 10_000, pattern(64 * MIB))
    assert.equal(a.getConnections().length, 1)
  })

  it('with a pre-shared key (pnet), 32 MiB there and back intact', async function () {
    const psk = generatePsk()
    const a = await patchedNode(psk)
    const b = await patchedNode(psk)
    nodes.push(a, b)
    const channel = await channelBetween(a, b, 33 * MIB)
    await interleaved(channel, 1000, pattern(32 * MIB))
  })

  for (const [name, patchedCalls] of [['the patched node calls the unpatched one', true], ['the unpatched node calls the patched one', false]] as const) {
    it(`interop: ${name} (calls and a 32 MB payload each way)`, async function () {
      const patched = await patchedNode()
      const upstream = await upstreamNode()
      nodes.push(patched, upstream)
      const channel = patchedCalls ? await channelBetween(patched, upstream, 33 * MIB) : await channelBetween(upstream, patched, 33 * MIB)
      const big = pattern(32 * 1000 * 1000)
      // There (the answer is a digest), back (echo), and small calls around it.
      assert.equal(await channel.call('digest', [big]), digest(big))
      await interleaved(channel, 2000, big)
      for (let i = 0; i < 100; i++) assert.equal(await channel.call('add', [i, i]), 2 * i)
    })
  }
})
