import type { PrivateKey } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { decode, encode } from '../codec.js'
import {
  SCHEDULE_BACKUP_GRACE_MS, SCHEDULE_NOTICE_TIMEOUT_MS, SCHEDULE_PRUNE_EVERY, SCHEDULE_RAN_MEMORY, SCHEDULE_RUN_TIMEOUT_MS,
  SCHEDULE_SETTLE_MS, SCHEDULE_TICKS_KEPT_MS
} from '../constants.js'
import { BadArgumentError, UnknownTaskError } from '../errors.js'
import type { CallOptions } from '../rpc/channel.js'
import type { RouteHandler } from '../execution/routes.js'
import type { TickKind, WorkflowStore } from '../store/workflow-store.js'
import { openSchedule, signSchedule, type ScheduleRecord, type SignedSchedule } from './schedule-record.js'
import { parseSchedule, type ScheduleSpec, type Ticks } from './schedule-spec.js'
import { rendezvous } from './service.js'

export type { ScheduleRecord, SignedSchedule } from './schedule-record.js'

const log = logger('mesh:schedules')

/** The routing table's namespace of the schedule calls. */
export const SCHEDULE_NAMESPACE = '@mesh/sched'

export const SCHEDULE_ROUTES = {
  /** Store (or replace, by version) a schedule record. */
  put: '@mesh/sched/put',
  /** Every record this node holds, tombstones included: the sync on connect. */
  list: '@mesh/sched/list',
  /** owner → backup: this tick was fired; do not fire it again. */
  fired: '@mesh/sched/fired',
  /** firer → the tick's provider: run the task for this tick id, unless it already ran here. */
  run: '@mesh/sched/run'
} as const

export interface ScheduleComponents {
  peerId: string
  /** Signs the records this node makes. */
  privateKey: PrivateKey
  members: () => string[]
  providers: (task: string) => string[]
  call: (peer: string, name: string, args: unknown[], options: CallOptions) => Promise<unknown>
  runHere: (task: string, args: unknown[], ctx: { from: string, signal: AbortSignal, timeout: number }) => Promise<unknown>
  /**
   * The peers this node is connected to. The mesh is partial (issue 15): a
   * node syncs with its neighbours only, and passes a record new to it on to
   * them, so two meshes joined by one connection learn each other's schedules.
   */
  neighbours?: () => string[]
}

/** `refused`: records not applied because their signature was missing or bad, or they did not parse. */
export interface ScheduleStats { fired: number, backupFired: number, catchUps: number, ran: number, dropped: number, refused: number }

interface Held { record: ScheduleRecord, envelope: SignedSchedule }

/**
 * Periodic schedules with no single beat. Every node holds every schedule
 * (pushed on add and remove, pulled from each peer on connect). Each tick has
 * an id, `name@time`; the live node ranked first for the schedule's name by
 * rendezvous hashing fires it, the second fires the same tick id if it has
 * not heard that the first did within a grace period, and the tick runs on
 * the provider ranked first for the tick id, which drops a tick id it has
 * already run. Records are signed by the node that made them and verified
 * on receipt; a node with a store (a data dir) keeps them and the tick ids
 * it fired and ran, so a restart neither loses a schedule nor repeats a
 * tick. See docs/workflows.md for the guarantee and its limits.
 */
export class ScheduleService {
  private readonly records = new Map<string, Held>()
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private readonly firedTicks = new Set<string>()
  private readonly ranTicks = new Set<string>()
  private readonly counters: ScheduleStats = { fired: 0, backupFired: 0, catchUps: 0, ran: 0, dropped: 0, refused: 0 }
  private stopped = false
  private store?: WorkflowStore
  private writes = 0
  /** No tick is fired before this (epoch ms): the node's view of the mesh is settling. */
  private quietUntil = Date.now() + SCHEDULE_SETTLE_MS

  constructor (private readonly c: ScheduleComponents) {}

