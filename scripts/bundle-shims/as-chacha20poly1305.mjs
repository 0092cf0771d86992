// Stands in for @chainsafe/as-chacha20poly1305 in the CLI bundle
// (scripts/bundle.mjs). @chainsafe/libp2p-noise instantiates it at import
// (WebAssembly: V8's wasm engine, code and memory, ~1.5 MB resident) and uses
// it for frames under 1,200 bytes. This loads the real module on the first
// such frame instead, so a node with no connection never pays for it; once
// loaded, every call goes to the real implementation unchanged.
import { createRequire } from 'node:module'

const loadModule = createRequire(import.meta.url)
let real

function load () {
  if (real === undefined) {
    const m = loadModule('@chainsafe/as-chacha20poly1305')
    real = new m.ChaCha20Poly1305(m.newInstance())
  }
  return real
}

/** noise calls this at import: the instance is made on first use instead. */
export function newInstance () {
  return undefined
}

export class ChaCha20Poly1305 {
  seal (key, nonce, plaintext, associatedData, dst) {
    return load().seal(key, nonce, plaintext, associatedData, dst)
  }

  open (key, nonce, sealed, associatedData, dst) {
    return load().open(key, nonce, sealed, associatedData, dst)
  }
}
