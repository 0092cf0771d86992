// Bundles the CLI (dist/src/cli/run.js, compiled by tsc) into dist/bundle/,
// one chunk per lazily imported command, so a cold `mesh call` reads a few
// files instead of ~1,000 modules. See bin/mesh.ts for when it is used.
import { URL, fileURLToPath } from 'node:url'
import { build } from 'esbuild'

/**
 * Dependencies that the bundle takes from scripts/bundle-shims/ instead (each
 * shim says why): WebAssembly that @chainsafe/libp2p-noise instantiates at
 * import, which an idle `mesh node` never runs (issue 15: resident memory).
 */
const SHIMS = {
  '@chainsafe/as-sha256': 'as-sha256.mjs',
  '@chainsafe/as-chacha20poly1305': 'as-chacha20poly1305.mjs'
}
const shims = {
  name: 'mesh-shims',
  setup (b) {
    b.onResolve({ filter: /^@chainsafe\/as-(sha256|chacha20poly1305)$/ }, (args) => {
      // The chacha shim loads the real module at run time: that require must not come back here.
      if (args.importer.includes('bundle-shims')) return undefined
      return { path: fileURLToPath(new URL(`./bundle-shims/${SHIMS[args.path]}`, import.meta.url)) }
    })
  }
}

await build({
  entryPoints: ['dist/src/cli/run.js'],
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outdir: 'dist/bundle',
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
  plugins: [shims],
  // No comments or indentation: V8 keeps every script's source in memory, and
  // one non-Latin-1 character in a comment (our JSDoc has → and ≤) makes it
  // keep the whole chunk as UTF-16, two bytes a character (issue 15: the node
  // chunk's source was 2.8 MB of an idle node's heap). Names stay as written.
  minifyWhitespace: true,
  // piscina finds its own worker script, better-sqlite3 its native addon, by
  // __dirname: they must stay files of node_modules (`mesh node` is bundled).
  // prom-client is CommonJS whose named exports a bundled dynamic import()
  // loses (`(await import('prom-client')).Registry` is undefined): Node's own
  // CommonJS interop finds them.
  external: ['piscina', 'better-sqlite3', 'prom-client'],
  // CommonJS dependencies (commander, msgpackr) call require() for Node's
  // built-ins; an ES module bundle has no require of its own.
  banner: { js: "import { createRequire as __meshCreateRequire } from 'node:module'; const require = __meshCreateRequire(import.meta.url);" }
})