  /**
   * Start firing: with a store, first take back the records and tick ids it
   * kept (each record verified again); after the settle time, the one
   * catch-up of every schedule this node owns.
   */
  async start (store?: WorkflowStore): Promise<void> {
    this.stopped = false
    this.quietUntil = Date.now() + SCHEDULE_SETTLE_MS
    this.store = store
    if (store !== undefined) {
      for (const t of store.ticks('fired')) this.firedTicks.add(t)
      for (const t of store.ticks('ran')) this.ranTicks.add(t)
      for (const kept of store.schedules()) await this.merge(decode(kept.envelope)).catch((err: any) => { log.error('kept schedule %s refused: %s', kept.name, err.message) })
    }
    setTimeout(() => {
      for (const { record } of this.records.values()) if (record.deleted !== true) this.catchUp(record, parseSchedule(record.spec))
    }, SCHEDULE_SETTLE_MS).unref()
  }

  stats (): ScheduleStats { return { ...this.counters } }

  list (): ScheduleRecord[] { return [...this.records.values()].map(h => h.record).filter(r => r.deleted !== true).sort((a, b) => a.name.localeCompare(b.name)) }

  /** Add or replace a schedule everywhere in the mesh. */
  async add (name: string, task: string, args: unknown[], spec: ScheduleSpec, options: { passTick?: boolean } = {}): Promise<ScheduleRecord> {
    if (!/^[\w.-]+$/.test(name)) throw new BadArgumentError(`schedule name ${JSON.stringify(name)} must be letters, digits, _ . or -`)
    parseSchedule(spec)
    if (this.c.providers(task).length === 0) throw new UnknownTaskError(`schedule ${name}: no node in the mesh serves "${task}"`)
    const record: ScheduleRecord = { name, version: this.nextVersion(name), task, args, spec, created: Date.now(), signer: this.c.peerId }
    if (options.passTick === true) record.passTick = true
    await this.publish(record)
    return record
  }

  /** Remove a schedule everywhere; false if there was none. */
  async remove (name: string): Promise<boolean> {
    const old = this.records.get(name)?.record
    if (old === undefined || old.deleted === true) return false
    await this.publish({ ...old, version: this.nextVersion(name), signer: this.c.peerId, deleted: true })
    return true
  }

  /** Pull every record a peer holds (called when a peer connects). */
  async sync (peer: string): Promise<void> {
    try {
      const list = await this.c.call(peer, SCHEDULE_ROUTES.list, [], { timeout: 10_000 })
      const fresh: unknown[] = []
      if (Array.isArray(list)) for (const r of list) if (await this.merge(r).catch((err: any) => { log('record from %s refused: %s', peer, err.message); return false })) fresh.push(r)
      this.pass(fresh, peer)
    } catch (err: any) {
      log('schedule sync with %s failed: %s', peer, err.message)
    }
  }

  async syncAll (): Promise<void> {
    await Promise.all(this.c.members().filter(p => p !== this.c.peerId).map(async p => { await this.sync(p) }))
  }

  stop (): void {
    this.stopped = true
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
  }

  private nextVersion (name: string): number {
    return Math.max(Date.now(), (this.records.get(name)?.record.version ?? 0) + 1)
  }

  private async publish (record: ScheduleRecord): Promise<void> {
    const envelope = await signSchedule(record, this.c.privateKey)
    await this.merge(envelope)
    await Promise.all(this.c.members().filter(p => p !== this.c.peerId).map(async p => {
      await this.c.call(p, SCHEDULE_ROUTES.put, [envelope], { timeout: 10_000 }).catch((err: any) => { log('push of %s to %s failed: %s', record.name, p, err.message) })
    }))
  }

