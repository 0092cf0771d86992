import assert from 'node:assert/strict'
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadOrCreateKey } from '../../src/node/identity.js'
import { runCli, startCliNode, type CliNode } from '../helpers.js'

/** Private meshes and allow-lists through the CLI, with direct dials (runs anywhere). */
describe('the CLI: mesh keygen, --psk / MESH_PSK_FILE, --allow-file', function () {
  let dir: string
  let keyFile: string
  let node: CliNode | undefined

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'mesh-e2e-sec-'))
    keyFile = join(dir, 'mesh.key')
  })

  afterEach(async function () {
    await node?.stop()
    node = undefined
  })

  it('mesh keygen writes a 0600 pnet key and refuses to overwrite it', async function () {
    const r = await runCli(['keygen', keyFile])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, '')
    assert.match(await readFile(keyFile, 'utf8'), /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/)
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600)
    const again = await runCli(['keygen', keyFile])
    assert.equal(again.code, 2)
    assert.match(again.stderr, /BAD_CONFIG.*will not overwrite/)
  })

  it('a private node answers callers with its key (flag or env) and nobody else', async function () {
    node = await startCliNode(['--serve', 'add', '--no-mdns', '--psk', keyFile])
    const reach = ['--no-mdns', '--bootstrap', ...node.addresses]
    const withFlag = await runCli(['call', 'add', '2', '3', '--psk', keyFile, '--timeout', '10000', ...reach])
    assert.equal(withFlag.code, 0, withFlag.stderr)
    assert.equal(withFlag.stdout, '5\n')
    const withEnv = await runCli(['call', 'add', '4', '5', '--timeout', '10000', ...reach], { env: { MESH_PSK_FILE: keyFile } })
    assert.equal(withEnv.code, 0, withEnv.stderr)
    assert.equal(withEnv.stdout, '9\n')

    const without = await runCli(['call', 'add', '2', '3', '--timeout', '1500', ...reach], { env: { MESH_PSK_FILE: '' } })
    assert.equal(without.code, 1)
    assert.match(without.stderr, /NO_PROVIDER/)
    const other = join(dir, 'other.key')
    assert.equal((await runCli(['keygen', other])).code, 0)
    const wrongKey = await runCli(['ls', '--json', '--psk', other, '--timeout', '1500', ...reach])
    assert.equal(wrongKey.code, 0, wrongKey.stderr)
    assert.deepEqual(JSON.parse(wrongKey.stdout), [])

    const badKey = join(dir, 'bad.key')
    await writeFile(badKey, 'hunter2')
    const refused = await runCli(['call', 'add', '1', '1', '--psk', badKey, ...reach])
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /BAD_CONFIG/)
  })

  it('--allow-file lets listed identities call and refuses others with FORBIDDEN', async function () {
    const callerKey = join(dir, 'caller.key')
    const callerId = peerIdFromPrivateKey(await loadOrCreateKey(callerKey)).toString()
    const allowFile = join(dir, 'allowed.txt')
    await writeFile(allowFile, `# who may call\n${callerId}  # the caller\n`)
    node = await startCliNode(['--serve', 'add', '--no-mdns', '--allow-file', allowFile])
    const reach = ['--no-mdns', '--bootstrap', ...node.addresses, '--timeout', '10000']
    const allowed = await runCli(['call', 'add', '1', '2', '--key', callerKey, ...reach])
    assert.equal(allowed.code, 0, allowed.stderr)
    assert.equal(allowed.stdout, '3\n')
    const stranger = await runCli(['call', 'add', '1', '2', '--json', ...reach])
    assert.equal(stranger.code, 1)
    assert.equal(JSON.parse(stranger.stdout).error.code, 'FORBIDDEN')

    const typo = await runCli(['node', '--no-mdns', '--allow', 'not-a-peer-id'])
    assert.equal(typo.code, 2)
    assert.match(typo.stderr, /BAD_CONFIG.*not a peer id/)
  })
})
