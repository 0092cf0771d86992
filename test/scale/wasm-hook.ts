/**
 * Loaded with `node --import` into a spawned `mesh node` by bundle.test.ts:
 * counts the WebAssembly modules the process compiles, and writes the count
 * to stderr (`wasm-modules <n>`) on SIGUSR2.
 */
import { writeSync } from 'node:fs'

let compiled = 0
const wasm = (globalThis as any).WebAssembly
const Module = wasm.Module
function Counted (bytes: Uint8Array): unknown {
  compiled++
  return new Module(bytes)
}
Counted.prototype = Module.prototype
Object.assign(Counted, { imports: Module.imports, exports: Module.exports, customSections: Module.customSections })
wasm.Module = Counted
for (const name of ['compile', 'instantiate']) {
  const original = wasm[name]
  wasm[name] = async (...args: unknown[]) => {
    if (!(args[0] instanceof Module)) compiled++
    return await original.apply(wasm, args)
  }
}
process.on('SIGUSR2', () => { writeSync(2, `wasm-modules ${compiled}\n`) })
