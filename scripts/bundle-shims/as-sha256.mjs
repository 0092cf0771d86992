// Stands in for @chainsafe/as-sha256 in the CLI bundle (scripts/bundle.mjs).
// Only @chainsafe/libp2p-noise imports it, for its `asCrypto.hashSHA256`,
// which noise's default crypto never calls (it hashes with node:crypto); the
// real module compiles and instantiates WebAssembly the moment it is
// imported, ~1 MB of resident memory for nothing. Same result as the real
// digest: the 32-byte SHA-256 of `data`.
import { createHash } from 'node:crypto'

export function digest (data) {
  return createHash('sha256').update(data).digest()
}
