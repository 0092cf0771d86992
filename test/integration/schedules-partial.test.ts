import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { createMeshNode, type MeshNode } from '../../src/index.js'
import { until } from '../helpers.js'

/**
 * Schedules in a partial mesh (issue 15): a node syncs schedules with its
 * neighbours only (syncing with every record's origin dialled every node of
 * the mesh), and passes a record new to it on to its neighbours, so two
 * meshes joined by one connection still learn each other's schedules.
 */
describe('schedules in a partial mesh: synced with neighbours, passed on', function () {
  this.timeout(60_000)
  const nodes: MeshNode[] = []
  after(async function () { for (const n of nodes) await n.stop() })

  it('a - b and c join by one connection b - c: a and c learn each other\'s schedule, and never connect', async function () {
    const a = await createMeshNode({ mdns: false, serve: 'add', dataDir: ':memory:' })
    nodes.push(a)
    const b = await createMeshNode({ mdns: false, serve: 'add', dataDir: ':memory:', bootstrap: a.addresses })
    nodes.push(b)
    await a.waitForPeers(1)
    const left = await a.addSchedule('left', 'add', [1, 2], { every: '1h' })
    await until('b holds a\'s schedule', () => b.listSchedules().length === 1)
    // c is a mesh of its own, with its own schedule, until it connects to b.
    const c = await createMeshNode({ mdns: false, serve: 'add', dataDir: ':memory:' })
    nodes.push(c)
    const right = await c.addSchedule('right', 'add', [3, 4], { every: '1h' })
    await c.libp2p.dial(multiaddr(b.addresses[0]))
    await until('a holds c\'s record (relayed by b)', () => a.records().some(r => r.peerId === c.peerId))
    await until('a holds c\'s schedule', () => a.listSchedules().some(r => r.name === 'right'))
    await until('c holds a\'s schedule', () => c.listSchedules().some(r => r.name === 'left'))
    assert.deepEqual(a.listSchedules(), [left, right])
    assert.deepEqual(c.listSchedules(), [left, right])
    assert.deepEqual(b.listSchedules(), [left, right])
    assert.equal(a.libp2p.getConnections(peerIdFromString(c.peerId)).length, 0, 'a dialled c (not a neighbour) for its schedules')
  })
})
