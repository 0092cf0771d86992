import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { encode } from '../../src/codec.js'
import { createMeshNode, type MeshNode } from '../../src/index.js'
import { SCHEDULE_ROUTES } from '../../src/workflows/schedules.js'
import { signSchedule, type ScheduleRecord } from '../../src/workflows/schedule-record.js'
import { rejectsWithCode } from '../helpers.js'

/** Schedule records are signed by the node that made them and verified by every node that receives one (real nodes, real TCP). */
describe('workflows: signed schedule records', function () {
  this.timeout(60_000)
  const nodes: MeshNode[] = []
  let maker: MeshNode
  let holder: MeshNode
  let stranger: MeshNode

  before(async function () {
    maker = await createMeshNode({ mdns: false, workers: 1, serve: 'add', dataDir: ':memory:' })
    holder = await createMeshNode({ mdns: false, workers: 1, serve: 'add', dataDir: ':memory:', bootstrap: maker.addresses })
    stranger = await createMeshNode({ mdns: false, bootstrap: [...maker.addresses, ...holder.addresses] })
    nodes.push(maker, holder, stranger)
    for (const n of nodes) await n.waitForPeers(2)
  })

  after(async function () { for (const n of nodes) await n.stop() })

  const put = async (envelope: unknown): Promise<unknown> => await stranger.protocolCall(holder.peerId, SCHEDULE_ROUTES.put, [envelope], { timeout: 10_000 }).done

  it('reach every node signed by their maker, and a record with a missing or bad signature is refused (BAD_FRAME), counted, never applied', async function () {
    const made = await maker.addSchedule('signed', 'add', [1, 2], { every: '1h' })
    assert.equal(made.signer, maker.peerId)
    while (holder.listSchedules().length === 0) await new Promise(resolve => setTimeout(resolve, 20))
    assert.deepEqual(holder.listSchedules(), [made])
    const refusedBefore = holder.scheduleStats().refused
    const forged: ScheduleRecord = { ...made, version: made.version + 1, args: [666, 0] }
    // Unsigned: the bare record, or an envelope without a signature.
    await rejectsWithCode(put(forged), 'BAD_FRAME')
    await rejectsWithCode(put({ payload: encode(forged) }), 'BAD_FRAME')
    // Signed by another key than the signer it names.
    const other = await generateKeyPair('Ed25519')
    await rejectsWithCode(put(await signSchedule(forged, other)), 'BAD_FRAME')
    // The maker's own signature (as the holder keeps it), over a tampered payload.
    const kept = await stranger.protocolCall(holder.peerId, SCHEDULE_ROUTES.list, [], { timeout: 10_000 }).done as Array<{ signature: Uint8Array }>
    await rejectsWithCode(put({ payload: encode(forged), signature: kept[0].signature }), 'BAD_FRAME')
    assert.equal(holder.scheduleStats().refused - refusedBefore, 4)
    assert.deepEqual(holder.listSchedules(), [made], 'nothing of a refused record was applied')
  })

  it('a record signed by the key of the peer it names is applied, whoever made it', async function () {
    const key = await generateKeyPair('Ed25519')
    const signer = peerIdFromPrivateKey(key).toString()
    const record: ScheduleRecord = { name: 'by-other', version: Date.now(), task: 'add', args: [2, 3], spec: { every: '1h' }, created: Date.now(), signer }
    assert.equal(await put(await signSchedule(record, key)), null)
    assert.deepEqual(holder.listSchedules().find(r => r.name === 'by-other'), record)
  })
})
