import type { PrivateKey } from '@libp2p/interface'
import { decode, encode } from '../codec.js'
import { BadArgumentError, BadFrameError } from '../errors.js'
import { signPayload, verifyPayload, type SignedRecord } from '../registry/record.js'
import { parseSchedule, type ScheduleSpec } from './schedule-spec.js'

/** A periodic schedule, as every node holds it. The highest version wins; a removal is a tombstone with a higher version. */
export interface ScheduleRecord {
  name: string
  version: number
  task: string
  args: unknown[]
  spec: ScheduleSpec
  /** Epoch ms it was added: no catch-up run for ticks before it. */
  created: number
  /** The peer id of the node that made this version (added, replaced or removed it); its key signed the record. */
  signer: string
  /** Pass `{ tick, at }` as the task's last argument, so the task itself can tell ticks apart. */
  passTick?: boolean
  deleted?: boolean
}

/** A schedule record as it travels and is kept: its encoding and the signer's signature over it. */
export type SignedSchedule = SignedRecord

// Domain separation from the registry's records and anything else a node's key signs.
const DOMAIN = new TextEncoder().encode('/mesh/schedule/record/1\n')

/** Sign a schedule record with the key of the peer it names as its signer. */
export async function signSchedule (record: ScheduleRecord, key: PrivateKey): Promise<SignedSchedule> {
  return await signPayload(DOMAIN, encode(record), key)
}

/**
 * Decode and verify a signed schedule record: well formed, and signed by the
 * key of the peer id it names as signer. Anything else is BAD_FRAME (a
 * missing or bad signature, another peer's key) or BAD_ARGUMENT (a record
 * that does not parse), and nothing of it is applied.
 */
export async function openSchedule (value: unknown): Promise<ScheduleRecord> {
  if (value == null || typeof value !== 'object') throw new BadFrameError('schedule record envelope is not an object')
  const { payload, signature } = value as Partial<SignedSchedule>
  if (!(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) throw new BadFrameError('schedule record is not signed (no payload or signature)')
  let decoded: unknown
  try {
    decoded = decode(payload)
  } catch {
    throw new BadFrameError('schedule record payload does not decode')
  }
  const record = checkRecord(decoded)
  if (!(await verifyPayload(DOMAIN, payload, signature, record.signer))) throw new BadFrameError(`schedule record ${record.name} v${record.version}: the signature is not ${record.signer}'s`)
  return record
}

function checkRecord (value: unknown): ScheduleRecord {
  const r = value as Partial<ScheduleRecord> | null
  if (r == null || typeof r !== 'object' || typeof r.name !== 'string' || typeof r.task !== 'string' || !Number.isSafeInteger(r.version) ||
      !Array.isArray(r.args) || r.spec == null || typeof r.spec !== 'object' || !Number.isSafeInteger(r.created) || typeof r.signer !== 'string') {
    throw new BadArgumentError('malformed schedule record')
  }
  if (r.deleted !== true) parseSchedule(r.spec)
  return r as ScheduleRecord
}
