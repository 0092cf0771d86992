import type { ConnectionEncrypter, MessageStream } from '@libp2p/interface'
import { JOIN_SEND_BELOW_BYTES } from '../constants.js'

type EncrypterFactory = (components: any) => ConnectionEncrypter

/** What of a net.Socket this module uses. */
interface Corkable { cork: () => void, uncork: () => void, destroyed: boolean }

/**
 * Noise hands each encrypted message down as a list of chunks (2-byte length,
 * ciphertext), and @libp2p/tcp writes every chunk with its own socket.write:
 * without help, two syscalls and often two TCP segments per message, and on
 * the receiving side an extra read. This wraps the connection Noise writes
 * to so that everything sent in one tick leaves in one writev: the socket is
 * corked at the first send of a tick and uncorked in a microtask, so the
 * chunks are gathered by the kernel and never copied here (joining them cost
 * a copy of every byte sent, bulk payloads included). The same bytes in the
 * same order and the same backpressure answer; only the syscalls change.
 * Small sends (below JOIN_SEND_BELOW_BYTES) with nothing corked are still
 * joined into one buffer, which is cheaper for a few hundred bytes; where no
 * socket can be found under the connection, every send is joined.
 */
export function joinChunks (encrypter: EncrypterFactory): EncrypterFactory {
  return (components) => {
    const inner = encrypter(components)
    // Inherit everything (protocol, capabilities, private state) from the
    // real encrypter; only the connection it is given changes.
    const outer: ConnectionEncrypter = Object.create(inner)
    outer.secureOutbound = async (connection, options) => inner.secureOutbound.call(outer, sendingWhole(connection), options)
    outer.secureInbound = async (connection, options) => inner.secureInbound.call(outer, sendingWhole(connection), options)
    return outer
  }
}

/** The net.Socket under a TCP connection, directly or under a pre-shared-key (pnet) wrapper. */
function socketUnder (connection: unknown): Corkable | undefined {
  let c: any = connection
  for (let depth = 0; depth < 4 && c != null; depth++) {
    if (typeof c.socket?.cork === 'function' && typeof c.socket?.uncork === 'function') return c.socket
    c = c.maConn
  }
  return undefined
}

export function sendingWhole (connection: MessageStream): MessageStream {
  const socket = socketUnder(connection)
  let corked = false
  const uncork = (): void => {
    corked = false
    if (socket !== undefined && !socket.destroyed) socket.uncork()
  }
  const join = (data: Parameters<MessageStream['send']>[0]): boolean => connection.send(data instanceof Uint8Array ? data : data.subarray())
  const send = socket === undefined
    ? join
    : (data: Parameters<MessageStream['send']>[0]): boolean => {
        // Small and nothing corked yet this tick: one joined write is cheapest.
        if (!corked && data.byteLength < JOIN_SEND_BELOW_BYTES) return join(data)
        if (!corked) {
          corked = true
          socket.cork()
          queueMicrotask(uncork)
        }
        return connection.send(data)
      }
  return new Proxy(connection, {
    get (target, property) {
      if (property === 'send') return send
      const value = Reflect.get(target, property, target)
      // Methods run on the real stream (it may keep private state); own
      // properties that happen to be callable (its logger) pass as they are.
      return typeof value === 'function' && !Object.hasOwn(target, property) ? value.bind(target) : value
    },
    set (target, property, value) {
      return Reflect.set(target, property, value, target)
    }
  })
}
