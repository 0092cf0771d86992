// The chain topology of Pyro4's examples: object A's method calls B, whose
// method calls C, whose method calls A again, each on its own node (its own
// process, or its own machine). Each link adds itself to the message and
// passes it on; a link that finds itself already in the message ends the
// chain. Start three nodes (one terminal each, or with & in one):
//
//   npx mesh node --name chain-a --expose ./examples/chain/link.js
//   npx mesh node --name chain-b --expose ./examples/chain/link.js
//   npx mesh node --name chain-c --expose ./examples/chain/link.js
//   npx mesh call chain-a.process '[]'
//   # ["a@node chain-a pid 4101","b@node chain-b pid 4102","c@node chain-c pid 4103","back at a"]
//
// The node's --name picks the link (chain-a is link a, which calls b); the
// ring is a → b → c → a. CHAIN_NEXT=<link> overrides the next link.
//
// A default export that is a function receives the node, so an exposed
// object can itself look up and call other objects of the mesh.

const RING = ['a', 'b', 'c']

export default (node) => {
  const me = node.name.replace(/^chain-/, '')
  if (!RING.includes(me) && process.env.CHAIN_NEXT === undefined) {
    throw new Error(`start this node with --name chain-a, chain-b or chain-c (got ${node.name}), or set CHAIN_NEXT`)
  }
  const next = process.env.CHAIN_NEXT ?? RING[(RING.indexOf(me) + 1) % RING.length]

  class Link {
    async process (message) {
      if (!Array.isArray(message)) throw new TypeError('process(message): message must be an array of strings')
      if (message.some(m => m.startsWith(`${me}@`))) return [...message, `back at ${me}`]
      const here = [...message, `${me}@node ${node.name} pid ${process.pid}`]
      // The registry finds the next link wherever it runs: no URI, no name server.
      const nextLink = await node.lookup(`chain-${next}`, { timeout: 10_000 })
      return nextLink.process(here)
    }
  }

  return {
    [`chain-${me}`]: { object: new Link(), metadata: ['chain'] }
  }
}
