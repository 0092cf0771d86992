import type { Logger } from '@libp2p/interface'
import { RESULT_CALL_TIMEOUT_MS, RESULT_RECOPY_CONCURRENCY, RESULT_RECOPY_PAGE, RESULT_RECOPY_PAUSE_MS } from '../constants.js'
import type { CallOptions } from '../rpc/channel.js'
import type { JobRow, Journal } from '../store/journal.js'
import { rendezvous } from './id.js'
import { JOB_ROUTES } from './wire.js'

/** What placing a job's copy needs of its node. */
export interface PlaceComponents {
  peerId: string
  logger: Logger
  holders: () => string[]
  call: (peer: string, name: string, args: unknown[], options: CallOptions) => Promise<unknown>
}

/**
 * Journal a copy at the first live holder (other than this node and
 * `exclude`) in rendezvous order of `random` that takes it; the first two
 * are tried (at submit, and for a job or result that lost its other holder).
 * `copy` gives the replicate call's arguments for a candidate.
 */
export async function placeCopy (c: PlaceComponents, random: string, exclude: string | undefined, copy: (replica: string) => unknown[]): Promise<string | undefined> {
  const candidates = rendezvous(random, c.holders().filter(p => p !== c.peerId && p !== exclude)).slice(0, 2)
  for (const replica of candidates) {
    try {
      await c.call(replica, JOB_ROUTES.replicate, copy(replica), { timeout: RESULT_CALL_TIMEOUT_MS })
      return replica
    } catch (err: any) {
      c.logger('replica %s refused a job: %s', replica, err.message)
    }
  }
  return undefined
}

/** What the re-copying of kept results needs: narrow, so it is tested on a real journal alone. */
export interface ResultCopiesComponents {
  journal: Pick<Journal, 'keptWith' | 'setPeer'>
  /** Journal a copy of finished `row` at a new holder (other than this node and `gone`); resolves with it, or undefined if none took it. */
  place: (row: JobRow, gone: string) => Promise<string | undefined>
  /** Whether a copy can go anywhere at all now that `gone` left (some other live holder exists). */
  canPlace: (gone: string) => boolean
  /** Whether `peer` is a live holder again (it came back: its copies are back too). */
  alive: (peer: string) => boolean
  logger: Logger
}

/**
 * A departed peer's copies of the results this node keeps: each such result
 * is now held here alone, so it gets a new second holder (rendezvous order, as
 * at submit). Bounded: a peer leaving costs one page of an index look-up
 * (`Journal.keptWith`, the results kept with that peer, in journal order), at most
 * RESULT_RECOPY_PAGE results, RESULT_RECOPY_CONCURRENCY copies in flight; the
 * rest follow a page every RESULT_RECOPY_PAUSE_MS, so a peer that held a
 * million results does not stall the node. The result here is never touched:
 * a copy only adds a holder, and a result whose copy every candidate refused
 * stays here alone (the page moves past it).
 */
export class ResultCopies {
  /** Peers whose kept results still need new copies → where their next page starts. */
  private readonly cursors = new Map<string, number>()
  private timer?: NodeJS.Timeout
  private busy = false
  private stopped = false

  constructor (private readonly c: ResultCopiesComponents, private readonly page = RESULT_RECOPY_PAGE, private readonly pause = RESULT_RECOPY_PAUSE_MS) {}

  /** `peer` left: copy the results it also held, a page now and the rest paced. */
  left (peer: string): void {
    if (this.stopped) return
    if (!this.cursors.has(peer)) this.cursors.set(peer, 0)
    this.schedule(0)
  }

  /** Whether results of a departed peer are still being copied (for tests and stop). */
  get pending (): number { return this.cursors.size }

  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.cursors.clear()
  }

  /** One page per departed peer; resolves when its copies are placed (or refused). */
  async step (): Promise<void> {
    this.timer = undefined
    if (this.busy || this.stopped) return
    this.busy = true
    try {
      for (const [peer, after] of [...this.cursors]) {
        if (this.c.alive(peer) || !this.c.canPlace(peer)) {
          if (!this.c.alive(peer)) this.c.logger('no other holder to copy the results %s held to: they stay here alone', peer)
          this.cursors.delete(peer)
          continue
        }
        const rows = this.c.journal.keptWith(peer, after, this.page)
        await eachLimited(rows, RESULT_RECOPY_CONCURRENCY, async (row) => {
          const to = await this.c.place(row, peer).catch((err: any) => { this.c.logger('copying result %s failed: %s', row.id, err.message) })
          if (to !== undefined && !this.stopped) this.c.journal.setPeer(row.id, to)
        })
        if (this.stopped) return
        if (rows.length < this.page) this.cursors.delete(peer)
        else this.cursors.set(peer, rows[rows.length - 1].seq)
      }
    } catch (err: any) {
      this.c.logger.error('copying kept results failed: %s', err.message)
    } finally {
      this.busy = false
    }
    if (this.cursors.size > 0) this.schedule(this.pause)
  }

  private schedule (delay: number): void {
    if (this.timer !== undefined || this.busy || this.stopped) return
    this.timer = setTimeout(() => { void this.step() }, delay)
    this.timer.unref()
  }
}

/** Run `op` over `items`, at most `limit` at once. */
async function eachLimited<T> (items: T[], limit: number, op: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await op(items[next++])
  }))
}
