import type { Stream } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { encodeFramed } from '../codec.js'
import { ATTACH_MIN_BYTES, MAX_TIMER_MS } from '../constants.js'
import { BadFrameError, CancelledError, FrameTooLargeError, PeerGoneError, TaskFailedError, TimeoutError, UnknownTaskError, errorFromWire, errorToWire } from '../errors.js'
import { AttachedFrame, FrameDecoder, concatFrames, type Frame } from './framing.js'
import { LazyAbort } from './lazy-abort.js'
import { LeaseKeeper, type LeaseOptions } from './lease.js'
import { Kind, isMessage, type CallMeta, type Message } from './messages.js'
import { decodeRpcFrame, refusedRequestId, type ArgumentLimits } from '../security/wire.js'

const log = logger('mesh:rpc')

/** A call that arrived from the peer, as the dispatcher sees it. */
export interface IncomingCall {
  task: string
  args: unknown[]
  meta: CallMeta
  /** Aborted when the caller cancels or the stream closes. */
  signal: AbortSignal
  /** Send a progress event to the caller. */
  progress: (data: unknown) => void
}

export type CallHandler = (call: IncomingCall) => unknown

export interface CallOptions {
  signal?: AbortSignal
  timeout?: number
  onProgress?: (data: unknown) => void
  /** The caller's job id, sent in the request meta. */
  job?: string
  /** Sent in the request meta: 0..9, higher first in the provider's queue. */
  priority?: number
  /** Ask for a split job's result as streamed parts (src/stealing/parts.ts); the caller assembles them. */
  parts?: boolean
  /** With `parts`: the token of this attempt's inbox, for parts thieves send straight here. */
  inbox?: string
  /**
   * Receives a function that abandons the call and cancels it on the peer,
   * as aborting `signal` does, without an AbortSignal per call (creating one
   * and listening on it cost ~10 % of an `add` round trip on Node 20).
   */
  cancelHook?: (abandon: () => void) => void
}

interface PendingCall {
  resolve: (value: unknown) => void
  reject: (err: Error) => void
  onProgress?: (data: unknown) => void
  cleanup?: () => void
  /** performance.now() past which the call fails TIMEOUT, and what the error says. */
  deadline?: number
  task?: string
  timeout?: number
}

export interface RpcChannelInit {
  maxFrameBytes: number
  /** Serve requests that arrive on this stream; without it requests are refused. */
  handler?: CallHandler
  /** Called once, when the stream is gone for whatever reason. */
  onClose?: () => void
  /** Heartbeats and lease watching (src/rpc/lease.ts); false turns both off. */
  lease?: LeaseOptions | false
  /** The peer was silent for a whole lease while we waited on it; the channel is already closed. */
  onLeaseLapsed?: () => void
  /** Limits on the requests the peer sends, checked before they are decoded (see src/security/wire.ts). */
  argLimits?: ArgumentLimits
}

/**
 * One long-lived stream to one peer carrying many concurrent calls,
 * multiplexed by request id. Stream-per-call costs 1.5–2.3 ms of protocol
 * negotiation; a reused stream costs 0.2–0.4 ms. Frames written in the same
 * tick leave in one write, since each send() is otherwise its own Yamux frame,
 * Noise encryption and syscall.
 */
export class RpcChannel {
  private readonly decoder: FrameDecoder<Frame>
  private readonly pending = new Map<number, PendingCall>()
  private readonly serving = new Map<number, LazyAbort>()
  private nextId = 1
  private outbox: Uint8Array[] = []
  private flushScheduled = false
  private closed = false
  private heard = 0
  private readonly lease?: LeaseKeeper
  private remoteEnded = false
  private timeoutTimer?: NodeJS.Timeout
  private timeoutsAt = Infinity

