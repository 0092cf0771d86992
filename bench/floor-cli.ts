import { FloorClient } from './floor.js'

// The cold-CLI floor: a fresh node process that connects, calls add 4 6 over plain framed TCP, prints and exits.
const client = await FloorClient.connect(Number(process.argv[2]))
process.stdout.write(String(await client.call('add', [4, 6])) + '\n')
process.exit(0)
