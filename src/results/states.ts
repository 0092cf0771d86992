import type { Logger } from '@libp2p/interface'
import { encode } from '../codec.js'
import { PROGRESS_JOURNAL_MAX_BYTES, PROGRESS_JOURNAL_MS, SETTLED_BATCH_MS } from '../constants.js'
import type { Journal, StateUpdate, StoredState } from '../store/journal.js'

interface Pending { state: StoredState, progress?: unknown, hasProgress: boolean }

/**
 * Journals the non-final states of running detached jobs (STARTED, PROGRESS,
 * RETRY) and their last progress, off the hot path: a change only marks the
 * job; one timer writes every marked job in one transaction at most every
 * PROGRESS_JOURNAL_MS, so each job costs at most one statement per window,
 * and a job that settles within the window costs none (its final state is
 * written by the settle, which drops its pending mark). Progress is encoded
 * at the write, not at every event. Each write is also handed to `share`
 * (the provider sends it to the replica in its next outcome batch), so the
 * replica's copy is as recent as this journal.
 */
export class StateJournal {
  private readonly pending = new Map<string, Pending>()
  private timer?: NodeJS.Timeout
  private stopped = false

  constructor (private readonly journal: Journal, private readonly logger: Logger, private readonly interval = PROGRESS_JOURNAL_MS, private readonly share?: (updates: StateUpdate[]) => void) {}

  /** Job `id` is now in `state` (with `progress`, when it reported one). */
  note (id: string, state: StoredState, ...progress: [unknown?]): void {
    if (this.stopped) return
    const seen = this.pending.get(id)
    const entry: Pending = seen ?? { state, hasProgress: false }
    entry.state = state
    if (progress.length > 0) { entry.progress = progress[0]; entry.hasProgress = true }
    if (seen === undefined) this.pending.set(id, entry)
    if (this.timer === undefined) {
      this.timer = setTimeout(() => { this.flush() }, this.interval)
      this.timer.unref()
    }
  }

  /** Job `id` settled: its final state supersedes whatever was pending. */
  drop (id: string): void { this.pending.delete(id) }

  /** Write every pending state now (the timer, and a graceful stop). */
  flush (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.pending.size === 0) return
    const updates: StateUpdate[] = []
    for (const [id, p] of this.pending) {
      const update: StateUpdate = { id, state: p.state }
      if (p.hasProgress) {
        const bytes = encode(p.progress)
        if (bytes.byteLength <= PROGRESS_JOURNAL_MAX_BYTES) update.progress = bytes
      }
      updates.push(update)
    }
    this.pending.clear()
    try {
      this.journal.setStates(updates)
    } catch (err: any) {
      // Informational only (a restart re-runs or fails the job by the same rules either way): log, never fail the job.
      this.logger.error('cannot journal the state of %d running jobs: %s', updates.length, err.message)
    }
    this.share?.(updates)
  }

  /** Flush, then journal nothing more (the journal is about to close). */
  stop (): void {
    this.flush()
    this.stopped = true
  }
}

/**
 * A job's change as a provider tells its replica: id, state, and for a final
 * state its encoded outcome, for a running one (STARTED, PROGRESS, RETRY) its
 * encoded last progress (or null).
 */
export type Settled = [id: string, state: StoredState, bytes: Uint8Array | null]

/**
 * Outcomes (and the running states journaled each PROGRESS_JOURNAL_MS) on
 * their way to the replicas: gathered per replica and sent in one call at
 * most every SETTLED_BATCH_MS (the replica journals a batch in one
 * transaction), so a busy provider makes one call per window, not per job.
 */
export class OutcomeBatches {
  private readonly pending = new Map<string, Settled[]>()
  private timer?: NodeJS.Timeout

  constructor (private readonly send: (peer: string, batch: Settled[]) => Promise<void> | void, private readonly interval = SETTLED_BATCH_MS) {}

  add (peer: string, outcome: Settled): void {
    const batch = this.pending.get(peer)
    if (batch !== undefined) batch.push(outcome)
    else this.pending.set(peer, [outcome])
    if (this.timer === undefined) {
      this.timer = setTimeout(() => { void this.flush() }, this.interval)
      this.timer.unref()
    }
  }

  /** Send every pending batch now (the timer, and a graceful stop, which waits for the sends). */
  async flush (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    const batches = [...this.pending]
    this.pending.clear()
    await Promise.allSettled(batches.map(async ([peer, batch]) => { await this.send(peer, batch) }))
  }
}
