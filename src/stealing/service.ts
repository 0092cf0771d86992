import { STEAL_CHUNKS_PER_NODE, STEAL_MAX_CHUNKS } from '../constants.js'
import { ConfigError, UnknownTaskError } from '../errors.js'
import type { IncomingCall } from '../rpc/channel.js'
import type { LoadedTask } from '../tasks/types.js'
import { Owner } from './owner.js'
import { StealPolicy } from './policy.js'
import { STEAL_ROUTES, type OfferRequest, type StealRequest } from './protocol.js'
import { Thief } from './thief.js'
import type { StealHost, StealOptions } from './types.js'

const ROUTE_NAMES = new Set<string>(Object.values(STEAL_ROUTES))

/**
 * Decentralised work stealing. The node that accepts a heavy call of a
 * splittable task owns the job (owner.ts): it splits it into chunks kept in
 * a deque, and its own workers take chunks from the front. It tells the
 * peers serving the task at once (`@mesh/offer`) and advertises its
 * `stealable` count in its registry record; an idle node (thief.ts) picks a
 * random loaded peer and asks it for work; the owner hands over about half
 * of what is left, from the back, and only chunks nobody has started, when
 * moving them pays (policy.ts). There is no scheduler: each owner hands out
 * only its own jobs, and each idle node decides alone whom to ask.
 */
export class StealService {
  private readonly owner: Owner
  private readonly thief: Thief

  constructor (private readonly host: StealHost, private readonly options: StealOptions = {}) {
    const t = options.throttle ?? 1
    if (!(t > 0 && t <= 1)) throw new ConfigError(`throttle must be in (0, 1], got ${String(options.throttle)}`)
    if (options.chunks !== undefined && (!Number.isSafeInteger(options.chunks) || options.chunks < 1)) {
      throw new ConfigError(`split chunks must be a positive integer, got ${String(options.chunks)}`)
    }
    this.thief = new Thief(host, t)
    this.owner = new Owner(host, options, new StealPolicy(), t, () => { this.thief.maybeSteal() })
    host.registry.on('change', this.onRegistryChange)
  }

  private readonly onRegistryChange = (peer: string): void => {
    this.thief.forgetRefusal(peer)
    this.thief.maybeSteal()
  }

  /** Does this service answer the call name (a protocol call)? */
  static matches (name: string): boolean {
    return name.startsWith('@mesh/') && ROUTE_NAMES.has(name)
  }

  /** Serve one of the protocol calls. */
  handle (call: IncomingCall, from: string): unknown {
    const arg = call.args[0] as any
    switch (call.task) {
      case STEAL_ROUTES.steal: return this.owner.onSteal(arg as StealRequest, from)
      case STEAL_ROUTES.fetch: return this.owner.onFetch(arg, from)
      case STEAL_ROUTES.work: return this.thief.onWork(call, from)
      case STEAL_ROUTES.reclaim: return this.thief.onReclaim(arg, from)
      case STEAL_ROUTES.end: return this.thief.onEnd(arg)
      case STEAL_ROUTES.offer: return this.thief.onOffer(arg as OfferRequest, from)
    }
    throw new UnknownTaskError(`unknown protocol call ${call.task}`)
  }

  /** Chunks of this node's jobs not yet handed out or started, by task: the registry's `stealable` hint. */
  stealable (): Record<string, number> | undefined {
    return this.owner.stealable()
  }

  /** Jobs this node owns now, and chunk batches it runs for others (for tests and `mesh peers`). */
  get activity (): { owned: number, borrowed: number } {
    return { owned: this.owner.owned, borrowed: this.thief.borrowedCount }
  }

  stop (): void {
    this.thief.stop()
    this.host.registry.off('change', this.onRegistryChange)
    this.owner.stop()
  }

  /** If this node has idle workers, ask a random loaded peer for chunks. */
  maybeSteal (): void {
    this.thief.maybeSteal()
  }

  /**
   * Run `call` as a split job if the task is splittable and the call heavy
   * enough; undefined means "run it whole as usual".
   */
  tryRun (task: LoadedTask, args: unknown[], call: IncomingCall, from: string): Promise<unknown> | undefined {
    const spec = task.split
    if (spec === undefined || task.module === undefined) return undefined
    const peers = this.host.registry.peers().filter(r => r.tasks.some(t => t.name === task.name)).length
    if (spec.cost(args) < (this.options.threshold ?? spec.threshold)) return undefined
    if (peers === 0 && this.options.splitAlone !== true) return undefined
    const wanted = this.options.chunks ?? Math.min(STEAL_MAX_CHUNKS, STEAL_CHUNKS_PER_NODE * (peers + 1))
    return this.owner.run(task, spec, args, call, wanted, peers, from)
  }
}
