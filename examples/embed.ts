// Embedding mesh in an app: two nodes in one process, one serving tasks and
// one calling them. In your own project, import from 'mesh' instead.
// Run: npm run build && node dist/examples/embed.js
import { add, createMeshNode, factorial } from '../src/index.js'

// A worker node: serves two built-ins plus an app function (app functions
// run on the event loop; put heavy ones in a module, see my-tasks.js).
const worker = await createMeshNode({
  name: 'worker',
  serve: { add, factorial, double: (x: number) => 2 * x },
  // mDNS finds peers on a LAN with no configuration; this example dials its
  // peer directly so that it runs anywhere.
  mdns: false
})

const app = await createMeshNode({ name: 'app', mdns: false, bootstrap: worker.addresses })

const sum = await app.call<number>('add', 4, 6)
const f = await app.call<bigint>('factorial', 20000n) // an exact bigint
const doubled = await app.call<number>('double', 21)
console.log(`add(4, 6) = ${sum}`)
console.log(`factorial(20000) has ${f.toString().length} digits`)
console.log(`double(21) = ${doubled}`)

// Errors carry a stable code.
try {
  await app.call('factorial', -5)
} catch (err: any) {
  console.log(`factorial(-5) failed with ${err.code}: ${err.message}`)
}

await app.stop()
await worker.stop()
