import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { createMeshNode, type MeshNode } from '../../src/index.js'
import { MESH_BIN, runCli, startCliNode, type CliNode, until } from '../helpers.js'

const TMUX = '/usr/bin/tmux'

describe('mesh top and mesh events, spawned as a user runs them', function () {
  this.timeout(90_000)
  let alpha: CliNode
  let client: MeshNode
  let dir: string
  const socket = `mesh-test-${process.pid}`
  const tmux = (...args: string[]): string => execFileSync(TMUX, ['-L', socket, ...args], { encoding: 'utf8' })

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'mesh-top-'))
    alpha = await startCliNode(['--name', 'alpha\u001b[2J', '--serve', 'add,factorial', '--workers', '1', '--no-mdns'])
    client = await createMeshNode({ name: 'caller', mdns: false, bootstrap: alpha.addresses })
    await client.waitForPeers(1, 20_000)
    for (let i = 0; i < 3; i++) await client.call('add', i, 100)
  })

  after(async function () {
    if (existsSync(TMUX)) try { execFileSync(TMUX, ['-L', socket, 'kill-server'], { stdio: 'ignore' }) } catch { /* already gone */ }
    await client?.stop()
    await alpha?.stop()
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  })

  it('not on a terminal, prints one snapshot and exits; control characters from the wire are shown as ?', async function () {
    const { code, stdout } = await runCli(['top', '--no-mdns', '--bootstrap', ...alpha.addresses])
    assert.equal(code, 0)
    // A client bootstrapped to alpha alone sees the whole mesh (records relay): alpha and the caller.
    assert.match(stdout, /mesh top — 2 nodes up, \d+ tasks/)
    assert.ok(stdout.includes('alpha?[2J'), stdout)
    assert.match(stdout, /^caller +/m)
    assert.equal(stdout.includes('\u001b'), false, 'no escape reached the output')
    assert.match(stdout, /add\s+1\s+\S+\s+\S+ \S+\s+\S+ \S+\s+3\s+0/) // providers, calls/s, p50, p99, calls, failures
    assert.equal(stdout.split('\n').filter(l => / add +succeeded /.test(l)).length, 3)
  })

  it('on a pseudo-terminal (tmux), shows the mesh full screen, updates live, honours NO_COLOR and quits on q', async function () {
    if (!existsSync(TMUX)) this.skip() // .ci/run installs it
    const run = (name: string, env: string): void => {
      const cmd = `${env} ${process.execPath} ${MESH_BIN} top --no-mdns --bootstrap ${alpha.addresses[0]}; echo "exit=$?" > ${join(dir, name)}`
      tmux('new-session', '-d', '-s', name, '-x', '150', '-y', '40', cmd)
    }
    const screen = (name: string, escapes = false): string => { try { return tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', name) } catch { return '' } }
    run('plain', 'NO_COLOR=1')
    run('color', '')
    await until('the top screen', () => screen('plain').includes('mesh top') && screen('plain').includes('alpha?[2J') && / add +succeeded/.test(screen('plain')))
    assert.match(screen('plain'), /NODE +PEER ID +STATE +TASKS/)
    await client.call('factorial', 12)
    await until('the new job to appear live', () => / factorial +succeeded /.test(screen('plain')))
    await until('the coloured screen', () => / add +/.test(screen('color')))
    assert.ok(screen('color', true).includes('\u001b[32m'), 'colour without NO_COLOR')
    assert.equal(/\[3\dm/.test(screen('plain', true).replaceAll('\u001b', '')), false, 'no colour with NO_COLOR')
    for (const name of ['plain', 'color']) {
      tmux('send-keys', '-t', name, 'q')
      await until(`${name}: mesh top to exit`, () => existsSync(join(dir, name)))
      assert.equal(readFileSync(join(dir, name), 'utf8').trim(), 'exit=0')
    }
  })

  it('mesh events --json prints each task event of the mesh as one JSON line (the caller: sent; the worker: started, then succeeded)', async function () {
    const child = spawn(process.execPath, [MESH_BIN, 'events', '--json', '--no-mdns', '--bootstrap', ...alpha.addresses], { stdio: ['ignore', 'pipe', 'pipe'] })
    const lines: any[] = []
    const served = (): any[] => lines.filter(l => l.node === alpha.peerId)
    const watching = new Promise<void>((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const msg = JSON.parse(line)
        if (msg.type === 'watching') resolve()
        else lines.push(msg)
      })
    })
    const exited = new Promise<number | null>((resolve) => { child.on('exit', (code) => { resolve(code) }) })
    await watching
    assert.equal(typeof await client.call('factorial', 20000), 'bigint')
    await until('the worker\'s succeeded event', () => served().some(l => l.type === 'succeeded'))
    child.kill('SIGINT')
    assert.equal(await exited, 0)
    // The caller's own event comes from the caller's node (seen through alpha's relayed record), on another stream: its order against alpha's is not fixed.
    for (const l of lines.filter(l => l.node !== alpha.peerId)) {
      assert.equal(l.type, 'sent')
      assert.equal(l.node, client.peerId)
      assert.equal(l.peer, alpha.peerId)
    }
    const mine = served()
    assert.deepEqual(mine.map(l => l.type), ['started', 'succeeded'])
    for (const l of mine) {
      assert.equal(l.task, 'factorial')
      assert.equal(l.node, alpha.peerId)
      assert.equal(l.from, client.peerId)
      assert.equal(l.args, '20000')
      assert.equal(typeof l.time, 'number')
      assert.equal(l.id, mine[0].id)
    }
    assert.equal(typeof mine[1].ms, 'number')
  })
})
