import { createHash, randomBytes } from 'node:crypto'
import { JOB_ID_HINT_BYTES, JOB_ID_RANDOM_BYTES } from '../constants.js'
import { BadArgumentError } from '../errors.js'

/**
 * A detached job's id: 128 random bits, then a short hint of each holder
 * (the first bytes of sha256 of its peer id: provider, then replica or
 * zeros), all in lower-case hex — 48 characters. Anyone can find where to
 * ask by hashing the peer ids it knows; the random part makes it unguessable.
 */
const HEX_LENGTH = 2 * (JOB_ID_RANDOM_BYTES + 2 * JOB_ID_HINT_BYTES)
const ID_PATTERN = new RegExp(`^[0-9a-f]{${HEX_LENGTH}}$`)
const NO_HINT = '0'.repeat(2 * JOB_ID_HINT_BYTES)

export interface ParsedJobId {
  random: string
  provider: string
  replica?: string
}

/** Hints of the peers seen lately: a submit and each holder's check hash the same few peer ids again and again. */
const hints = new Map<string, string>()
/** Peer ids whose hint is remembered; past this the memory starts afresh (a mesh has far fewer holders). */
const HINTS_KEPT = 4096

/** The holder hint of a peer id. */
export function holderHint (peerId: string): string {
  let hint = hints.get(peerId)
  if (hint === undefined) {
    hint = createHash('sha256').update(peerId).digest('hex').slice(0, 2 * JOB_ID_HINT_BYTES)
    if (hints.size >= HINTS_KEPT) hints.clear()
    hints.set(peerId, hint)
  }
  return hint
}

/**
 * Random bytes drawn 4 KiB at a time and handed out 16 at a time, each byte
 * once (as Node's randomUUID does with its cache): one OpenSSL call per 256
 * ids instead of one per id, as unguessable.
 */
let pool = Buffer.alloc(0)
let taken = 0

export function randomJobPart (): string {
  if (taken + JOB_ID_RANDOM_BYTES > pool.length) {
    pool = randomBytes(256 * JOB_ID_RANDOM_BYTES)
    taken = 0
  }
  const part = pool.toString('hex', taken, taken + JOB_ID_RANDOM_BYTES)
  pool.fill(0, taken, taken + JOB_ID_RANDOM_BYTES)
  taken += JOB_ID_RANDOM_BYTES
  return part
}

export function makeJobId (random: string, provider: string, replica?: string): string {
  return random + holderHint(provider) + (replica !== undefined ? holderHint(replica) : NO_HINT)
}

/** Parse an id, or BAD_ARGUMENT naming what is wrong with it. */
export function parseJobId (id: unknown): ParsedJobId {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
    const shown = typeof id === 'string' ? `"${id.slice(0, 60)}"` : typeof id
    throw new BadArgumentError(`${shown} is not a job id (${HEX_LENGTH} lower-case hex digits, as mesh submit prints)`)
  }
  const r = 2 * JOB_ID_RANDOM_BYTES
  const h = 2 * JOB_ID_HINT_BYTES
  const replica = id.slice(r + h)
  return { random: id.slice(0, r), provider: id.slice(r, r + h), replica: replica === NO_HINT ? undefined : replica }
}

/**
 * Rendezvous (highest-random-weight) hashing: `candidates` ordered by
 * sha256(key ‖ peer), highest first. Every node that knows the same live
 * set computes the same order, and losing one node moves only its keys.
 */
export function rendezvous (key: string, candidates: Iterable<string>): string[] {
  return [...candidates]
    .map(peer => ({ peer, weight: createHash('sha256').update(key).update('\0').update(peer).digest('hex') }))
    .sort((a, b) => a.weight < b.weight ? 1 : a.weight > b.weight ? -1 : 0)
    .map(c => c.peer)
}
