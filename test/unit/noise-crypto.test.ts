import assert from 'node:assert/strict'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { createTransport } from '../../src/node/libp2p.js'
import { fastNoiseCrypto } from '../../src/node/noise-crypto.js'

describe('Noise crypto on kept KeyObjects (src/node/noise-crypto.ts)', function () {
  it('agrees with noise\'s default crypto on every shared key, both ways', function () {
    const fast = fastNoiseCrypto()
    for (let i = 0; i < 20; i++) {
      const mine = fast.generateX25519KeyPair()
      const theirs = defaultCrypto.generateX25519KeyPair()
      assert.equal(mine.publicKey.byteLength, 32)
      assert.equal(mine.privateKey.byteLength, 32)
      const a = fast.generateX25519SharedKey(mine.privateKey, theirs.publicKey)
      const b = defaultCrypto.generateX25519SharedKey(theirs.privateKey, mine.publicKey)
      const c = defaultCrypto.generateX25519SharedKey(mine.privateKey, theirs.publicKey)
      assert.deepEqual(Buffer.from(a), Buffer.from(b))
      assert.deepEqual(Buffer.from(a), Buffer.from(c))
    }
  })

  it('takes the default path for a key it did not make (a seed), with the same result', function () {
    const fast = fastNoiseCrypto()
    const seeded = fast.generateX25519KeyPairFromSeed(new Uint8Array(32).fill(7))
    const peer = defaultCrypto.generateX25519KeyPair()
    assert.deepEqual(
      Buffer.from(fast.generateX25519SharedKey(seeded.privateKey, peer.publicKey)),
      Buffer.from(defaultCrypto.generateX25519SharedKey(peer.privateKey, seeded.publicKey)))
  })

  it('still works for keys evicted from its cache', function () {
    const fast = fastNoiseCrypto()
    const first = fast.generateX25519KeyPair()
    for (let i = 0; i < 200; i++) fast.generateX25519KeyPair()
    const peer = defaultCrypto.generateX25519KeyPair()
    assert.deepEqual(
      Buffer.from(fast.generateX25519SharedKey(first.privateKey, peer.publicKey)),
      Buffer.from(defaultCrypto.generateX25519SharedKey(peer.privateKey, first.publicKey)))
  })

  it('refuses a peer public key of the wrong length, as the default does', function () {
    const fast = fastNoiseCrypto()
    const mine = fast.generateX25519KeyPair()
    assert.throws(() => fast.generateX25519SharedKey(mine.privateKey, new Uint8Array(31)))
    assert.throws(() => defaultCrypto.generateX25519SharedKey(mine.privateKey, new Uint8Array(31)))
  })

  it('handshakes over TCP with libp2p nodes on noise\'s default crypto, as responder and as initiator', async function () {
    const ours = await createTransport({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
    const stock = async (): Promise<Awaited<ReturnType<typeof createLibp2p>>> =>
      createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    const [a, b] = await Promise.all([stock(), stock()])
    await ours.start()
    try {
      const inbound = await a.dial(ours.getMultiaddrs()[0])
      assert.ok(inbound.remotePeer.equals(ours.peerId))
      const outbound = await ours.dial(b.getMultiaddrs()[0])
      assert.ok(outbound.remotePeer.equals(b.peerId))
      assert.equal(outbound.encryption, '/noise')
    } finally {
      await Promise.all([ours.stop(), a.stop(), b.stop()])
    }
  })
})
