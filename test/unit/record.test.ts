import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { decode, encode } from '../../src/codec.js'
import { openRecord, signRecord, loadScore, type NodeRecord } from '../../src/registry/record.js'

async function makeRecord (): Promise<{ record: NodeRecord, key: Awaited<ReturnType<typeof generateKeyPair>> }> {
  const key = await generateKeyPair('Ed25519')
  const record: NodeRecord = {
    peerId: peerIdFromPrivateKey(key).toString(),
    name: 'n',
    seq: 1,
    expires: Date.now() + 60_000,
    addrs: ['/ip4/127.0.0.1/tcp/1'],
    tasks: [{ name: 'add', args: 'x: numeric, y: numeric' }],
    objects: [{ name: 'greeter', metadata: ['demo'] }],
    load: { running: 1, queued: 2, workers: 1 }
  }
  return { record, key }
}

describe('registry records', function () {
  it('verify when signed by the peer they name', async function () {
    const { record, key } = await makeRecord()
    const opened = await openRecord(decode(encode(await signRecord(record, key))))
    assert.deepEqual(opened, record)
  })

  it('are refused when signed by another key (no advertising for someone else)', async function () {
    const { record } = await makeRecord()
    const other = await generateKeyPair('Ed25519')
    await assert.rejects(openRecord(await signRecord(record, other)), (err: any) => err.code === 'BAD_FRAME')
  })

  it('are refused when tampered with after signing', async function () {
    const { record, key } = await makeRecord()
    const signed = await signRecord(record, key)
    const forged = encode({ ...record, tasks: [{ name: 'evil', args: '' }] })
    await assert.rejects(openRecord({ payload: forged, signature: signed.signature }), /signature/)
  })

  it('verify with the signer\'s key kept from earlier records: a known signer\'s forgery, short signature or another key still fail', async function () {
    const { record, key } = await makeRecord()
    for (let seq = 1; seq <= 3; seq++) assert.equal((await openRecord(await signRecord({ ...record, seq }, key))).seq, seq)
    const good = await signRecord({ ...record, seq: 4 }, key)
    await assert.rejects(openRecord({ payload: encode({ ...record, seq: 5 }), signature: good.signature }), /signature/)
    await assert.rejects(openRecord({ payload: good.payload, signature: good.signature.subarray(0, 63) }), /signature/)
    await assert.rejects(openRecord(await signRecord({ ...record, seq: 6 }, await generateKeyPair('Ed25519'))), /signature/)
  })

  it('verify for signers of other key types (secp256k1)', async function () {
    const key = await generateKeyPair('secp256k1')
    const { record } = await makeRecord()
    const mine = { ...record, peerId: peerIdFromPrivateKey(key).toString() }
    assert.deepEqual(await openRecord(await signRecord(mine, key)), mine)
    const signed = await signRecord(mine, key)
    await assert.rejects(openRecord({ payload: encode({ ...mine, seq: 2 }), signature: signed.signature }), /signature/)
  })

  it('are refused when malformed', async function () {
    const { record, key } = await makeRecord()
    for (const bad of [null, 5, {}, { payload: new Uint8Array([1]), signature: new Uint8Array(64) }]) {
      await assert.rejects(openRecord(bad), (err: any) => err.code === 'BAD_FRAME')
    }
    const broken = { ...record, load: { running: -1, queued: 0, workers: 1 } }
    await assert.rejects(openRecord(await signRecord(broken as NodeRecord, key)), /malformed/)
  })

  it('are refused, though validly signed, when a task or object name is outside the loader\'s alphabet', async function () {
    const { record, key } = await makeRecord()
    for (const name of ['<img src=x onerror=alert(1)>', 'greeter.hello', '@mesh/steal', '', '9lives', 'a b']) {
      for (const bad of [{ ...record, tasks: [{ name, args: '' }] }, { ...record, objects: [{ name, metadata: [] }] }]) {
        await assert.rejects(openRecord(await signRecord(bad, key)), (err: any) => err.code === 'BAD_FRAME' && /malformed/.test(err.message), name)
      }
    }
    // A node name is free text: shown, escaped, never parsed.
    const named = { ...record, name: '<img src=x onerror=alert(1)>' }
    assert.deepEqual(await openRecord(await signRecord(named, key)), named)
  })

  it('rank by outstanding work per worker', function () {
    assert.ok(loadScore({ running: 1, queued: 0, workers: 4 }) < loadScore({ running: 1, queued: 0, workers: 1 }))
  })
})
