import { decode, encode } from '../codec.js'
import { CHORD_KEPT_MS, CHORD_REJOIN_MS, CHORD_REJOIN_PAUSE_MS } from '../constants.js'
import { MayHaveRunError, MeshError, TimeoutError, errorFromWire, errorToWire, retryKind } from '../errors.js'
import type { DetachedJob } from '../results/client.js'
import type { ChordRow, WorkflowStore } from '../store/workflow-store.js'
import type { Chord, Signature, Workflow } from './signatures.js'

/** What journaled chord joins need from their node. */
export interface ChordComponents {
  /** Hand one task to the mesh as a detached job (journaled by its provider and replica): node.submit(…, { detach: true }). */
  submit: (task: string, args: unknown[], options: { timeout: number }) => Promise<DetachedJob>
  /** A handle on a detached job by id, from whichever node holds it. */
  job: (id: string) => Promise<DetachedJob>
  /** Whether every one of `tasks` may run twice. */
  mayRunTwice: (tasks: string[]) => boolean
  /** Run a workflow as the workflow service does (a chord body that is a chain), with `input` prepended. */
  exec: (w: Workflow, deadline: number, input: unknown) => Promise<unknown>
  /** The body is fired (counted by the workflow service). */
  onFire: () => void
}

/**
 * Chord joins that outlive their holder's restart. The holder journals the
 * chord, runs each header member as a detached job and journals its id as
 * soon as a provider accepted it; the members run on at their providers
 * whatever happens to the holder. The holder marks the chord `firing`
 * before it submits the body (a detached job too when it is one task), and
 * journals the body's id and then the outcome. A holder restarted with its
 * data dir resumes every chord it had not finished: it asks for the
 * members' results by id, and fires the body only if it had not (or re-
 * attaches to the body's job), so the body runs once. A submitter that lost
 * the holder mid-chord asks it again with the same chord id once it is back,
 * and gets the same outcome. Only chords whose header members are single
 * tasks are journaled (a detached job is one task); others are held in memory.
 */
export class ChordJoins {
  private store?: WorkflowStore
  private readonly live = new Map<string, Promise<unknown>>()

  constructor (private readonly c: ChordComponents) {}

  attach (store?: WorkflowStore): void { this.store = store }

  /** Whether this node journals `w`: it has a store on disk (`:memory:` would outlive nothing), and every header member is one task. */
  journals (w: Chord): boolean {
    return this.store?.durable === true && w.header.members.every(m => m.kind === 'sig')
  }

  /** Hold chord `id` (journaled first), or attach to the one held already: its outcome, however it ends. */
  async hold (id: string, w: Chord, deadline: number): Promise<unknown> {
    const store = this.store as WorkflowStore
    const known = this.live.get(id) ?? store.chord(id)
    if (known !== undefined) return await (known instanceof Promise ? known : this.drive(known))
    const row: ChordRow = { id, workflow: encode(w), deadline, members: w.header.members.map(() => null), state: 'joining', bodyJob: null, outcome: null, finished: null }
    store.saveChord(row)
    store.pruneChords(Date.now() - CHORD_KEPT_MS)
    return await this.drive(row)
  }

  /** Resume every chord this node held and had not finished (after a restart). */
  resume (): void {
    for (const row of this.store?.unfinishedChords() ?? []) this.drive(row).catch(() => {})
  }

  private async drive (row: ChordRow): Promise<unknown> {
    if (row.state === 'done' || row.state === 'failed') return outcomeOf(row)
    let running = this.live.get(row.id)
    if (running === undefined) {
      running = this.run(row).finally(() => { this.live.delete(row.id) })
      this.live.set(row.id, running)
    }
    return await running
  }

  private async run (row: ChordRow): Promise<unknown> {
    const w = decode(row.workflow) as Chord
    const left = (): number => {
      const ms = row.deadline - Date.now()
      if (ms <= 0) throw new TimeoutError(`chord ${row.id}: the workflow ran out of time`)
      return ms
    }
    try {
      const wasFiring = row.state === 'firing'
      const results = await Promise.all((w.header.members as Signature[]).map(async (m, i) => {
        const known = row.members[i]
        if (known !== null) return await (await this.c.job(known)).result({ timeout: left() })
        const job = await this.c.submit(m.task, m.args, { timeout: left() })
        row.members[i] = job.id
        this.save(row)
        return await job.result({ timeout: left() })
      }))
      let value: unknown
      if (row.bodyJob !== null) {
        value = await (await this.c.job(row.bodyJob)).result({ timeout: left() })
      } else {
        const tasks = w.body.kind === 'sig' ? [w.body.task] : w.body.steps.map(s => s.task)
        if (wasFiring && !this.c.mayRunTwice(tasks)) {
          throw new MayHaveRunError(`chord ${row.id}: its holder restarted as it fired the body; "${tasks.join(', ')}" is not idempotent, so it was not fired again (it may or may not have run)`)
        }
        // Marked before the body is submitted: a restart after this never fires it twice unsafely.
        row.state = 'firing'
        this.save(row)
        this.c.onFire()
        if (w.body.kind === 'sig') {
          const body = await this.c.submit(w.body.task, [results, ...w.body.args], { timeout: left() })
          row.bodyJob = body.id
          this.save(row)
          value = await body.result({ timeout: left() })
        } else {
          value = await this.c.exec(w.body, row.deadline, results)
        }
      }
      this.settle(row, 'done', encode(value))
      return value
    } catch (err) {
      this.settle(row, 'failed', encode(errorToWire(err)))
      throw err
    }
  }

  private settle (row: ChordRow, state: 'done' | 'failed', outcome: Uint8Array): void {
    row.state = state
    row.outcome = outcome
    row.finished = Date.now()
    this.save(row)
  }

  private save (row: ChordRow): void { this.store?.saveChord(row) }
}

function outcomeOf (row: ChordRow): unknown {
  const value = decode(row.outcome as Uint8Array)
  if (row.state === 'done') return value
  const err = errorFromWire(value)
  throw err instanceof MeshError ? err : new MeshError('TASK_FAILED', String(value))
}

/** The progress note a holder sends when it journals a chord: its submitter may then ask again after the holder restarts. */
export const JOURNALED_NOTE = { chord: 'journaled' } as const

function isJournaledNote (data: unknown): boolean {
  return (data as { chord?: unknown } | null)?.chord === JOURNALED_NOTE.chord
}

/**
 * The submitter's side of a chord: ask its holder (`ask`). If the holder said
 * it journaled the chord and then was lost (killed, restarting), wait for it
 * to be `back` in the mesh and ask again with the same chord id: it answers
 * with the chord's outcome (it resumed the chord, or had finished it). Given
 * up after CHORD_REJOIN_MS without it: the loss is the answer, and the Job's
 * rules decide whether the chord is held again elsewhere.
 */
export async function askHolder (ask: (onProgress: (data: unknown) => void) => Promise<unknown>, o: { back: () => boolean, deadline: number, signal: AbortSignal }): Promise<unknown> {
  let journaled = false
  const onProgress = (data: unknown): void => { if (isJournaledNote(data)) journaled = true }
  const giveUp = performance.now() + CHORD_REJOIN_MS
  for (;;) {
    try {
      return await ask(onProgress)
    } catch (err) {
      if (!journaled || retryKind(err) !== 'lost') throw err
      do {
        if (o.signal.aborted || performance.now() > Math.min(giveUp, o.deadline)) throw err
        await new Promise(resolve => setTimeout(resolve, CHORD_REJOIN_PAUSE_MS))
      } while (!o.back())
    }
  }
}
