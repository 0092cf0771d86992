import { MAX_EVENT_SUBSCRIBERS } from '../constants.js'
import { BadArgumentError, BusyError, ForbiddenError, UnknownTaskError } from '../errors.js'
import type { IncomingCall } from '../rpc/channel.js'
import type { Activity } from './activity.js'
import type { TaskEvent } from './types.js'

/**
 * Task events travel the mesh as internal RPC calls on the channel every
 * pair of nodes already has: a subscriber makes one long-lived
 * `@mesh/events/subscribe` call to each node it watches; the node answers with a
 * snapshot (jobs running, recent, totals) and then one progress frame per
 * event, until the subscriber cancels the call or the connection drops.
 * Nothing is flooded: a node sends events only to those who asked, at most
 * MAX_EVENT_SUBSCRIBERS of them. The admin calls (cancel a job, drain the
 * node) are refused (FORBIDDEN) unless the caller is in the node's `admins`.
 */
export const EVENT_NAMESPACE = '@mesh/events'
export const EVENT_ROUTES = {
  subscribe: '@mesh/events/subscribe',
  cancel: '@mesh/events/cancel',
  drain: '@mesh/events/drain'
} as const

/** Frames of an `@mesh/events` call, as progress data: the snapshot first, then batches of events. */
export type EventFrame = { snapshot: ReturnType<Activity['snapshot']> } | { events: TaskEvent[] }

export interface EventServiceHost {
  activity: Activity
  /** Stop taking new work (MeshNode.drain). */
  drain: () => Promise<boolean>
  /** Peer ids allowed to cancel jobs and drain this node remotely; none by default. */
  admins: ReadonlySet<string>
}

export class EventService {
  private readonly closers = new Set<() => void>()

  constructor (private readonly host: EventServiceHost) {}

  handle (call: IncomingCall, from: string): unknown {
    switch (call.task) {
      case EVENT_ROUTES.subscribe: return this.subscribe(call)
      case EVENT_ROUTES.cancel: {
        this.admin(from)
        const id = (call.args[0] as { id?: unknown } | undefined)?.id
        if (typeof id !== 'string') throw new BadArgumentError('cancel needs {id: string}')
        return this.host.activity.cancel(id, `cancelled by ${from}`)
      }
      case EVENT_ROUTES.drain:
        this.admin(from)
        void this.host.drain()
        return true
    }
    throw new UnknownTaskError(`unknown protocol call ${call.task}`)
  }

  private admin (from: string): void {
    if (!this.host.admins.has(from)) throw new ForbiddenError('this node does not take admin calls from your peer id (see --admin)')
  }

  private async subscribe (call: IncomingCall): Promise<boolean> {
    if (this.closers.size >= MAX_EVENT_SUBSCRIBERS) throw new BusyError(`this node already has ${MAX_EVENT_SUBSCRIBERS} event subscribers`)
    const { activity } = this.host
    call.progress({ snapshot: activity.snapshot() } satisfies EventFrame)
    // Events leave in one frame per turn of the event loop, not one each; a call
    // that starts and ends within the same turn is sent as its end alone (the
    // end event carries its start time and duration): half the frames for fast calls.
    let batch: TaskEvent[] = []
    let started = new Map<string, number>()
    let timer: NodeJS.Immediate | undefined
    const flush = (): void => {
      timer = undefined
      const events = batch.filter(e => e !== undefined)
      batch = []
      started = new Map()
      if (events.length > 0) call.progress({ events } satisfies EventFrame)
    }
    const unsubscribe = activity.subscribe((event) => {
      if (event.type === 'started') started.set(event.id, batch.length)
      else if (event.type === 'succeeded' || event.type === 'failed' || event.type === 'cancelled') {
        const at = started.get(event.id)
        if (at !== undefined) { delete batch[at]; started.delete(event.id) }
      }
      batch.push(event)
      timer ??= setImmediate(flush)
    })
    return new Promise<boolean>((resolve) => {
      const close = (): void => {
        if (timer !== undefined) { clearImmediate(timer); flush() }
        unsubscribe()
        this.closers.delete(close)
        call.signal.removeEventListener('abort', close)
        resolve(true)
      }
      this.closers.add(close)
      if (call.signal.aborted) close()
      else call.signal.addEventListener('abort', close, { once: true })
    })
  }

  /** End every subscription (the node is stopping). */
  stop (): void {
    for (const close of [...this.closers]) close()
  }
}