  constructor (readonly stream: Stream, private readonly init: RpcChannelInit) {
    this.decoder = new FrameDecoder<Frame>(init.maxFrameBytes, true)
    // Frames are consumed as they arrive, so the stream never buffers more
    // than one chunk; the decoder enforces the frame limit itself.
    stream.maxReadBufferLength = init.maxFrameBytes + 1024
    stream.addEventListener('message', (evt) => { this.onData(evt.data) })
    stream.addEventListener('close', () => { this.onClosed() })
    stream.addEventListener('drain', () => { this.flush() })
    if (init.lease !== false) {
      this.lease = new LeaseKeeper(init.lease ?? {}, {
        // A request still arriving is being served: without a beat, a caller
        // whose big request takes longer than a lease to cross gives us up.
        serving: () => this.serving.size + (this.decoder.receiving ? 1 : 0),
        // Nor is the peer silent while our own request is still leaving.
        waiting: () => this.stream.writableNeedsDrain ? 0 : this.pending.size,
        heard: () => this.heard,
        beat: () => { this.send([Kind.Heartbeat, 0]) },
        lapse: (silentMs) => { this.leaseLapsed(silentMs) }
      })
    }
    stream.addEventListener('remoteCloseWrite', () => { this.onRemoteEnded() })
  }

  get isOpen (): boolean { return !this.closed }

  /** Calls this side is waiting on. */
  get inFlight (): number { return this.pending.size }

  call (task: string, args: unknown[], options: CallOptions = {}): Promise<unknown> {
    if (this.closed) return Promise.reject(new PeerGoneError('the connection to the peer is closed'))
    if (options.signal?.aborted === true) return Promise.reject(new CancelledError('the call was cancelled'))
    const id = this.nextId++
    let meta: CallMeta | undefined = options.timeout !== undefined ? { timeout: options.timeout } : undefined
    if (options.job !== undefined) meta = { ...meta, job: options.job }
    if (options.priority !== undefined) meta = { ...meta, priority: options.priority }
    if (options.parts === true) meta = { ...meta, parts: true, inbox: options.inbox }
    return new Promise((resolve, reject) => {
      const entry: PendingCall = { resolve, reject, onProgress: options.onProgress }
      const onAbort = (): void => { this.abandon(id, new CancelledError('the call was cancelled')) }
      if (options.timeout !== undefined) {
        entry.deadline = performance.now() + options.timeout
        entry.task = task
        entry.timeout = options.timeout
        this.armTimeouts(entry.deadline)
      }
      if (options.signal !== undefined) {
        options.signal.addEventListener('abort', onAbort, { once: true })
        entry.cleanup = () => { options.signal?.removeEventListener('abort', onAbort) }
      }
      this.pending.set(id, entry)
      this.send([Kind.Request, id, task, args, meta])
      // After the request: an abandon called at once still sends Cancel after it.
      options.cancelHook?.(onAbort)
    })
  }

  /** Close gracefully: calls already sent may still be answered. */
  async close (): Promise<void> {
    await this.stream.close().catch(() => { this.stream.abort(new Error('close failed')) })
  }

  /** Give up a call here and tell the peer to stop it. */
  private abandon (id: number, err: Error): void {
    if (!this.pending.has(id)) return
    this.settle(id)?.reject(err)
    this.send([Kind.Cancel, id])
  }

  /**
   * One timer per channel, at the earliest deadline of the calls waiting:
   * a timer per call (set, then cleared by nearly every answer) was a
   * measurable part of a small call. Calls mostly share one timeout, so
   * their deadlines come in order and the timer is rarely moved.
   */
  private armTimeouts (at: number): void {
    if (at >= this.timeoutsAt) return
    clearTimeout(this.timeoutTimer)
    this.timeoutsAt = at
    this.timeoutTimer = setTimeout(() => { this.expireCalls() }, Math.min(MAX_TIMER_MS, Math.max(0, at - performance.now())))
    // Armed past its calls' answers, so it must not hold a process open by itself (the connection does while it lives).
    this.timeoutTimer.unref()
  }

  private expireCalls (): void {
    this.timeoutsAt = Infinity
    this.timeoutTimer = undefined
    const now = performance.now()
    let next = Infinity
    for (const [id, entry] of this.pending) {
      if (entry.deadline === undefined) continue
      if (entry.deadline <= now) this.abandon(id, new TimeoutError(`${String(entry.task)} did not finish within ${String(entry.timeout)} ms`))
      else if (entry.deadline < next) next = entry.deadline
    }
    if (next < Infinity) this.armTimeouts(next)
  }

