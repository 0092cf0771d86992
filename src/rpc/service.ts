import type { ComponentLogger, Connection, Logger, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { RPC_MAX_INBOUND_STREAMS, RPC_MAX_OUTBOUND_STREAMS, RPC_PROTOCOL } from '../constants.js'
import { BusyError, PeerGoneError } from '../errors.js'
import { RpcChannel, type CallOptions, type IncomingCall } from './channel.js'
import type { LeaseOptions } from './lease.js'
import type { ArgumentLimits } from '../security/wire.js'

/** The libp2p components the RPC service uses. */
export interface RpcComponents {
  logger: ComponentLogger
  registrar: Registrar
  connectionManager: ConnectionManager
}

/** What the node does with a call that arrived from `peer`. */
export type Dispatcher = (peer: PeerId, call: IncomingCall) => unknown

export interface RpcServiceInit {
  maxFrameBytes: number
  maxInFlightPerPeer: number
  dispatch: Dispatcher
  /** Heartbeats and lease watching on every channel; false turns them off. */
  lease?: LeaseOptions | false
  /** Checked before each call from a peer is counted or run; throws to refuse it (allow-list, rate limit). */
  admit?: (peer: PeerId, call: IncomingCall) => void
  /** Limits on the arguments peers send, checked on the raw frame. */
  argLimits?: ArgumentLimits
}

/**
 * Keeps one outbound RPC channel per peer for this node's calls, and serves
 * the channels peers open to it. The in-flight limit is per peer, so one
 * flooding peer is answered BUSY while others are still served.
 */
export class RpcService {
  private readonly outbound = new Map<string, Promise<RpcChannel>>()
  private readonly inbound = new Set<RpcChannel>()
  private readonly inFlight = new Map<string, number>()
  private readonly log: Logger

  constructor (private readonly components: RpcComponents, private readonly init: RpcServiceInit) {
    this.log = components.logger.forComponent('mesh:rpc')
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(RPC_PROTOCOL, (stream, connection) => { this.accept(stream, connection) }, {
      maxInboundStreams: RPC_MAX_INBOUND_STREAMS,
      maxOutboundStreams: RPC_MAX_OUTBOUND_STREAMS
    })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(RPC_PROTOCOL).catch(() => {})
    for (const channel of this.inbound) channel.stream.abort(new Error('node stopping'))
    for (const pending of this.outbound.values()) {
      pending.then((channel) => { channel.stream.abort(new Error('node stopping')) }, () => {})
    }
    this.outbound.clear()
    this.inbound.clear()
  }

  /** Call `task` on `peer` over the shared channel, opening it if needed. */
  async call (peer: PeerId, task: string, args: unknown[], options: CallOptions = {}): Promise<unknown> {
    const channel = await this.channelTo(peer, options.signal)
    return channel.call(task, args, options)
  }

  private async channelTo (peer: PeerId, signal?: AbortSignal): Promise<RpcChannel> {
    const key = peer.toString()
    let pending = this.outbound.get(key)
    if (pending !== undefined) {
      const channel = await pending
      if (channel.isOpen) return channel
      if (this.outbound.get(key) === pending) this.outbound.delete(key)
      return this.channelTo(peer, signal)
    }
    pending = (async () => {
      try {
        const stream = await this.components.connectionManager.openStream(peer, RPC_PROTOCOL, { signal })
        return new RpcChannel(stream, {
          maxFrameBytes: this.init.maxFrameBytes,
          argLimits: this.init.argLimits,
          handler: (call) => this.dispatch(peer, call),
          onClose: () => { if (this.outbound.get(key) === pending) this.outbound.delete(key) },
          lease: this.init.lease,
          onLeaseLapsed: () => { this.leaseLapsed(peer) }
        })
      } catch (err: any) {
        this.outbound.delete(key)
        throw new PeerGoneError(`cannot open a call stream to ${key}: ${err.message}`)
      }
    })()
    this.outbound.set(key, pending)
    return pending
  }

  private accept (stream: Stream, connection: Connection): void {
    const peer = connection.remotePeer
    const channel: RpcChannel = new RpcChannel(stream, {
      maxFrameBytes: this.init.maxFrameBytes,
      argLimits: this.init.argLimits,
      handler: (call) => this.dispatch(peer, call),
      onClose: () => { this.inbound.delete(channel) },
      lease: this.init.lease,
      onLeaseLapsed: () => { this.leaseLapsed(peer) }
    })
    this.inbound.add(channel)
    this.log('serving calls from %p', peer)
  }

  /**
   * A peer that lets a lease lapse is treated as dead: its connections are
   * closed, so the registry drops its record and no caller picks it (nor
   * hangs dialing it) until it comes back and reconnects.
   */
  private leaseLapsed (peer: PeerId): void {
    this.log('lease of %p lapsed: closing its connections', peer)
    for (const connection of this.components.connectionManager.getConnections(peer)) connection.abort(new PeerGoneError('lease lapsed'))
  }

  private dispatch (peer: PeerId, call: IncomingCall): unknown {
    this.init.admit?.(peer, call)
    const key = peer.toString()
    const count = this.inFlight.get(key) ?? 0
    if (count >= this.init.maxInFlightPerPeer) {
      throw new BusyError(`peer has ${count} calls in flight here, the limit is ${this.init.maxInFlightPerPeer}`)
    }
    const outcome = this.init.dispatch(peer, call)
    if (!(outcome instanceof Promise)) return outcome
    this.inFlight.set(key, count + 1)
    const done = (): void => {
      const n = (this.inFlight.get(key) ?? 1) - 1
      if (n <= 0) this.inFlight.delete(key)
      else this.inFlight.set(key, n)
    }
    outcome.then(done, done)
    return outcome
  }
}
