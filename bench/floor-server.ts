import { startFloorServer } from './floor.js'

// The floor server as its own process, like the mesh provider: prints its port and serves until killed.
const { port } = await startFloorServer()
process.stdout.write(JSON.stringify({ event: 'ready', port }) + '\n')
