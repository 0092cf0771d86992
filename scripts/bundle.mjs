// Bundles the CLI (dist/src/cli/run.js, compiled by tsc) into dist/bundle/,
// one chunk per lazily imported command, so a cold `mesh call` reads a few
// files instead of ~1,000 modules. See bin/mesh.ts for when it is used.
import { build } from 'esbuild'

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
