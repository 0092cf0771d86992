// Embedding mesh in a libp2p node your app already runs: the mesh is one of
// its services, next to identify. Your transports, your peer discovery (here
// none: a direct dial); a node made by createMeshNode joins the same mesh.
// In your own project, import from 'mesh' instead of '../src/index.js'.
// Run: npm run build && node dist/examples/embed-libp2p.js
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { add, createMeshNode, factorial, meshService } from '../src/index.js'

const libp2p = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: {
    identify: identify(),
    mesh: meshService({ name: 'my-app', serve: { add, factorial, shout: (s: string) => s.toUpperCase() } })
  }
})
const mesh = libp2p.services.mesh
mesh.expose('greeter', { hello: (who: string) => `hello, ${who}, from the app's own node` })
mesh.on('peer:join', (record) => { console.log(`peer joined: ${record.name} serving ${record.tasks.map(t => t.name).join(', ') || 'nothing'}`) })

// Another node on mesh's default stack, serving a task of its own.
const other = await createMeshNode({ name: 'other', mdns: false, serve: { double: (x: number) => 2 * x }, bootstrap: libp2p.getMultiaddrs().map(String) })
await mesh.waitForPeers(1, 10_000)

console.log(`app → other: double(21) = ${await mesh.call<number>('double', 21)}`)
console.log(`app, itself: factorial(20000) has ${(await mesh.call<bigint>('factorial', 20000n)).toString().length} digits`)
console.log(`other → app: shout('mesh') = ${await other.call<string>('shout', 'mesh')}`)
const greeter = await other.lookup<{ hello: (who: string) => string }>('greeter')
console.log(`other → app: ${await greeter.hello('other')}`)

await other.stop()
await libp2p.stop()
