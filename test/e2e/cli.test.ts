import assert from 'node:assert/strict'
import { inPrivateNetwork, naiveFactorial, runCli, startCliNode, type CliNode } from '../helpers.js'

describe('the mesh CLI, spawned as a user runs it', function () {
  let node: CliNode
  /** In the private network, clients find the node by mDNS; elsewhere they dial it. */
  let reach: string[]

  before(async function () {
    const mdns = inPrivateNetwork()
    node = await startCliNode(['--serve', 'add,factorial,matmul', '--name', 'e2e', '--workers', '1', '--max-factorial', '100000', ...(mdns ? [] : ['--no-mdns'])])
    reach = mdns ? [] : ['--no-mdns', '--bootstrap', ...node.addresses]
  })

  after(async function () {
    await node?.stop()
  })

  const call = async (...args: string[]): ReturnType<typeof runCli> => runCli(['call', ...args, '--timeout', '10000', ...reach])

  it('prints help listing the commands', async function () {
    const r = await runCli(['--help'])
    assert.equal(r.code, 0)
    for (const cmd of ['node', 'call', 'ls', 'peers', 'demo']) assert.match(r.stdout, new RegExp(`\\b${cmd}\\b`))
  })

  it('mesh call add 4 6 prints 10', async function () {
    const r = await call('add', '4', '6')
    assert.equal(r.stderr, '')
    assert.equal(r.code, 0)
    assert.equal(r.stdout, '10\n')
  })

  it('mesh call factorial 20000 prints all 77,338 digits, exactly', async function () {
    const r = await call('factorial', '20000')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, naiveFactorial(20000).toString() + '\n')
  })

  it('mesh call matmul 20 20 prints 20 JSON rows of 20 numbers', async function () {
    const r = await call('matmul', '20', '20')
    assert.equal(r.code, 0, r.stderr)
    const rows = JSON.parse(r.stdout)
    assert.equal(rows.length, 20)
    for (const row of rows) {
      assert.equal(row.length, 20)
      for (const x of row) assert.equal(typeof x, 'number')
    }
  })

  it('--json prints a machine-readable envelope', async function () {
    const r = await call('add', '2', '3', '--json')
    assert.equal(r.code, 0, r.stderr)
    const envelope = JSON.parse(r.stdout)
    assert.equal(envelope.ok, true)
    assert.equal(envelope.result, 5)
  })

  for (const [label, args, code] of [
    ['an unknown task', ['nope', '1'], 'UNKNOWN_TASK'],
    ['a wrong argument count', ['add', '1'], 'BAD_ARGUMENT'],
    ['a negative factorial', ['factorial', '-5'], 'BAD_ARGUMENT'],
    ['a non-numeric factorial', ['factorial', 'abc'], 'BAD_ARGUMENT'],
    ['a factorial over the node limit', ['factorial', '100001'], 'LIMIT_EXCEEDED'],
    ['a matrix over the node limit', ['matmul', '100000', '100000'], 'LIMIT_EXCEEDED']
  ] as const) {
    it(`exits non-zero with one clear line on stderr for ${label}`, async function () {
      const r = await call(...args)
      assert.notEqual(r.code, 0)
      assert.equal(r.stdout, '')
      const lines = r.stderr.trim().split('\n')
      assert.equal(lines.length, 1, r.stderr)
      assert.match(lines[0], new RegExp(`^mesh: ${code}: `))
    })
  }

  it('exits non-zero with NO_PROVIDER when no node is reachable within the timeout', async function () {
    const r = await runCli(['call', 'add', '1', '2', '--timeout', '800', '--no-mdns'])
    assert.equal(r.code, 1)
    assert.equal(r.stdout, '')
    assert.match(r.stderr, /^mesh: NO_PROVIDER: /)
  })

  it('rejects a bad option value as a usage error (exit 2)', async function () {
    const r = await runCli(['call', 'add', '1', '2', '--timeout', 'soon'])
    assert.equal(r.code, 2)
  })

  it('still serves after every error above', async function () {
    const r = await call('add', '40', '2')
    assert.equal(r.stdout, '42\n')
  })

  it('mesh ls lists the tasks with their provider', async function () {
    const r = await runCli(['ls', '--timeout', '10000', ...reach])
    assert.equal(r.code, 0, r.stderr)
    for (const task of ['add', 'factorial', 'matmul']) assert.match(r.stdout, new RegExp(`task\\s+${task}\\s.*e2e`))
  })

  it('mesh peers shows the node with its address and load', async function () {
    const r = await runCli(['peers', '--json', '--timeout', '10000', ...reach])
    assert.equal(r.code, 0, r.stderr)
    const peers = JSON.parse(r.stdout)
    const me = peers.find((p: any) => p.peerId === node.peerId)
    assert.ok(me, r.stdout)
    assert.equal(me.name, 'e2e')
    assert.ok(me.addrs.some((a: string) => a.includes('/tcp/')))
    assert.equal(me.load.workers, 1)
  })

  it('mesh demo runs a local mesh, calls across it and stops', async function () {
    const r = await runCli(['demo'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /add\(4, 6\)\s+= 10\s+\(ran on alpha/)
    assert.match(r.stdout, /77338 digits/)
    assert.match(r.stdout, /stopped all nodes/)
  })

  it('a node stops cleanly on SIGTERM with exit code 0', async function () {
    const extra = await startCliNode(['--serve', 'add', '--no-mdns'])
    assert.equal(await extra.stop('SIGTERM'), 0, extra.stderr())
  })

  it('refuses an unknown built-in in --serve with a usage error', async function () {
    const r = await runCli(['node', '--serve', 'add,bogus', '--no-mdns'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /BAD_CONFIG: unknown task "bogus"/)
  })
})
