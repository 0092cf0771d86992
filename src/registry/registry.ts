import type { LoadInfo, NodeRecord, ObjectInfo, TaskInfo } from './record.js'

/** A part of what this node offers, read each time its record is re-signed. */
export interface OfferPart {
  tasks?: TaskInfo[]
  objects?: ObjectInfo[]
  /** Merged into the record's load hints. */
  load?: Partial<LoadInfo>
}

export interface RegistryEvents {
  /** A peer's record arrived, changed or went away (record undefined). */
  change: [peerId: string, record: NodeRecord | undefined]
}

export type RegistryListener = (...args: RegistryEvents['change']) => void

/**
 * Where the mesh finds who serves what. Every caller (the facade, remote
 * objects, work stealing, jobs) uses only this interface, so another
 * implementation (a DHT for meshes beyond one LAN) slots in beside the LAN
 * push one (src/registry/lan.ts) without touching them.
 */
export interface Registry {
  /** Add a part of this node's offer (tasks, objects, load): each is read when the record is signed. */
  addOffer: (part: () => OfferPart) => void
  /** The offer changed (load): publish soon; bursts coalesce. */
  publish: () => void
  /** The offer changed (tasks, objects, draining): re-sign and publish now. */
  publishNow: () => Promise<void>
  /** This node's own current record. */
  readonly self: NodeRecord | undefined
  /** Every peer's record (not this node's own). */
  peers: () => NodeRecord[]
  /** One peer's record. */
  get: (peerId: string) => NodeRecord | undefined
  /** Peers whose record lists `task`, in no order. */
  providers: (task: string) => NodeRecord[]
  on: (event: 'change', listener: RegistryListener) => this
  off: (event: 'change', listener: RegistryListener) => this
  once: (event: 'change', listener: RegistryListener) => this
}
