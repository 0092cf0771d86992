import { LEASE_RENEW_MS, LEASE_TIMEOUT_MS } from '../constants.js'

/**
 * Leases on an RPC channel, instead of a visibility timeout.
 *
 * The side that serves calls on a channel renews the lease of every call it
 * holds with one heartbeat per `renewMs` (one frame per channel, not per
 * call). The side that waits on calls watches the channel: any bytes at all
 * (a heartbeat, a progress event, a result) prove the peer is alive and
 * reading its loop. If nothing arrives for `timeoutMs` while calls are
 * outstanding, the lease lapses and every call on the channel is failed as
 * PEER_GONE, so the caller re-dispatches elsewhere.
 *
 * Why our own envelope rather than libp2p ping: a ping is answered by the
 * peer's libp2p stack on a separate stream, so it proves the process is
 * alive, not that this channel's handler is; a heartbeat on the channel
 * itself shares its fate (stream reset, stalled writes, blocked loop). It
 * costs nothing on the round trip: no frame is added to a call, the caller
 * counts incoming chunks, and the timer runs per channel.
 */
export interface LeaseOptions {
  /** Heartbeat interval while serving; default LEASE_RENEW_MS. */
  renewMs?: number
  /** Silence after which a waiting caller gives the peer up; default LEASE_TIMEOUT_MS. */
  timeoutMs?: number
}

export interface LeaseHooks {
  /** Calls this side serves on the channel. */
  serving: () => number
  /** Calls this side waits on over the channel. */
  waiting: () => number
  /** A counter that grows whenever bytes arrive from the peer. */
  heard: () => number
  /** Send one heartbeat. */
  beat: () => void
  /** The peer has been silent for a whole lease while we wait on it. */
  lapse: (silentMs: number) => void
}

export class LeaseKeeper {
  private readonly timer: NodeJS.Timeout
  private readonly renewMs: number
  private readonly timeoutMs: number
  private lastTick = performance.now()
  private lastHeard = performance.now()
  private lastCount = -1

  constructor (options: LeaseOptions, private readonly hooks: LeaseHooks) {
    this.renewMs = options.renewMs ?? LEASE_RENEW_MS
    this.timeoutMs = options.timeoutMs ?? LEASE_TIMEOUT_MS
    this.timer = setInterval(() => { this.tick() }, this.renewMs)
    this.timer.unref()
  }

  private tick (): void {
    const now = performance.now()
    // Our own loop was blocked: the silence may be ours, not the peer's.
    const stalled = now - this.lastTick > this.renewMs * 3
    this.lastTick = now
    if (this.hooks.serving() > 0) this.hooks.beat()
    const count = this.hooks.heard()
    if (count !== this.lastCount || stalled || this.hooks.waiting() === 0) {
      this.lastCount = count
      this.lastHeard = now
      return
    }
    if (now - this.lastHeard >= this.timeoutMs) {
      this.stop()
      this.hooks.lapse(Math.round(now - this.lastHeard))
    }
  }

  stop (): void {
    clearInterval(this.timer)
  }
}