  private settle (id: number): PendingCall | undefined {
    const entry = this.pending.get(id)
    if (entry === undefined) return undefined
    this.pending.delete(id)
    entry.cleanup?.()
    return entry
  }

  private send (message: Message): void {
    if (this.closed) return
    let pieces: Uint8Array[]
    try {
      // Arguments are copied as they are encoded: the caller may change its arrays once call() returns.
      pieces = encodeFramed(message, message[0] === Kind.Request)
    } catch (err: any) {
      // A value msgpack cannot encode (a function, a symbol): fail that call only.
      if (message[0] === Kind.Result) {
        this.send([Kind.Error, message[1], new TaskFailedError(`result cannot be sent: ${err.message}`).toWire()])
        return
      }
      if (message[0] === Kind.Request) {
        this.settle(message[1])?.reject(new BadFrameError(`arguments cannot be sent: ${err.message}`))
        return
      }
      throw err
    }
    let bytes = 0
    for (const p of pieces) bytes += p.byteLength
    if (bytes - 4 > this.init.maxFrameBytes) {
      const tooBig = new FrameTooLargeError(`a ${bytes}-byte frame is over the ${this.init.maxFrameBytes}-byte limit`).toWire()
      if (message[0] === Kind.Result) { this.send([Kind.Error, message[1], tooBig]); return }
      if (message[0] === Kind.Request) { this.settle(message[1])?.reject(errorFromWire(tooBig)); return }
    }
    for (const p of pieces) this.outbox.push(p)
    if (!this.flushScheduled) {
      this.flushScheduled = true
      queueMicrotask(() => { this.flushScheduled = false; this.flush() })
    }
  }

  /** Write the outbox: runs of small pieces joined into one write, attachments written from their own memory. */
  private flush (): void {
    if (this.closed || this.outbox.length === 0 || this.stream.writableNeedsDrain) return
    const pieces = this.outbox
    this.outbox = []
    try {
      let run = 0
      for (let i = 0; i <= pieces.length; i++) {
        if (i < pieces.length && pieces[i].byteLength < ATTACH_MIN_BYTES) continue
        if (i > run) this.stream.send(concatFrames(pieces.slice(run, i)))
        if (i < pieces.length) this.stream.send(pieces[i])
        run = i + 1
      }
    } catch (err: any) {
      log.error('send failed: %s', err.message)
      this.stream.abort(err)
    }
  }

  private onData (data: Parameters<FrameDecoder['push']>[0]): void {
    this.heard++
    let frames: Frame[]
    try {
      frames = this.decoder.push(data)
    } catch (err: any) {
      this.protocolViolation(err)
      return
    }
    for (const frame of frames) {
      let message: unknown
      const body = frame instanceof AttachedFrame ? frame.body : frame
      try {
        message = frame instanceof AttachedFrame
          ? decodeRpcFrame(frame.body, this.init.argLimits, frame.attachments, frame.byteLength)
          : decodeRpcFrame(frame, this.init.argLimits)
      } catch (err: any) {
        const refused = refusedRequestId(err, body)
        if (refused !== undefined) { this.send([Kind.Error, refused, errorToWire(err)]); continue }
        this.protocolViolation(new BadFrameError(`undecodable frame: ${err.message}`))
        return
      }
      if (!isMessage(message)) {
        this.protocolViolation(new BadFrameError('frame is not a mesh RPC message'))
        return
      }
      try {
        this.onMessage(message)
      } catch (err: any) {
        // An exception escaping a stream listener would be uncaught and end the process.
        log.error('handling a %d frame failed: %s', message[0], err.message)
      }
    }
  }

  /** A peer that breaks the protocol loses this stream, and only this stream. */
  private protocolViolation (err: Error): void {
    log('resetting stream: %s', err.message)
    this.stream.abort(err)
    this.onClosed()
  }

