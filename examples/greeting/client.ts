// The greeting client: finds the greeter through the registry and calls it.
// Run: npm run build && node dist/examples/greeting/client.js [name] [server multiaddr]
// Without an address it finds the server by mDNS on the local network.
import { createMeshNode } from '../../src/index.js'

/** The client only needs the shape of the object; lookup<T> makes every method return a promise. */
interface Greeter {
  welcomeMessage: (name: string) => string
}

const name = process.argv[2] ?? 'John'
const server = process.argv[3]
const node = await createMeshNode({ name: 'greeting-client', mdns: server === undefined, bootstrap: server !== undefined ? [server] : [] })
try {
  const greeter = await node.lookup<Greeter>('greeter', { timeout: 10_000 })
  console.log(await greeter.welcomeMessage(name)) // Hi welcome John
  // Or every object tagged 'greeting' in the mesh:
  for (const g of await node.lookupByMetadata<Greeter>('greeting')) console.log('tagged greeting:', await g.welcomeMessage(name))
} finally {
  await node.stop()
}
