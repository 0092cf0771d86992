import { ForbiddenError, RateLimitedError } from '../errors.js'
import { RateLimiter } from './rate-limit.js'

export interface CallGuardInit {
  /** Peer ids that may call this node; undefined lets every peer that can connect call. */
  allow?: Set<string>
  rateLimitPerSecond: number
  rateLimitBurst: number
}

/**
 * Decides, before a call from a peer is counted or run, whether this node
 * takes it: the peer must be on the allow-list (when there is one) and
 * within its call rate. Refusals are coded errors sent back on the call; the
 * stream and the peer's other calls are untouched.
 */
export class CallGuard {
  private readonly limiter: RateLimiter

  constructor (private readonly init: CallGuardInit) {
    this.limiter = new RateLimiter(init.rateLimitPerSecond, init.rateLimitBurst)
  }

  /** The allow-list, or undefined when every connected peer may call. */
  get allowed (): ReadonlySet<string> | undefined { return this.init.allow }

  admit (peer: string): void {
    if (this.init.allow !== undefined && !this.init.allow.has(peer)) {
      throw new ForbiddenError(`peer ${peer} is not on this node's allow-list`)
    }
    if (!this.limiter.take(peer)) {
      throw new RateLimitedError(`peer ${peer} is over this node's rate limit of ${this.init.rateLimitPerSecond} calls/s (burst ${this.init.rateLimitBurst})`)
    }
  }
}
