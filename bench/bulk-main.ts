import { loadavg, networkInterfaces } from 'node:os'
import { bulkRows } from './bulk.js'
import { textTable } from './table.js'

// `npm run bench:bulk`: only the bulk rows of `npm run bench`.
const withMdns = Object.keys(networkInterfaces()).every(name => name === 'lo')
const before = loadavg()
const rows = await bulkRows((msg) => { process.stderr.write(`bench: ${msg}\n`) }, withMdns ? [] : ['--no-mdns'])
process.stdout.write(`\n${textTable(rows)}\n\nload average ${before.map(l => l.toFixed(2)).join(' ')} before, ${loadavg().map(l => l.toFixed(2)).join(' ')} after\n`)
process.exit(0)
