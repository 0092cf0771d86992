import assert from 'node:assert/strict'
import { runCli, startCliNode, type CliNode } from '../helpers.js'

describe('mesh map (the CLI against a real node process)', function () {
  this.timeout(60_000)
  let node: CliNode

  before(async function () { node = await startCliNode(['--serve', 'add,factorial', '--no-mdns', '--workers', '1']) })
  after(async function () { await node.stop() })

  const client = (): string[] => ['--no-mdns', '--bootstrap', ...node.addresses]

  it('runs the task over each argument, results one per line in order; a JSON array is an argument list', async function () {
    const r = await runCli(['map', 'factorial', '10', '20', '5', ...client()])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.stdout.trim().split('\n'), ['3628800', '2432902008176640000', '120'])
    const pairs = await runCli(['map', 'add', '[1,2]', '[3,4]', '--concurrency', '1', '--json', ...client()])
    assert.equal(pairs.code, 0, pairs.stderr)
    assert.deepEqual(JSON.parse(pairs.stdout).results, [3, 7])
  })

  it('fails with UNKNOWN_TASK for a task nobody serves, before anything runs', async function () {
    const r = await runCli(['map', 'nope', '1', ...client()])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /UNKNOWN_TASK: map names "nope"/)
  })
})
