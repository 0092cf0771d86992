import { chmod, readFile, writeFile } from 'node:fs/promises'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { ConfigError } from '../errors.js'

/**
 * A persistent identity: the node's Ed25519 key in a file, created on first
 * use (mode 0600). The same key means the same peer id across restarts.
 */
export async function loadOrCreateKey (file: string): Promise<PrivateKey> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(file)
  } catch (err: any) {
    if (err.code !== 'ENOENT') throw new ConfigError(`cannot read key file ${file}: ${err.message}`)
    const key = await generateKeyPair('Ed25519')
    await writeFile(file, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
    await chmod(file, 0o600)
    return key
  }
  try {
    return privateKeyFromProtobuf(bytes)
  } catch (err: any) {
    throw new ConfigError(`key file ${file} does not hold a libp2p private key: ${err.message}`)
  }
}

export async function newKey (): Promise<PrivateKey> {
  return generateKeyPair('Ed25519')
}
