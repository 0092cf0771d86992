import { decode } from '../codec.js'
import {
  MAX_RELAYED_RECORD_BYTES, MAX_RECORDS, MAX_RECORDS_PER_NEIGHBOUR, RECORD_REFRESH_MAX_MS, RECORD_REFRESH_MS, RELAYED_RECORD_TTL_REFRESHES, RELAY_LOAD_INTERVAL_MS
} from '../constants.js'
import type { NodeRecord } from './record.js'

/**
 * Relaying signed records beyond direct neighbours (issue 15). A node
 * offers every record it accepts to its other neighbours (announced, and
 * sent byte for byte as its origin signed it to those that ask: ./pull.ts);
 * a receiver verifies the origin's signature, so a
 * relay can drop or delay records but never forge or alter one. With it a
 * node needs only a few connections (src/discovery/dialer.ts) and still
 * knows the whole mesh, and a client bootstrapped to one node sees all of it.
 *
 * This table holds what the registry needs besides the record itself: the
 * signed frame (to forward), how the record arrived, and when it was last
 * heard. Its rules:
 *
 * - A frame whose (peer, seq) is not newer than the one held is a duplicate
 *   (two neighbours answered, or an old peer pushed it): it is dropped before
 *   its signature is checked, the costly part.
 * - A direct record (from the peer it describes) goes when that connection
 *   closes, as before. A relayed one goes when not refreshed within
 *   RELAYED_RECORD_TTL_REFRESHES of the interval its origin re-signs at
 *   (the record's signed `refresh`, see RECORD_REFRESH_PER_PEER_MS), or at
 *   once when the neighbour it came from (`via`) reports the origin lost (a
 *   `lost` notice, see Registry), unless it is newer than the notice. Only
 *   that neighbour: a node's copy came by one path, and the notice says only
 *   that this path broke. (Taking every notice, one node losing its link to
 *   a live peer made the whole mesh drop that peer's record until its next
 *   refresh: at 50 nodes, a client saw 30 live providers come and go.) When
 *   the origin dies, every path breaks at its own neighbours, and the
 *   notices follow each copy's `via` back to every holder.
 * - Bounds: at most MAX_RECORDS records; one neighbour may introduce at most
 *   MAX_RECORDS_PER_NEIGHBOUR origins; a relayed frame is at most
 *   MAX_RELAYED_RECORD_BYTES. A peer announcing thousands of fake records
 *   costs at most those, and honest records are still taken.
 * - A record whose tasks, objects and addresses did not change (a load
 *   update) is forwarded at most once per RELAY_LOAD_INTERVAL_MS per origin:
 *   a busy mesh does not flood load hints to every node.
 */
export interface Held {
  record: NodeRecord
  frame: Uint8Array
  /** The neighbour this version came from (the origin itself when direct). */
  via: string
  /** The neighbour that first told of this origin: counts toward its MAX_RECORDS_PER_NEIGHBOUR. */
  introducedBy: string
  heardAt: number
  forwardedAt: number
  /** tasks/objects/addrs as JSON: what makes a change worth forwarding at once. */
  shape: string
  /** When its addresses last went to the peer store (epoch ms; 0: never). */
  addrsLearnedAt: number
  /** When the neighbour it came from disconnected (epoch ms), if it did and no newer version came since. */
  orphanedAt?: number
}

/** The (peer, seq) of an encoded signed record, read without checking it. */
export function peek (envelope: unknown): { peerId: string, seq: number } | undefined {
  const payload = (envelope as { payload?: unknown } | null)?.payload
  if (!(payload instanceof Uint8Array)) return undefined
  const r = decode(payload) as { peerId?: unknown, seq?: unknown } | null
  return typeof r?.peerId === 'string' && typeof r.seq === 'number' ? { peerId: r.peerId, seq: r.seq } : undefined
}

const shapeOf = (r: NodeRecord): string => JSON.stringify([r.tasks, r.objects, r.addrs])

/** How long a relayed copy of `record` lives unrefreshed: three of its origin's intervals (the claimed interval held within RECORD_REFRESH_MS–RECORD_REFRESH_MAX_MS). */
export const relayedTtl = (record: NodeRecord): number =>
  RELAYED_RECORD_TTL_REFRESHES * Math.min(RECORD_REFRESH_MAX_MS, Math.max(RECORD_REFRESH_MS, record.refresh ?? RECORD_REFRESH_MS))

