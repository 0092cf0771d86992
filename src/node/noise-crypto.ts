import { createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto'
import type { ICryptoInterface, KeyPair } from '@chainsafe/libp2p-noise'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { Uint8ArrayList } from 'uint8arraylist'
import { NOISE_KEY_CACHE } from '../constants.js'

const bytes = (b: Uint8Array | Uint8ArrayList): Uint8Array => b instanceof Uint8Array ? b : b.subarray()
const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url')

/**
 * @chainsafe/libp2p-noise's Node crypto with the X25519 steps done on
 * KeyObjects this process keeps, not rebuilt from DER each time. Noise hands
 * keys around as raw bytes, and its default turns them back into KeyObjects
 * through OpenSSL's DER decoders for every Diffie-Hellman: measured on Node
 * 20 here, 730 µs to import a PKCS#8 private key and 200 µs an SPKI public
 * key, against 73 µs for the DH itself. A handshake does three DHs and one
 * key generation at each end: ~3.3 ms of CPU, ~0.3 ms this way. On a mesh of
 * 50 nodes starting on two cores every millisecond per connection counts
 * (issue 15).
 *
 * - A key pair generated here is kept as its KeyObject, by its private
 *   bytes, in a small LRU (NOISE_KEY_CACHE): the static key is used by
 *   every handshake so it stays, an ephemeral one lives for one handshake.
 * - A peer's public key is imported from JWK (14 µs), the same bytes.
 * - A private key not made here (a seed, `staticNoiseKey`) takes the
 *   default path, as before.
 *
 * Everything else (SHA-256, HKDF, ChaCha20-Poly1305) is noise's default.
 */
export function fastNoiseCrypto (): ICryptoInterface {
  const keys = new Map<string, KeyObject>()
  const keep = (raw: string, key: KeyObject): void => {
    keys.delete(raw)
    keys.set(raw, key)
    if (keys.size > NOISE_KEY_CACHE) keys.delete(keys.keys().next().value as string)
  }
  return {
    ...defaultCrypto,
    generateX25519KeyPair (): KeyPair {
      const { privateKey } = generateKeyPairSync('x25519')
      const jwk = privateKey.export({ format: 'jwk' }) as { d: string, x: string }
      keep(jwk.d, privateKey)
      return { publicKey: Buffer.from(jwk.x, 'base64url'), privateKey: Buffer.from(jwk.d, 'base64url') }
    },
    generateX25519SharedKey (privateKey: Uint8Array | Uint8ArrayList, publicKey: Uint8Array | Uint8ArrayList): Uint8Array {
      const raw = b64(bytes(privateKey))
      const own = keys.get(raw)
      if (own === undefined) return defaultCrypto.generateX25519SharedKey(privateKey, publicKey)
      keep(raw, own)
      const theirs = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64(bytes(publicKey)) }, format: 'jwk' })
      return diffieHellman({ privateKey: own, publicKey: theirs })
    }
  }
}
