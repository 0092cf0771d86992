import assert from 'node:assert/strict'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { callback, createMeshNode, handle, type Handle, release, releaseProxy, type MeshNode } from '../../src/index.js'
import { rejectsWithCode } from '../helpers.js'

/** Wait for a condition that an event elsewhere makes true (no time threshold: the test's own timeout bounds it). */
async function until (condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise(resolve => setTimeout(resolve, 10))
}

class Greeter {
  greeted = 0
  secretField = 'not a method'
  welcomeMessage (name: string): string {
    this.greeted++
    return `Hi welcome ${name}`
  }

  _secret (): string { return 'private by convention' }
  get computed (): string { throw new Error('a getter must never be called to find methods') }
  toString (): string { return 'Greeter' }
  async work (steps: number, progress: (step: number) => unknown): Promise<string> {
    for (let i = 1; i <= steps; i++) await progress(i)
    return `did ${steps} steps`
  }
}

class Counter {
  n = 0
  inc (): number { return ++this.n }
  open (): Handle<Counter> { return handle(new Counter()) }
}

describe('remote objects over real nodes (direct dials, runs anywhere)', function () {
  let provider: MeshNode
  let caller: MeshNode
  const nodes: MeshNode[] = []
  const greeter = new Greeter()

  before(async function () {
    provider = await createMeshNode({ name: 'obj-provider', mdns: false })
    provider.expose('greeter', greeter, { metadata: ['greeting', 'demo'] })
    caller = await createMeshNode({ name: 'obj-caller', mdns: false, bootstrap: provider.addresses })
    nodes.push(provider, caller)
    await caller.waitForPeers(1, 10_000)
  })

  after(async function () {
    await Promise.all(nodes.map(n => n.stop()))
  })

  it('looks up an object by name and calls it through a typed proxy', async function () {
    const g = await caller.lookup<Greeter>('greeter', { timeout: 10_000 })
    const message: string = await g.welcomeMessage('John')
    assert.equal(message, 'Hi welcome John')
    // @ts-expect-error: the proxy's methods take the object's argument types
    await rejectsWithCode(g.welcomeMessage(), 'BAD_ARGUMENT')
    // @ts-expect-error: _-prefixed members are not part of Remote<T>
    assert.equal(typeof g._secret, 'function') // the proxy itself cannot know; the provider refuses (next test)
  })

  it('advertises objects with metadata in the registry; finds them by tag', async function () {
    const record = caller.records().find(r => r.peerId === provider.peerId)
    assert.deepEqual(record?.objects, [{ name: 'greeter', metadata: ['greeting', 'demo'] }])
    assert.deepEqual(caller.findObjects('greeting').map(o => [o.name, o.peerId]), [['greeter', provider.peerId]])
    assert.deepEqual(caller.findObjects(['greeting', 'nope']), [])

    const other = await createMeshNode({ name: 'obj-other', mdns: false, bootstrap: provider.addresses })
    nodes.push(other)
    other.expose('hello', { welcomeMessage: (name: string) => `Hello ${name}` }, { metadata: ['greeting'] })
    await caller.libp2p.dial((await import('@multiformats/multiaddr')).multiaddr(other.addresses[0]))
    await until(() => caller.findObjects('greeting').length === 2)
    const all = await caller.lookupByMetadata<Greeter>('greeting', { timeout: 10_000 })
    assert.deepEqual((await Promise.all(all.map(g => g.welcomeMessage('Ada')))).sort(), ['Hello Ada', 'Hi welcome Ada'])
    assert.deepEqual((await caller.lookupByMetadata<Greeter>(['greeting', 'demo'])).length, 1)
    await other.stop()
  })

  it('refuses everything that is not an exposed method with a coded error, and keeps serving', async function () {
    const call = async (name: string, ...args: unknown[]): Promise<unknown> => caller.callWith(name, args, { timeout: 10_000 })
    for (const method of ['_secret', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__',
      'computed', 'secretField', 'greeted', 'nope', 'then', 'prototype']) {
      await rejectsWithCode(call(`greeter.${method}`), 'UNKNOWN_METHOD')
    }
    await rejectsWithCode(caller.callWith('nobody.hello', [], { timeout: 10_000, unknownAfter: 100 }), 'UNKNOWN_OBJECT')
    // Straight to the provider, bypassing the registry.
    await rejectsWithCode((caller as any).rpc.call(provider.libp2p.peerId, 'nobody.hello', []), 'UNKNOWN_OBJECT')
    await rejectsWithCode((caller as any).rpc.call(provider.libp2p.peerId, '@mesh/obj/whatever', []), 'UNKNOWN_METHOD')
    await rejectsWithCode(call('greeter.welcomeMessage'), 'BAD_ARGUMENT')
    assert.equal(await call('greeter.welcomeMessage', 'still'), 'Hi welcome still')
  })

  it('an explicit methods list overrides the default rules', async function () {
    provider.expose('listed', new Greeter(), { methods: ['_secret'] })
    const listed = await caller.lookup<any>('listed', { timeout: 10_000 })
    assert.equal(await listed._secret(), 'private by convention')
    await rejectsWithCode(listed.welcomeMessage('x'), 'UNKNOWN_METHOD')
    assert.throws(() => { provider.expose('bad', new Greeter(), { methods: ['constructor'] }) }, /never be exposed/)
    assert.throws(() => { provider.expose('listed', new Greeter()) }, /already exposed/)
    assert.throws(() => { provider.expose('a.b', new Greeter()) }, /letters, digits/)
    assert.ok(provider.unexpose('listed'))
    await rejectsWithCode(listed._secret(), 'UNKNOWN_OBJECT')
    await until(() => caller.findObjects().every(o => o.name !== 'listed'))
  })

  it('instance modes: one shared, one per calling peer (dropped on disconnect), one per call', async function () {
    provider.expose('shared', new Counter())
    provider.expose('session', Counter, { instanceMode: 'session' })
    provider.expose('percall', () => new Counter(), { instanceMode: 'percall' })
    const key = (await import('@libp2p/crypto/keys')).generateKeyPair
    const privateKey = await key('Ed25519')
    const second = await createMeshNode({ name: 'obj-second', mdns: false, bootstrap: provider.addresses, privateKey })
    nodes.push(second)
    const [s1, s2] = await Promise.all([caller.lookup<Counter>('shared', { timeout: 10_000 }), second.lookup<Counter>('shared', { timeout: 10_000 })])
    assert.deepEqual([await s1.inc(), await s2.inc(), await s1.inc()], [1, 2, 3])
    const [p1, p2] = await Promise.all([caller.lookup<Counter>('session'), second.lookup<Counter>('session')])
    assert.deepEqual([await p1.inc(), await p1.inc(), await p2.inc(), await p1.inc(), await p2.inc()], [1, 2, 1, 3, 2])
    assert.equal(provider.objectStats().sessions, 2)
    const c = await caller.lookup<Counter>('percall')
    assert.deepEqual([await c.inc(), await c.inc()], [1, 1])

    // The second peer leaves: its session goes. Back with the same identity, it starts afresh.
    await second.stop()
    await until(() => provider.objectStats().sessions === 1)
    const again = await createMeshNode({ name: 'obj-second-again', mdns: false, bootstrap: provider.addresses, privateKey })
    nodes.push(again)
    assert.equal(again.peerId, second.peerId)
    const p3 = await again.lookup<Counter>('session', { timeout: 10_000 })
    assert.equal(await p3.inc(), 1)
    assert.equal(await p1.inc(), 4)
    await again.stop()
  })

  it('one-way methods: the caller does not wait; errors stay on the provider', async function () {
    let finish!: () => void
    const started: string[] = []
    const finished: string[] = []
    provider.expose('sink', {
      async slow (tag: string) { started.push(tag); await new Promise<void>(resolve => { finish = resolve }); finished.push(tag) },
      fail () { throw new Error('boom in a one-way method') }
    }, { oneway: ['slow', 'fail'] })
    const sink = await caller.lookup<{ slow: (tag: string) => Promise<void>, fail: () => void }>('sink', { timeout: 10_000 })
    assert.equal(await sink.slow('x'), undefined)
    await until(() => started.length === 1)
    assert.deepEqual(finished, [], 'the call returned while the method was still running')
    finish()
    await until(() => finished.length === 1)
    const errors: string[] = []
    provider.on('object:error', (object, method, _from, err) => { errors.push(`${object}.${method}: ${err.message}`) })
    assert.equal(await sink.fail(), undefined)
    await until(() => errors.length === 1)
    assert.deepEqual(errors, ['sink.fail: boom in a one-way method'])
  })

  it('callbacks: a function or a marked object passed as an argument calls back to the caller', async function () {
    const g = await caller.lookup<Greeter>('greeter')
    const steps: number[] = []
    assert.equal(await g.work(3, (step) => { steps.push(step); return step * 2 }), 'did 3 steps')
    assert.deepEqual(steps, [1, 2, 3])

    const kept: any[] = []
    provider.expose('events', {
      subscribe (listener: { onEvent: (e: string) => Promise<string> }) { kept.push(listener); return kept.length },
      async emit (e: string) { return Promise.all(kept.map(l => l.onEvent(e))) }
    })
    const events = await caller.lookup<any>('events', { timeout: 10_000 })
    const got: string[] = []
    await events.subscribe(callback({ onEvent: (e: string) => { got.push(e); return `ack ${e}` }, _hidden: () => 'no' }))
    assert.deepEqual(await events.emit('one'), ['ack one'])
    assert.deepEqual(got, ['one'])
    await rejectsWithCode(kept[0]._hidden(), 'UNKNOWN_METHOD')

    // A caller that subscribed and left: its callback fails with PEER_GONE, the others keep working.
    const leaving = await createMeshNode({ name: 'obj-leaving', mdns: false, bootstrap: provider.addresses })
    nodes.push(leaving)
    const ev2 = await leaving.lookup<any>('events', { timeout: 10_000 })
    await ev2.subscribe(callback({ onEvent: (e: string) => `leaving saw ${e}` }))
    assert.deepEqual(await events.emit('two'), ['ack two', 'leaving saw two'])
    await leaving.stop()
    await until(() => provider.peers().every(p => p.peerId !== leaving.peerId))
    await rejectsWithCode(kept[1].onEvent('three'), 'PEER_GONE')
    await rejectsWithCode(events.emit('three'), 'PEER_GONE')
    assert.equal(await kept[0].onEvent('four'), 'ack four')
  })

  it('handles: returned objects come back as proxies, released explicitly', async function () {
    provider.expose('factory', new Counter())
    const f = await caller.lookup<Counter>('factory', { timeout: 10_000 })
    const before = provider.objectStats().exported
    const h = await f.open()
    const h2 = await h.open()
    assert.deepEqual([await h.inc(), await h.inc(), await h2.inc()], [1, 2, 1])
    assert.equal(provider.objectStats().exported, before + 2)
    await h[release]()
    await releaseProxy(h2)
    assert.equal(provider.objectStats().exported, before)
    await rejectsWithCode(h.inc(), 'HANDLE_RELEASED')
    // The provider refuses a released handle too, not just the local proxy.
    await rejectsWithCode((caller as any).rpc.call(provider.libp2p.peerId, '@mesh/obj/ref', [1, 'inc']), 'HANDLE_RELEASED')
  })

  it('handles: released when the caller\'s proxy is garbage-collected', async function () {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const f = await caller.lookup<Counter>('factory', { timeout: 10_000 })
    const before = provider.objectStats().exported
    await (async () => { const h = await f.open(); assert.equal(await h.inc(), 1) })()
    assert.equal(provider.objectStats().exported, before + 1)
    while (provider.objectStats().exported !== before) {
      gc()
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  })

  it('a handle whose provider is gone fails with PEER_GONE; the caller keeps working', async function () {
    const gone = await createMeshNode({ name: 'obj-gone', mdns: false, bootstrap: provider.addresses })
    gone.expose('factory2', new Counter())
    await caller.libp2p.dial((await import('@multiformats/multiaddr')).multiaddr(gone.addresses[0]))
    const f = await caller.lookup<Counter>('factory2', { timeout: 10_000 })
    const h = await f.open()
    assert.equal(await h.inc(), 1)
    await gone.stop()
    await rejectsWithCode(h.inc(), 'PEER_GONE')
    const g = await caller.lookup<Greeter>('greeter')
    assert.equal(await g.welcomeMessage('after'), 'Hi welcome after')
  })

  it('looks up an object exposed on the same node', async function () {
    const g = await provider.lookup<Greeter>('greeter')
    assert.equal(await g.welcomeMessage('me'), 'Hi welcome me')
    const f = await provider.lookup<Counter>('factory')
    const h = await f.open()
    assert.equal(await h.inc(), 1)
    // @ts-expect-error: missing argument
    await rejectsWithCode(g.welcomeMessage(), 'BAD_ARGUMENT')
  })
})
