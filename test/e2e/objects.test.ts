import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { inPrivateNetwork, runCli, startCliNode, type CliNode } from '../helpers.js'

const example = (path: string): string => fileURLToPath(new URL(`../../../examples/${path}`, import.meta.url))

describe('remote objects from the CLI, spawned as a user runs it', function () {
  let node: CliNode
  let reach: string[]
  let mdns: string[]

  before(async function () {
    const useMdns = inPrivateNetwork()
    mdns = useMdns ? [] : ['--no-mdns']
    node = await startCliNode(['--expose', example('greeting/greeter.js'), '--name', 'greeting', ...mdns])
    reach = useMdns ? [] : ['--no-mdns', '--bootstrap', ...node.addresses]
  })

  after(async function () {
    await node?.stop()
  })

  it('mesh call greeter.welcomeMessage John prints the greeting', async function () {
    const r = await runCli(['call', 'greeter.welcomeMessage', 'John', '--timeout', '10000', ...reach])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, 'Hi welcome John\n')
  })

  it('mesh ls lists the object with its metadata', async function () {
    const r = await runCli(['ls', '--timeout', '10000', ...reach])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^object\s+greeter\s+greeting,demo\s+greeting \(/m)
  })

  for (const [label, name, args, code] of [
    ['an unknown object', 'nobody.hello', [], 'UNKNOWN_OBJECT'],
    ['an unexposed method', 'greeter.constructor', [], 'UNKNOWN_METHOD'],
    ['a missing argument', 'greeter.welcomeMessage', [], 'BAD_ARGUMENT']
  ] as Array<[string, string, string[], string]>) {
    it(`refuses ${label} with ${code}`, async function () {
      const r = await runCli(['call', name, ...args, '--timeout', '10000', ...reach])
      assert.notEqual(r.code, 0)
      assert.match(r.stderr, new RegExp(`^mesh: ${code}: `))
    })
  }

  it('refuses a module that exports no objects with BAD_CONFIG', async function () {
    const r = await runCli(['node', '--expose', example('my-tasks.js'), ...mdns])
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /BAD_CONFIG/)
  })

  it('runs the chain: A calls B calls C calls A, each in its own process', async function () {
    const nodes: CliNode[] = []
    try {
      const expose = ['--expose', example('chain/link.js'), ...mdns]
      const a = await startCliNode(['--name', 'chain-a', ...expose])
      nodes.push(a)
      // Every link must reach the next one: without mDNS, dial the ones already up.
      const b = await startCliNode(['--name', 'chain-b', ...expose, ...(mdns.length > 0 ? ['--bootstrap', ...a.addresses] : [])])
      nodes.push(b)
      const c = await startCliNode(['--name', 'chain-c', ...expose, ...(mdns.length > 0 ? ['--bootstrap', ...a.addresses, ...b.addresses] : [])])
      nodes.push(c)
      const r = await runCli(['call', 'chain-a.process', '[]', '--timeout', '20000', ...(mdns.length > 0 ? ['--no-mdns', '--bootstrap', ...a.addresses] : [])])
      assert.equal(r.code, 0, r.stderr)
      const message = JSON.parse(r.stdout) as string[]
      assert.equal(message.length, 4, r.stdout)
      assert.match(message[0], /^a@node chain-a pid \d+$/)
      assert.match(message[1], /^b@node chain-b pid \d+$/)
      assert.match(message[2], /^c@node chain-c pid \d+$/)
      assert.equal(message[3], 'back at a')
      const pids = new Set(message.slice(0, 3).map(m => m.split(' pid ')[1]))
      assert.equal(pids.size, 3, 'three different processes')
      assert.deepEqual([...pids].sort(), nodes.map(n => String(n.process.pid)).sort())
    } finally {
      await Promise.all(nodes.map(n => n.stop()))
    }
  })
})
