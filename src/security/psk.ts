import { createHash, randomBytes } from 'node:crypto'
import { chmod, readFile, writeFile } from 'node:fs/promises'
import { PSK_MDNS_TAG_PREFIX } from '../constants.js'
import { ConfigError } from '../errors.js'

/**
 * Pre-shared mesh keys, in the libp2p private-network (pnet) format that
 * go-libp2p and IPFS use too:
 *
 * ```
 * /key/swarm/psk/1.0.0/
 * /base16/
 * <64 hex digits: 32 random bytes>
 * ```
 *
 * Every connection of a node with a PSK is wrapped in XSalsa20 keyed by it
 * (under Noise), so a peer without the same key cannot complete a handshake.
 */
const PSK_FORMAT = /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n([0-9a-fA-F]{64})$/

/**
 * A fresh random key, encoded in the pnet format (95 bytes), as @libp2p/pnet's
 * generateKey writes it; importing pnet for that instantiated its WebAssembly
 * in every node, with a key or without (issue 15: resident memory).
 */
export function generatePsk (): Uint8Array {
  return new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${randomBytes(32).toString('hex')}`)
}

/** Write a fresh key to `file` (mode 0600); refuses to overwrite an existing file. */
export async function writePskFile (file: string): Promise<void> {
  try {
    await writeFile(file, generatePsk(), { mode: 0o600, flag: 'wx' })
  } catch (err: any) {
    if (err.code === 'EEXIST') throw new ConfigError(`${file} exists: mesh keygen will not overwrite a key (delete it first)`)
    throw new ConfigError(`cannot write the key to ${file}: ${err.message}`)
  }
  await chmod(file, 0o600)
}

/**
 * Check and normalise a key: line endings and trailing whitespace an editor
 * may add are tolerated; anything else that is not a pnet v1 key is refused
 * here, with the reason, rather than as a failed handshake later.
 */
export function parsePsk (bytes: Uint8Array, source = 'the pre-shared key'): Uint8Array {
  const text = new TextDecoder().decode(bytes).replace(/\r\n?/g, '\n').trim()
  if (!PSK_FORMAT.test(text)) {
    throw new ConfigError(`${source} is not a mesh key (expected "/key/swarm/psk/1.0.0/", "/base16/" and 64 hex digits; make one with mesh keygen <file>)`)
  }
  return new TextEncoder().encode(text)
}

/** The key as given to the library: its bytes, or the path of a key file. */
export async function loadPsk (psk: Uint8Array | string): Promise<Uint8Array> {
  if (psk instanceof Uint8Array) return parsePsk(psk)
  let bytes: Uint8Array
  try {
    bytes = await readFile(psk)
  } catch (err: any) {
    throw new ConfigError(`cannot read the pre-shared key file ${psk}: ${err.message}`)
  }
  return parsePsk(bytes, `key file ${psk}`)
}

/**
 * The mDNS service name of the private mesh this key defines. It is derived
 * by a one-way hash (with a domain prefix), so it names the mesh without
 * revealing the key.
 */
export function mdnsServiceTag (psk: Uint8Array): string {
  const digest = createHash('sha256').update('mesh mdns service tag\n').update(psk).digest('hex')
  return `${PSK_MDNS_TAG_PREFIX}${digest.slice(0, 16)}._udp.local`
}
