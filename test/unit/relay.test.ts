import assert from 'node:assert/strict'
import { MAX_RECORDS, RECORD_REFRESH_MS, RECORD_TTL_MS, RELAY_PULL_TIMEOUT_MS } from '../../src/constants.js'
import { PullTable, readHave, readWant } from '../../src/registry/pull.js'
import type { NodeRecord } from '../../src/registry/record.js'
import { RelayTable, relayedTtl } from '../../src/registry/relay.js'

const record = (peerId: string, seq: number, refresh?: number): NodeRecord =>
  ({ peerId, name: peerId, seq, expires: Date.now() + RECORD_TTL_MS, refresh, addrs: [], tasks: [], objects: [], load: { running: 0, queued: 0, workers: 0 } })

describe('relay table (src/registry/relay.ts)', function () {
  it('keeps a relayed copy for three of its origin\'s refresh intervals, bounded', function () {
    assert.equal(relayedTtl(record('o', 1)), 3 * RECORD_REFRESH_MS)
    assert.equal(relayedTtl(record('o', 1, 10_000)), 30_000)
    // A record cannot claim to live longer than three of the longest interval, nor shorter than three of the shortest.
    assert.equal(relayedTtl(record('o', 1, 3_600_000)), 60_000)
    assert.equal(relayedTtl(record('o', 1, 1)), 3 * RECORD_REFRESH_MS)

    const t = new RelayTable()
    t.hold('n', record('slow', 1, 10_000), new Uint8Array(1))
    t.hold('n', record('fast', 1), new Uint8Array(1))
    t.hold('direct', record('direct', 1), new Uint8Array(1))
    const now = Date.now()
    assert.deepEqual(t.stale(now + 20_000).sort(), ['fast'])
    assert.deepEqual(t.stale(now + 31_000).sort(), ['fast', 'slow'])
    // A direct record goes when its connection closes, or at its expiry.
    assert.deepEqual(t.stale(now + RECORD_TTL_MS + 1).sort(), ['direct', 'fast', 'slow'])
  })

  it('gives a copy whose neighbour disconnected two of its origin\'s intervals for a newer version to come another way', function () {
    const t = new RelayTable()
    t.hold('n', record('dead', 1), new Uint8Array(1))
    t.hold('n', record('alive', 1), new Uint8Array(1))
    t.hold('m', record('other', 1), new Uint8Array(1))
    const now = Date.now()
    t.orphan('n', now)
    // alive's next refresh comes through m: no longer orphaned.
    t.hold('m', record('alive', 2), new Uint8Array(1))
    assert.deepEqual(t.stale(now + 2 * RECORD_REFRESH_MS - 100), [])
    assert.deepEqual(t.stale(now + 2 * RECORD_REFRESH_MS + 100), ['dead'])
  })

  it('says what to pass on: a new or changed record now, a refresh soon, a repeat within the load interval not at all', function () {
    const t = new RelayTable()
    assert.equal(t.hold('n', record('o', 1), new Uint8Array(1)), 'now')
    assert.equal(t.hold('n', record('o', 2), new Uint8Array(1)), undefined)
    assert.equal(t.hold('n', { ...record('o', 3), tasks: [{ name: 'add', args: '' }] }, new Uint8Array(1)), 'now')
    assert.equal(t.held.get('o')?.via, 'n')
    // The version held came from whoever delivered it last.
    t.hold('m', { ...record('o', 4), tasks: [{ name: 'mul', args: '' }] }, new Uint8Array(1))
    assert.equal(t.held.get('o')?.via, 'm')
    // Past the load interval, an unchanged refresh is passed on soon (in the slower batch).
    const h = t.held.get('o')
    assert.ok(h !== undefined)
    h.forwardedAt -= 2_000
    assert.equal(t.hold('m', { ...record('o', 5), tasks: [{ name: 'mul', args: '' }] }, new Uint8Array(1)), 'soon')
    assert.equal(t.refuse('x', 'o', 4, 10), 'duplicate')
    assert.equal(t.refuse('x', 'o', 6, 0), undefined)
  })

  it('asks one announcer at a time, the next when it goes or stays silent, and holds at most MAX_RECORDS pulls', function () {
    const p = new PullTable()
    const t0 = 1_000_000
    const yes = (): boolean => true
    assert.deepEqual(p.wanted('b', [['o', 5]], yes, t0), ['o'])
    // c announces it too while b's answer may still come: c is remembered, not asked.
    assert.deepEqual(p.wanted('c', [['o', 5]], yes, t0 + 10), [])
    assert.equal(p.retry(() => false, t0 + 100).size, 0)
    // b stays silent past the timeout: c is asked.
    assert.deepEqual([...p.retry(() => false, t0 + RELAY_PULL_TIMEOUT_MS + 1)], [['c', ['o']]])
    p.settled('o', 5)
    assert.equal(p.size, 0)
    // A newer seq is asked again at once.
    assert.deepEqual(p.wanted('b', [['o', 5]], yes, t0), ['o'])
    assert.deepEqual(p.wanted('c', [['o', 6]], yes, t0 + 1), ['o'])
    // c, asked for seq 6, goes and no one else announced it: given up (the next announcement asks again).
    p.settled('o', 5)
    assert.equal(p.size, 1)
    assert.equal(p.retry(n => n === 'c', t0 + 2).size, 0)
    assert.equal(p.size, 0)

    const flood = Array.from({ length: MAX_RECORDS + 100 }, (_, i): [string, number] => [`fake${i}`, 1])
    assert.equal(p.wanted('liar', flood, yes, t0).length, MAX_RECORDS)
    assert.equal(p.size, MAX_RECORDS)
  })

  it('reads have and want frames, skipping malformed entries', function () {
    assert.deepEqual(readHave({ have: [['a', 1], ['b'], 'x', [2, 3], ['c', 2]] }), [['a', 1], ['c', 2]])
    assert.equal(readHave({ want: [] }), undefined)
    assert.deepEqual(readWant({ want: ['a', 5, null, 'b'] }), ['a', 'b'])
    assert.equal(readWant(null), undefined)
  })
})