  /** Pass records new here on to the neighbours but `from` (each node passes a version on once: the flood ends). */
  private pass (envelopes: unknown[], from: string): void {
    if (envelopes.length === 0) return
    for (const p of this.c.neighbours?.() ?? []) {
      if (p === from || p === this.c.peerId) continue
      for (const envelope of envelopes) {
        this.c.call(p, SCHEDULE_ROUTES.put, [envelope], { timeout: 10_000 }).catch((err: any) => { log('passing a record to %s failed: %s', p, err.message) })
      }
    }
  }

  /**
   * Verify a signed record (BAD_FRAME for a missing or bad signature, counted
   * and never applied); keep it if newer (on disk too), and (re)arm its timer.
   * True if it was new here.
   */
  private async merge (envelope: unknown): Promise<boolean> {
    let r: ScheduleRecord
    try {
      r = await openSchedule(envelope)
    } catch (err) {
      this.counters.refused++
      throw err
    }
    const old = this.records.get(r.name)
    if (old !== undefined && old.record.version >= r.version) return false
    const signed = envelope as SignedSchedule
    this.store?.putSchedule(r.name, r.version, encode({ payload: signed.payload, signature: signed.signature }))
    this.records.set(r.name, { record: r, envelope: { payload: signed.payload, signature: signed.signature } })
    clearTimeout(this.timers.get(r.name))
    this.timers.delete(r.name)
    if (r.deleted === true || this.stopped) return true
    const ticks = parseSchedule(r.spec)
    this.catchUp(r, ticks)
    this.arm(r, ticks)
    return true
  }

  /** At most one catch-up: the latest tick missed since the schedule was made, if this node owns it and it was not fired. */
  private catchUp (r: ScheduleRecord, ticks: Ticks): void {
    if (Date.now() < this.quietUntil || this.stopped) return
    const last = ticks.previous(Date.now())
    if (last >= r.created && this.ranked(r)[0] === this.c.peerId && !this.firedTicks.has(tickId(r.name, last))) {
      this.counters.catchUps++
      this.fire(r, last, 'catch-up')
    }
  }

  /** Time the next tick after `after` (the tick just handled: a timer may fire a little before Date.now() reaches it). */
  private arm (r: ScheduleRecord, ticks: Ticks, after = Date.now()): void {
    if (this.stopped) return
    const at = ticks.next(Math.max(after, Date.now()))
    const timer = setTimeout(() => {
      if (this.records.get(r.name)?.record !== r) return
      this.arm(r, ticks, at)
      // While settling, the one catch-up after it covers the ticks skipped.
      if (Date.now() >= this.quietUntil) this.onTick(r, at, ticks.period)
    }, Math.max(0, at - Date.now()))
    timer.unref()
    this.timers.set(r.name, timer)
  }

  /**
   * Who fires a schedule: its task's providers, ranked by rendezvous hashing
   * of its name. Only providers, so a passing client (a `mesh call`) never
   * owns a schedule and its coming and going moves no schedule.
   */
  private ranked (r: ScheduleRecord): string[] { return rendezvous(r.name, this.c.providers(r.task)) }

  private onTick (r: ScheduleRecord, at: number, period: number): void {
    const ranked = this.ranked(r)
    if (ranked[0] === this.c.peerId) { this.fire(r, at, 'owner'); return }
    if (ranked[1] !== this.c.peerId) return
    const grace = Math.min(SCHEDULE_BACKUP_GRACE_MS, period / 2)
    const owner = ranked[0]
    setTimeout(() => {
      if (this.stopped || this.firedTicks.has(tickId(r.name, at)) || this.records.get(r.name)?.record !== r) return
      // An owner still connected and serving is slow, not gone: it fires (its lease closes the connection if it hangs).
      if (this.c.providers(r.task).includes(owner)) return
      this.counters.backupFired++
      this.fire(r, at, 'backup')
    }, grace).unref()
  }

