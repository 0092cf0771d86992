import { encode } from '../codec.js'
import { MAX_ANNOUNCED_PER_FRAME, MAX_RECORDS, RELAY_PULL_TIMEOUT_MS } from '../constants.js'
import { encodeFrame } from '../rpc/framing.js'

/** One record a neighbour says it holds: the origin's peer id and the record's seq. */
export type Announced = [peerId: string, seq: number]

/** A record asked of one neighbour and not yet arrived. */
interface Pull {
  seq: number
  from: string
  at: number
  /** Other neighbours that announced it (or newer) meanwhile: asked next if `from` fails. */
  others: string[]
}

/**
 * Relayed records are announced, then pulled (issue 15). A node forwarding
 * a record it accepted sends its neighbours only (origin, seq) in a batched
 * `have` frame; a neighbour lacking that record asks for it with `want`, and
 * gets the origin's signed bytes from the first announcer it asked. Flooding
 * whole records sent each one over every connection: at 50 nodes each record
 * reached each node ~5.7 times, ~2,500 registry frames a second on two
 * cores, most of them decoded only to be dropped as duplicates.
 *
 * This table remembers what was asked of whom. A record asked for is not
 * asked again while its answer may still come (from a neighbour still
 * connected, within RELAY_PULL_TIMEOUT_MS); past that, or when that
 * neighbour goes, the next neighbour that announced it is asked.
 */
export class PullTable {
  private readonly pulls = new Map<string, Pull>()

  /**
   * A `have` from `from`: of `announced` (filtered by `worth`, the caller's
   * rules on what it would hold), the origins to ask `from` for now.
   */
  wanted (from: string, announced: Announced[], worth: (peerId: string, seq: number) => boolean, now = Date.now()): string[] {
    const out: string[] = []
    for (const [peerId, seq] of announced) {
      if (!worth(peerId, seq)) continue
      const p = this.pulls.get(peerId)
      if (p !== undefined && p.seq >= seq && now - p.at < RELAY_PULL_TIMEOUT_MS) {
        if (p.from !== from && !p.others.includes(from)) p.others.push(from)
        continue
      }
      // Bounded: a neighbour announcing thousands of origins it never sends costs at most MAX_RECORDS pulls, each for RELAY_PULL_TIMEOUT_MS.
      if (p === undefined && this.pulls.size >= MAX_RECORDS) continue
      this.pulls.set(peerId, { seq, from, at: now, others: [] })
      out.push(peerId)
    }
    return out
  }

  /** A record of `peerId` with `seq` arrived (or was refused): it is asked of no one any more. */
  settled (peerId: string, seq: number): void {
    const p = this.pulls.get(peerId)
    if (p !== undefined && p.seq <= seq) this.pulls.delete(peerId)
  }

  /**
   * Pulls whose neighbour is gone (`gone`) or silent past the timeout: each
   * moves to its next announcer. Returns what to ask of whom.
   */
  retry (gone: (neighbour: string) => boolean, now = Date.now()): Map<string, string[]> {
    const ask = new Map<string, string[]>()
    for (const [peerId, p] of this.pulls) {
      if (!gone(p.from) && now - p.at < RELAY_PULL_TIMEOUT_MS) continue
      let next: string | undefined
      while ((next = p.others.shift()) !== undefined && gone(next));
      if (next === undefined) { this.pulls.delete(peerId); continue }
      p.from = next
      p.at = now
      const list = ask.get(next) ?? []
      list.push(peerId)
      ask.set(next, list)
    }
    return ask
  }

  get size (): number { return this.pulls.size }

  clear (): void { this.pulls.clear() }
}

/** `announced` as encoded `have` frames of at most MAX_ANNOUNCED_PER_FRAME entries (a frame stays well under MAX_RECORD_BYTES). */
export function haveFrames (announced: Announced[]): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < announced.length; i += MAX_ANNOUNCED_PER_FRAME) out.push(encodeFrame(encode({ have: announced.slice(i, i + MAX_ANNOUNCED_PER_FRAME) })))
  return out
}

/** The entries of a decoded `have` frame, or undefined when it is not one; malformed entries are skipped. */
export function readHave (msg: unknown): Announced[] | undefined {
  const have = (msg as { have?: unknown } | null)?.have
  if (!Array.isArray(have)) return undefined
  const out: Announced[] = []
  for (const e of have.slice(0, MAX_ANNOUNCED_PER_FRAME)) {
    if (Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number') out.push([e[0], e[1]])
  }
  return out
}

/** The origins of a decoded `want` frame, or undefined when it is not one. */
export function readWant (msg: unknown): string[] | undefined {
  const want = (msg as { want?: unknown } | null)?.want
  if (!Array.isArray(want)) return undefined
  return want.slice(0, MAX_ANNOUNCED_PER_FRAME).filter((p): p is string => typeof p === 'string')
}
