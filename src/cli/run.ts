import '../polyfill.js'
import { main } from './main.js'

// Exit as soon as the command is done: a finished CLI call should not wait
// for lingering sockets or timers of the node it started.
// On a pipe stdout is asynchronous: exit only once a big result (factorial
// of 10^6 is 5.5 MB) has been flushed, or the reader gets the first 128 KiB.
main(process.argv).then((code) => { process.stdout.write('', () => { process.exit(code) }) }, (err) => {
  process.stderr.write(`mesh: ${err?.stack ?? err}\n`)
  process.exit(1)
})