  /**
   * Fire a tick: first tell every other node it is fired (so no backup
   * fires it too; nodes' views of who is backup may differ for a moment),
   * then run it on the provider ranked first for the tick id. A firer killed
   * between the two loses that tick rather than risking it running twice.
   */
  private fire (r: ScheduleRecord, at: number, why: string): void {
    const tick = tickId(r.name, at)
    if (this.firedTicks.has(tick)) return
    this.note(tick, 'fired')
    this.counters.fired++
    const others = this.c.members().filter(p => p !== this.c.peerId)
    void Promise.allSettled(others.map(async p => this.c.call(p, SCHEDULE_ROUTES.fired, [tick], { timeout: SCHEDULE_NOTICE_TIMEOUT_MS }))).then(async () => {
      const provider = rendezvous(tick, this.c.providers(r.task))[0]
      if (provider === undefined) { log('tick %s: no provider of %s', tick, r.task); return }
      const args = r.passTick === true ? [...r.args, { tick, at }] : r.args
      log('firing %s (%s) on %s', tick, why, provider)
      await (provider === this.c.peerId
        ? this.runTick(tick, r.task, args, this.c.peerId)
        : this.c.call(provider, SCHEDULE_ROUTES.run, [tick, r.task, args], { timeout: SCHEDULE_RUN_TIMEOUT_MS }))
    }).catch((err: any) => { log('tick %s failed: %s', tick, err.message) })
  }

  /** Run a tick here unless this node already ran that tick id. */
  private async runTick (tick: string, task: string, args: unknown[], from: string): Promise<unknown> {
    if (this.ranTicks.has(tick)) { this.counters.dropped++; return { tick, duplicate: true } }
    // Noted (on disk, with a store) before it runs: a node killed mid-run does not run it again after a restart.
    this.note(tick, 'ran')
    this.counters.ran++
    return this.c.runHere(task, args, { from, signal: new AbortController().signal, timeout: SCHEDULE_RUN_TIMEOUT_MS })
  }

  /** Remember a tick id as fired or run: in memory, and on disk with a store. */
  private note (tick: string, kind: TickKind): void {
    const set = kind === 'fired' ? this.firedTicks : this.ranTicks
    if (set.has(tick)) return
    set.add(tick)
    trim(set)
    if (this.store === undefined) return
    const at = tickTime(tick)
    try {
      this.store.addTick(tick, kind, tick.slice(0, tick.lastIndexOf('@')), at)
      if (++this.writes % SCHEDULE_PRUNE_EVERY === 0) this.store.pruneTicks(Date.now() - SCHEDULE_TICKS_KEPT_MS)
    } catch (err: any) {
      // Kept in memory: only a restart before the disk has room again could repeat it.
      log.error('cannot keep tick %s on disk: %s', tick, err.message)
    }
  }

  readonly handle: RouteHandler = async (call, from) => {
    switch (call.task) {
      case SCHEDULE_ROUTES.put: if (await this.merge(call.args[0])) this.pass([call.args[0]], from); return null
      case SCHEDULE_ROUTES.list: return [...this.records.values()].map(h => h.envelope)
      case SCHEDULE_ROUTES.fired:
        if (typeof call.args[0] === 'string' && Number.isFinite(tickTime(call.args[0]))) this.note(call.args[0], 'fired')
        return null
      case SCHEDULE_ROUTES.run: {
        const [tick, task, args] = call.args
        if (typeof tick !== 'string' || typeof task !== 'string' || !Array.isArray(args)) throw new BadArgumentError('schedule run: malformed tick')
        return this.runTick(tick, task, args, from)
      }
      default: throw new UnknownTaskError(`this node has no schedule call "${call.task}"`)
    }
  }
}

function tickId (name: string, at: number): string { return `${name}@${new Date(at).toISOString()}` }

/** The scheduled time a tick id names (NaN if it names none). */
function tickTime (tick: string): number { return Date.parse(tick.slice(tick.lastIndexOf('@') + 1)) }

/** Forget the oldest ids beyond the memory bound (a Set iterates in insertion order). */
function trim (set: Set<string>): void {
  while (set.size > SCHEDULE_RAN_MEMORY) set.delete(set.values().next().value as string)
}