export class RelayTable {
  readonly held = new Map<string, Held>()
  /** Origins each neighbour introduced. */
  private readonly introduced = new Map<string, number>()
  /** seq of records dropped on a `lost` notice or a disconnect: older copies still in flight are not taken back. */
  private readonly dropped = new Map<string, number>()

  /** Why a frame of `peerId`/`seq` (`bytes` long; 0: only announced) from neighbour `from` must not be taken; undefined: verify it. */
  refuse (from: string, peerId: string, seq: number, bytes: number): string | undefined {
    const known = this.held.get(peerId)
    if (known !== undefined && known.record.seq >= seq) return 'duplicate'
    // From the origin itself (a reconnect): always taken.
    if (peerId === from) return undefined
    if ((this.dropped.get(peerId) ?? -1) >= seq) return 'dropped'
    if (bytes > MAX_RELAYED_RECORD_BYTES) return `relayed record of ${bytes} bytes is over ${MAX_RELAYED_RECORD_BYTES}`
    if (known === undefined) {
      if (this.held.size >= MAX_RECORDS) return `holding ${MAX_RECORDS} records already`
      if ((this.introduced.get(from) ?? 0) >= MAX_RECORDS_PER_NEIGHBOUR) return `neighbour introduced ${MAX_RECORDS_PER_NEIGHBOUR} records already`
    }
    return undefined
  }

  /**
   * Hold `record`; returns whether to pass it on: 'now' for a record new
   * here or whose tasks, objects or addresses changed, 'soon' for a refresh
   * or a load update (at most once per RELAY_LOAD_INTERVAL_MS), undefined
   * for neither.
   */
  hold (from: string, record: NodeRecord, frame: Uint8Array): 'now' | 'soon' | undefined {
    const now = Date.now()
    const known = this.held.get(record.peerId)
    const shape = shapeOf(record)
    if (known === undefined) this.introduced.set(from, (this.introduced.get(from) ?? 0) + 1)
    const forward = known === undefined || known.shape !== shape ? 'now' : now - known.forwardedAt >= RELAY_LOAD_INTERVAL_MS ? 'soon' : undefined
    this.held.set(record.peerId, { record, frame, via: from, introducedBy: known?.introducedBy ?? from, heardAt: now, forwardedAt: forward !== undefined ? now : (known?.forwardedAt ?? 0), shape, addrsLearnedAt: known?.addrsLearnedAt ?? 0 })
    this.dropped.delete(record.peerId)
    return forward
  }

  /** Drop `peerId`'s record (and remember its seq); returns it if one was held. */
  drop (peerId: string): Held | undefined {
    const h = this.held.get(peerId)
    if (h === undefined) return undefined
    this.held.delete(peerId)
    const n = (this.introduced.get(h.introducedBy) ?? 1) - 1
    if (n <= 0) this.introduced.delete(h.introducedBy)
    else this.introduced.set(h.introducedBy, n)
    this.dropped.set(peerId, h.record.seq)
    if (this.dropped.size > MAX_RECORDS) this.dropped.delete(this.dropped.keys().next().value as string)
    return h
  }

  /**
   * The neighbour `neighbour` disconnected: the copies that came from it
   * have no path left that anyone vouches for. Each gets two of its
   * origin's intervals (not three) for a newer version to come by another
   * path: a live origin's next refresh does within one interval and a few
   * hops of batching, a dead one's never comes. (With the full TTL, a peer
   * killed together with the neighbour its copy came from stayed listed
   * 27 s at 50 nodes.)
   */
  orphan (neighbour: string, now = Date.now()): void {
    for (const [peer, h] of this.held) if (h.via === neighbour && peer !== neighbour && h.orphanedAt === undefined) h.orphanedAt = now
  }

  /** Records past their expiry, relayed and not heard within three of their origin's refresh intervals, or orphaned for two. */
  stale (now = Date.now()): string[] {
    const out: string[] = []
    for (const [peer, h] of this.held) {
      if (h.record.expires <= now || (h.via !== peer && now - h.heardAt > relayedTtl(h.record)) ||
        (h.orphanedAt !== undefined && now - h.orphanedAt > relayedTtl(h.record) * 2 / 3)) out.push(peer)
    }
    return out
  }

  clear (): void {
    this.held.clear()
    this.introduced.clear()
    this.dropped.clear()
  }
}
