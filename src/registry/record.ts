import { createPublicKey, verify, type KeyObject } from 'node:crypto'
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { decode, encode } from '../codec.js'
import { MAX_RECORDS, NAME_PATTERN } from '../constants.js'
import { BadFrameError } from '../errors.js'

/** What a node says about a task it serves. */
export interface TaskInfo {
  name: string
  /** Human summary of the arguments, e.g. `n: integer ≥ 0`. */
  args: string
  description?: string
  /** The task may run twice (at-least-once): a caller re-dispatches it when its provider dies mid-call. */
  idempotent?: boolean
  /** Starts per node are limited to this (e.g. `100/m`): calls over it are delayed, not dropped. */
  rateLimit?: string
}

/** What a node says about an object it exposes. */
export interface ObjectInfo {
  name: string
  metadata: string[]
}

/** Load hints, so callers can pick the least loaded provider. */
export interface LoadInfo {
  /** Calls executing now. */
  running: number
  /** Calls accepted and waiting for a worker. */
  queued: number
  /** Size of the worker pool. */
  workers: number
  /** Chunks of split jobs this node owns that idle peers may steal, by task name (absent: none). */
  stealable?: Record<string, number>
}

/** A node's entry in the registry. */
export interface NodeRecord {
  peerId: string
  name: string
  /** Grows with every change; an older or equal seq is a replay and is ignored. */
  seq: number
  /** Epoch ms after which the record is dropped unless refreshed. */
  expires: number
  /** How often (ms) its peer re-signs it (absent: RECORD_REFRESH_MS); relayed copies live for three of these. */
  refresh?: number
  addrs: string[]
  tasks: TaskInfo[]
  objects: ObjectInfo[]
  load: LoadInfo
}

/** A record as it travels: the encoded record and its signer's signature over it. */
export interface SignedRecord {
  payload: Uint8Array
  signature: Uint8Array
}

// Domain separation: a signature over a record can never be replayed as a
// signature over anything else the same key signs, and vice versa.
const DOMAIN = new TextEncoder().encode('/mesh/registry/record/1\n')

function signedBytes (domain: Uint8Array, payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(domain.byteLength + payload.byteLength)
  bytes.set(domain)
  bytes.set(payload, domain.byteLength)
  return bytes
}

/** Sign `payload` under `domain` (a string no other kind of signed thing uses): the registry's records, schedule records (src/workflows). */
export async function signPayload (domain: Uint8Array, payload: Uint8Array, key: PrivateKey): Promise<SignedRecord> {
  return { payload, signature: await key.sign(signedBytes(domain, payload)) }
}

/**
 * Signers' keys, parsed once: every node verifies every record of every peer
 * at each refresh, and parsing the peer id and importing its key into a
 * KeyObject (what @libp2p/crypto does for each Ed25519 verify) was a fifth of
 * it. Bounded (MAX_RECORDS, oldest out): a flood of signers costs a map of
 * that size, and a key pushed out is parsed again.
 */
const signers = new Map<string, { publicKey: PublicKey, ed25519?: KeyObject }>()

function signerKey (signer: string): { publicKey: PublicKey, ed25519?: KeyObject } {
  let k = signers.get(signer)
  if (k !== undefined) return k
  let publicKey
  try {
    publicKey = peerIdFromString(signer).publicKey
  } catch {
    throw new BadFrameError('record names an invalid peer id')
  }
  if (publicKey === undefined) throw new BadFrameError('record peer id does not embed a public key')
  const ed25519 = publicKey.type === 'Ed25519'
    ? createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey.raw).toString('base64url') }, format: 'jwk' })
    : undefined
  k = { publicKey, ed25519 }
  signers.set(signer, k)
  if (signers.size > MAX_RECORDS) signers.delete(signers.keys().next().value as string)
  return k
}

/** Whether `signature` is `signer`'s over `payload` under `domain`; BadFrameError if `signer` is not a peer id that embeds its key. */
export async function verifyPayload (domain: Uint8Array, payload: Uint8Array, signature: Uint8Array, signer: string): Promise<boolean> {
  const { publicKey, ed25519 } = signerKey(signer)
  if (ed25519 === undefined) return await publicKey.verify(signedBytes(domain, payload), signature)
  // Ed25519 signatures are 64 bytes (as @libp2p/crypto checks before verifying).
  return signature.byteLength === 64 && verify(null, signedBytes(domain, payload), ed25519, signature)
}

export async function signRecord (record: NodeRecord, key: PrivateKey): Promise<SignedRecord> {
  return await signPayload(DOMAIN, encode(record), key)
}

/**
 * Decode and verify a signed record: the signature must be by the key of the
 * peer id the record names, and the record must be well formed. Anything
 * else throws BadFrameError.
 */
export async function openRecord (signed: unknown): Promise<NodeRecord> {
  if (signed == null || typeof signed !== 'object') throw new BadFrameError('record envelope is not an object')
  const { payload, signature } = signed as Partial<SignedRecord>
  if (!(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) throw new BadFrameError('record envelope lacks payload or signature')
  const record = decode(payload)
  if (!isNodeRecord(record)) throw new BadFrameError('record is malformed')
  if (!(await verifyPayload(DOMAIN, payload, signature, record.peerId))) throw new BadFrameError('record signature is invalid')
  return record
}

const isString = (v: unknown): v is string => typeof v === 'string'
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isName = (v: unknown): v is string => typeof v === 'string' && NAME_PATTERN.test(v)

export function isNodeRecord (r: unknown): r is NodeRecord {
  if (r == null || typeof r !== 'object') return false
  const x = r as Record<string, unknown>
  const load = x.load as Record<string, unknown> | undefined
  return isString(x.peerId) && isString(x.name) && isCount(x.seq) && isCount(x.expires) && (x.refresh === undefined || isCount(x.refresh)) &&
    Array.isArray(x.addrs) && x.addrs.every(isString) &&
    Array.isArray(x.tasks) && x.tasks.every((t: any) => t != null && isName(t.name) && isString(t.args) && (t.description === undefined || isString(t.description))) &&
    Array.isArray(x.objects) && x.objects.every((o: any) => o != null && isName(o.name) && Array.isArray(o.metadata) && o.metadata.every(isString)) &&
    load != null && typeof load === 'object' && isCount(load.running) && isCount(load.queued) && isCount(load.workers) &&
    (load.stealable === undefined || isStealable(load.stealable))
}

function isStealable (s: unknown): boolean {
  return s != null && typeof s === 'object' && !Array.isArray(s) && Object.values(s).every(isCount)
}

/** A lower score is a better provider: outstanding work per worker. */
export function loadScore (load: LoadInfo): number {
  return (load.running + load.queued) / Math.max(1, load.workers)
}
