#!/usr/bin/env node
import '../src/polyfill.js'
import { main } from '../src/cli/main.js'

// Exit as soon as the command is done: a finished CLI call should not wait
// for lingering sockets or timers of the node it started.
main(process.argv).then((code) => { process.exit(code) }, (err) => {
  process.stderr.write(`mesh: ${err?.stack ?? err}\n`)
  process.exit(1)
})
