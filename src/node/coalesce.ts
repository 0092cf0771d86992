import type { ConnectionEncrypter, MessageStream } from '@libp2p/interface'

type EncrypterFactory = (components: any) => ConnectionEncrypter

/**
 * Noise hands each encrypted message down as a list of two chunks (its 2-byte
 * length and the ciphertext), and @libp2p/tcp writes every chunk with its own
 * socket.write: two syscalls and often two TCP segments per message, and on
 * the receiving side an extra read that ends in Noise's "need more bytes"
 * exception. Measured on an `add` round trip, socket writes were 20 % of all
 * CPU. This wraps the connection Noise writes to so that each send leaves as
 * one buffer: the same bytes in the same order, the same backpressure answer;
 * only the chunking changes.
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

export function sendingWhole (connection: MessageStream): MessageStream {
  const send = (data: Parameters<MessageStream['send']>[0]): boolean =>
    connection.send(data instanceof Uint8Array ? data : data.subarray())
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
