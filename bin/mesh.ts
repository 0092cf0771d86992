#!/usr/bin/env node
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * The `mesh` command. Client commands (call, ls, peers, keygen) load the CLI
 * from a single-file bundle made at build time (npm run build): importing the
 * libp2p stack as ~1,000 separate modules is most of a cold `mesh call`
 * (about 600 ms against 120 ms bundled). `mesh node` runs bundled too: the
 * bundle holds ~30 MB less resident memory than the separate modules (issue
 * 15); its worker threads still import the compiled task modules by path
 * (src/paths.ts). `demo` loads the compiled modules as they are.
 * MESH_NO_BUNDLE=1 turns the bundle off.
 */
const BUNDLED_COMMANDS = new Set(['call', 'ls', 'peers', 'keygen', 'node'])
const command = process.argv.slice(2).find(arg => !arg.startsWith('-'))
const bundle = new URL('../bundle/run.mjs', import.meta.url)
const useBundle = command !== undefined && BUNDLED_COMMANDS.has(command) &&
  process.env.MESH_NO_BUNDLE === undefined && existsSync(fileURLToPath(bundle))

await import(useBundle ? bundle.href : '../src/cli/run.js')
