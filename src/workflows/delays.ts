import { logger } from '@libp2p/logger'
import { DELAY_NOTICE_TIMEOUT_MS, DELAYS_KEPT_MS } from '../constants.js'
import { BadArgumentError, UnknownTaskError } from '../errors.js'
import type { RouteHandler } from '../execution/routes.js'
import type { CallOptions } from '../rpc/channel.js'
import type { WorkflowStore } from '../store/workflow-store.js'

const log = logger('mesh:delays')

/** The routing table's namespace of the delayed-job calls. */
export const DELAY_NAMESPACE = '@mesh/delay'
export const DELAY_ROUTES = {
  /** provider → its replica: job `id` may not start before `eta` (epoch ms). */
  hold: '@mesh/delay/hold'
} as const

export interface DelayComponents {
  call: (peer: string, name: string, args: unknown[], options: CallOptions) => Promise<unknown>
}

/**
 * When detached jobs with a countdown or eta may start (src/results holds
 * the jobs themselves; this keeps only their start times). The holder of a
 * job keeps its eta in the workflow tables beside its journal row, and tells
 * the job's replica, so that a restart of the holder, or the replica taking
 * over, still waits for it. A job whose eta is still kept has not started:
 * it is safe to start after a restart even when it is not idempotent. The
 * mark goes when the job starts. Without a store (a node with no journal)
 * etas are kept in memory.
 */
export class Delays {
  private store?: WorkflowStore
  private readonly memory = new Map<string, number>()

  constructor (private readonly c: DelayComponents) {}

  attach (store?: WorkflowStore): void { this.store = store }

  /** Keep `eta` for job `id` here, and at its replica (if any) before the job is answered as accepted. */
  async hold (id: string, eta: number, replica: string | null): Promise<void> {
    this.keep(id, eta)
    if (replica === null) return
    await this.c.call(replica, DELAY_ROUTES.hold, [id, eta], { timeout: DELAY_NOTICE_TIMEOUT_MS }).catch((err: any) => {
      // The replica then runs the job at once if it takes over before the eta: said in docs/workflows.md.
      log('replica %s did not keep the eta of %s: %s', replica, id, err.message)
    })
  }

  /** The eta of job `id` if it has one and has not started here. */
  due (id: string): number | undefined {
    return this.store !== undefined ? this.store.delay(id) : this.memory.get(id)
  }

  /** Job `id` starts now: forget its eta (a restart after this treats it as any job that ran). */
  started (id: string): void {
    if (this.store !== undefined) this.store.dropDelay(id)
    else this.memory.delete(id)
  }

  private keep (id: string, eta: number): void {
    if (!Number.isSafeInteger(eta)) throw new BadArgumentError(`eta must be epoch ms, got ${String(eta)}`)
    if (this.store === undefined) { this.memory.set(id, eta); return }
    this.store.putDelay(id, eta)
    // A replica's marks of jobs its provider ran are never dropped by a start here: forget them long after their time.
    this.store.pruneDelays(Date.now() - DELAYS_KEPT_MS)
  }

  readonly handle: RouteHandler = async (call) => {
    if (call.task !== DELAY_ROUTES.hold) throw new UnknownTaskError(`this node has no delay call "${call.task}"`)
    const [id, eta] = call.args
    if (typeof id !== 'string') throw new BadArgumentError('delay hold: a job id is required')
    this.keep(id, eta as number)
    return null
  }
}

/** The epoch ms a submit's countdown (ms from now) or eta (a Date or epoch ms) names, if any; BAD_ARGUMENT if it names none. */
export function etaOf (options: { countdown?: number, eta?: Date | number }): number | undefined {
  if (options.countdown !== undefined && options.eta !== undefined) throw new BadArgumentError('give countdown or eta, not both')
  if (options.countdown !== undefined) {
    if (!(options.countdown >= 0) || !Number.isFinite(options.countdown)) throw new BadArgumentError(`countdown must be a number of ms ≥ 0, got ${String(options.countdown)}`)
    return Date.now() + Math.round(options.countdown)
  }
  if (options.eta === undefined) return undefined
  const at = options.eta instanceof Date ? options.eta.getTime() : options.eta
  if (!Number.isFinite(at)) throw new BadArgumentError(`eta must be a Date or epoch ms, got ${String(options.eta)}`)
  return Math.round(at)
}

/** `--eta` of the CLI: an ISO 8601 time (`2026-12-02T04:00:00Z`) → epoch ms; anything else is BAD_ARGUMENT. */
export function parseEta (text: string): number {
  const at = Date.parse(text)
  if (!Number.isFinite(at)) throw new BadArgumentError(`--eta ${JSON.stringify(text)} does not parse: use an ISO 8601 time, e.g. 2026-12-02T04:00:00Z`)
  return at
}
