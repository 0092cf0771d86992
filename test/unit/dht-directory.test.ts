import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { TypedEventEmitter, type ContentRouting, type Libp2pEvents, type Provider } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import '../../src/polyfill.js'
import { DhtDirectory } from '../../src/registry/dht.js'

/**
 * A DHT query that never answers until its signal aborts, as a query to a
 * slow or partitioned network does: what the directory's sharing is about is
 * whose signal ends it. (The real DHT is exercised in test/integration/dht.test.ts.)
 */
async function directory (): Promise<{ dir: DhtDirectory, queries: AbortSignal[] }> {
  const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const queries: AbortSignal[] = []
  const contentRouting: Partial<ContentRouting> = {
    findProviders: async function * (_key, options) {
      const signal = options?.signal as AbortSignal
      queries.push(signal)
      await new Promise(resolve => { signal.addEventListener('abort', resolve, { once: true }) })
      const none: Provider[] = []
      yield * none
    }
  }
  const dir = new DhtDirectory({
    peerId,
    contentRouting: contentRouting as ContentRouting,
    connectionManager: { getConnections: () => [] } as unknown as ConnectionManager,
    peerStore: {} as any,
    events: new TypedEventEmitter<Libp2pEvents>(),
    logger: defaultLogger()
  })
  return { dir, queries }
}

describe('DHT directory: one lookup per task, shared by its callers', function () {
  it('a caller that gives up leaves the lookup running for the callers still waiting; the last one stops it', async function () {
    const { dir, queries } = await directory()
    const short = new AbortController()
    const long = new AbortController()
    const first = dir.find('factorial', short.signal)
    const second = dir.find('factorial', long.signal)
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(queries.length, 1, 'the second caller joins the first lookup')
    short.abort()
    await first // resolves at its own abort, without waiting for the query
    assert.equal(queries[0].aborted, false, 'the short call giving up does not cancel the long call\'s lookup')
    long.abort()
    await second
    assert.equal(queries[0].aborted, true, 'the last caller giving up stops the lookup and its dials')
  })

  it('a lookup for another task, or after the last one ended, is a query of its own', async function () {
    const { dir, queries } = await directory()
    const a = new AbortController()
    const b = new AbortController()
    const one = dir.find('add', a.signal)
    const other = dir.find('matmul', b.signal)
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(queries.length, 2)
    a.abort(); b.abort()
    await Promise.all([one, other])
    await new Promise(resolve => setImmediate(resolve))
    const c = new AbortController()
    const again = dir.find('add', c.signal)
    await new Promise(resolve => setImmediate(resolve))
    assert.equal(queries.length, 3, 'the ended lookup is not reused')
    c.abort()
    await again
    await dir.find('add', AbortSignal.abort()) // an already aborted signal starts nothing
    assert.equal(queries.length, 3)
  })
})