  private onMessage (m: Message): void {
    switch (m[0]) {
      case Kind.Request: this.serve(m[1], m[2], m[3], m[4] ?? {}); break
      case Kind.Result: this.settle(m[1])?.resolve(m[2]); break
      case Kind.Error: this.settle(m[1])?.reject(errorFromWire(m[2])); break
      case Kind.Cancel: this.serving.get(m[1])?.abort(new CancelledError('the caller cancelled the call')); break
      case Kind.Progress: this.pending.get(m[1])?.onProgress?.(m[2]); break
      case Kind.Heartbeat: break // onData already counted it
    }
  }

  private serve (id: number, task: string, args: unknown[], meta: CallMeta): void {
    // The caller's time limit bounds timers here: a limit that is not a positive number is none, and
    // one past what a timer can hold is clamped (a longer setTimeout fires at once).
    const t = meta.timeout
    if (t !== undefined && !(typeof t === 'number' && t > 0 && t <= MAX_TIMER_MS)) {
      meta = { ...meta, timeout: typeof t === 'number' && t > MAX_TIMER_MS ? MAX_TIMER_MS : undefined }
    }
    const handler = this.init.handler
    if (handler === undefined) {
      this.send([Kind.Error, id, new UnknownTaskError('this stream does not serve calls').toWire()])
      return
    }
    if (this.serving.has(id)) {
      this.send([Kind.Error, id, new BadFrameError(`request id ${id} is already in flight`).toWire()])
      return
    }
    const controller = new LazyAbort()
    this.serving.set(id, controller)
    const call: IncomingCall = {
      task,
      args,
      meta,
      get signal () { return controller.signal },
      progress: (data) => { if (this.serving.has(id)) this.send([Kind.Progress, id, data]) }
    }
    const reply = (message: Message): void => {
      if (this.serving.get(id) !== controller) return
      this.serving.delete(id)
      // A cancelled call's outcome is not wanted; the caller already moved on.
      if (!controller.aborted) this.send(message)
      if (this.remoteEnded) this.closeWhenIdle()
    }
    let outcome: unknown
    try {
      outcome = handler(call)
    } catch (err) {
      reply([Kind.Error, id, errorToWire(err)])
      return
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (value) => { reply([Kind.Result, id, value]) },
        (err) => { reply([Kind.Error, id, errorToWire(err)]) }
      )
    } else {
      reply([Kind.Result, id, outcome])
    }
  }

  /** The peer stopped answering: fail what we wait on (retryable) and drop the stream. */
  private leaseLapsed (silentMs: number): void {
    if (this.closed) return
    log('lease lapsed: peer silent for %d ms with %d calls outstanding', silentMs, this.pending.size)
    this.onClosed(`the peer was silent for ${silentMs} ms: its lease lapsed`)
    this.stream.abort(new PeerGoneError('lease lapsed'))
    this.init.onLeaseLapsed?.()
  }

  /**
   * The peer closed its side for writing: it can send no more requests and no
   * answers to ours. Fail our calls now, answer its calls still running, then
   * close, so a half-closed stream never lingers holding a stream slot.
   */
  private onRemoteEnded (): void {
    this.remoteEnded = true
    for (const id of [...this.pending.keys()]) {
      this.settle(id)?.reject(new PeerGoneError('the peer closed the call stream before it answered'))
    }
    this.closeWhenIdle()
  }

  private closeWhenIdle (): void {
    if (this.closed || this.serving.size > 0) return
    // After the flush already queued for the last answers.
    queueMicrotask(() => { void this.close() })
  }

  private onClosed (reason = 'the connection to the peer closed before it answered'): void {
    if (this.closed) return
    this.closed = true
    this.lease?.stop()
    clearTimeout(this.timeoutTimer)
    this.outbox = []
    for (const id of [...this.pending.keys()]) {
      this.settle(id)?.reject(new PeerGoneError(reason))
    }
    for (const controller of this.serving.values()) controller.abort(new PeerGoneError('the caller went away'))
    this.serving.clear()
    this.init.onClose?.()
  }
}
