import { createServer, connect, type Server, type Socket } from 'node:net'
import { decode, encode } from '../src/codec.js'
import { FrameDecoder, encodeFrame } from '../src/rpc/framing.js'
import { Kind, isMessage, type Message } from '../src/rpc/messages.js'
import { DEFAULT_MAX_FRAME_BYTES } from '../src/constants.js'
import { add, factorial } from '../src/tasks/builtins.js'
import bulkTasks from './bulk-tasks.js'

/**
 * The floor: plain Node TCP request/response with mesh's own framing (4-byte
 * big-endian length + msgpackr envelope arrays) and the same per-microtask
 * write batching, but no libp2p, no Noise, no Yamux, no registry, no
 * validation and no worker threads. Nothing can be faster on this machine
 * with this codec, so each mesh figure is reported as a multiple of it.
 */

/** One framed socket: frames out (batched per microtask), frames in. */
class FramedSocket {
  private readonly decoder = new FrameDecoder(DEFAULT_MAX_FRAME_BYTES)
  private outbox: Uint8Array[] = []
  private scheduled = false

  constructor (readonly socket: Socket, onMessage: (m: Message) => void) {
    socket.setNoDelay(true)
    socket.on('data', (chunk) => {
      for (const frame of this.decoder.push(chunk)) {
        const m = decode(frame)
        if (!isMessage(m)) { socket.destroy(new Error('not a message')); return }
        onMessage(m)
      }
    })
  }

  send (m: Message): void {
    this.outbox.push(encodeFrame(encode(m)))
    if (this.scheduled) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      const frames = this.outbox
      this.outbox = []
      this.socket.write(frames.length === 1 ? frames[0] : Buffer.concat(frames))
    })
  }
}

const FLOOR_TASKS: Record<string, (...args: any[]) => unknown> = {
  add: add.run,
  factorial: factorial.run,
  ...Object.fromEntries(Object.entries(bulkTasks).map(([name, t]) => [name, t.run]))
}

/** Serve add, factorial and the bulk tasks (inline, no worker) on 127.0.0.1; resolves with the port. */
export async function startFloorServer (): Promise<{ port: number, server: Server }> {
  const server = createServer((socket) => {
    const peer: FramedSocket = new FramedSocket(socket, (m) => {
      if (m[0] !== Kind.Request) return
      const run = FLOOR_TASKS[m[2]]
      if (run !== undefined) peer.send([Kind.Result, m[1], run(...m[3])])
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  return { port: address.port, server }
}

/** A client of the floor server with calls multiplexed by id, like RpcChannel. */
export class FloorClient {
  private readonly pending = new Map<number, (v: unknown) => void>()
  private nextId = 1
  private constructor (private readonly peer: FramedSocket) {}

  static async connect (port: number): Promise<FloorClient> {
    const socket = connect(port, '127.0.0.1')
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    const client: FloorClient = new FloorClient(new FramedSocket(socket, (m) => {
      if (m[0] !== Kind.Result) return
      const resolve = client.pending.get(m[1])
      client.pending.delete(m[1])
      resolve?.(m[2])
    }))
    return client
  }

  async call (task: string, args: unknown[]): Promise<unknown> {
    const id = this.nextId++
    return new Promise((resolve) => {
      this.pending.set(id, resolve)
      this.peer.send([Kind.Request, id, task, args, undefined])
    })
  }

  close (): void { this.peer.socket.destroy() }
}
