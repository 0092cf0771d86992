import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { MESH_BIN, runCli } from '../helpers.js'

const BUNDLE = fileURLToPath(new URL('../../bundle/', import.meta.url))
const HOOK = new URL('./wasm-hook.js', import.meta.url).href

/**
 * What keeps an idle bundled `mesh node` small (issue 15, docs/scale.md):
 * sources V8 can hold one byte a character, and no WebAssembly compiled
 * before a connection needs it (scripts/bundle.mjs, scripts/bundle-shims/).
 */
describe('the CLI bundle (idle node memory)', function () {
  it('is ASCII only: V8 holds a script with one non-Latin-1 character as UTF-16, twice its size', function () {
    const files = readdirSync(BUNDLE).filter(f => f.endsWith('.mjs'))
    assert.ok(files.length > 0, `no bundle in ${BUNDLE}: run npm run bundle`)
    for (const file of files) {
      const bytes = readFileSync(BUNDLE + file)
      const at = bytes.findIndex(b => b > 0x7f)
      assert.equal(at, -1, `${file} has a non-ASCII byte at ${at}: ${bytes.subarray(Math.max(0, at - 40), at + 10).toString()}`)
    }
  })

  it('an idle node compiles no WebAssembly; its first connection loads Noise\'s, and calls work', async function () {
    const child = spawn(process.execPath, ['--import', HOOK, MESH_BIN, 'node', '--json', '--serve', 'add', '--no-mdns'], { stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      const stderr = createInterface({ input: child.stderr! })
      const counts: number[] = []
      const waiters: Array<() => void> = []
      stderr.on('line', (line) => {
        const m = /^wasm-modules (\d+)$/.exec(line)
        if (m !== null) { counts.push(Number(m[1])); waiters.shift()?.() }
      })
      const count = async (): Promise<number> => {
        const got = new Promise<void>((resolve) => { waiters.push(resolve) })
        child.kill('SIGUSR2')
        await got
        return counts[counts.length - 1]
      }
      const ready = await new Promise<{ addresses: string[] }>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on('line', (line) => {
          try { const msg = JSON.parse(line); if (msg.event === 'ready') resolve(msg) } catch { /* not JSON */ }
        })
        child.on('exit', (code) => { reject(new Error(`mesh node exited with ${code} before ready`)) })
      })
      assert.equal(await count(), 0, 'WebAssembly compiled by an idle node')
      const r = await runCli(['call', 'add', '4', '6', '--no-mdns', '--bootstrap', ...ready.addresses, '--timeout', '20000'])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, '10\n')
      // Noise's small frames went through the real @chainsafe/as-chacha20poly1305, loaded on the first one.
      assert.equal(await count(), 1)
    } finally {
      child.kill('SIGKILL')
    }
  })
})
