// The greeting server: exposes a Greeter to the mesh. No name server, no URI.
// Run: npm run build && node dist/examples/greeting/server.js [--no-mdns]
// (the CLI form of the same server: npx mesh node --expose ./examples/greeting/greeter.js)
// In your own project, import from 'mesh' instead of '../../src/index.js'.
import { createMeshNode } from '../../src/index.js'

export class Greeter {
  welcomeMessage (name: string): string {
    return `Hi welcome ${name}`
  }
}

const node = await createMeshNode({ name: 'greeting-server', mdns: !process.argv.includes('--no-mdns') })
node.expose('greeter', new Greeter(), { metadata: ['greeting', 'demo'] })

console.log('greeter exposed; reach it with')
console.log('  node dist/examples/greeting/client.js John                      (same LAN, found by mDNS)')
for (const addr of node.addresses) console.log(`  node dist/examples/greeting/client.js John ${addr}`)
console.log('  npx mesh call greeter.welcomeMessage John')

process.once('SIGINT', () => { void node.stop().then(() => process.exit(0)) })
process.once('SIGTERM', () => { void node.stop().then(() => process.exit(0)) })
