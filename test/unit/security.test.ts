import assert from 'node:assert/strict'
import { mkdtemp, readFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { WIRE_SCAN_LIMITS, decode, encode } from '../../src/codec.js'
import { DEFAULT_MAX_BIGINT_BITS, MAX_FRAME_DEPTH } from '../../src/constants.js'
import { BadFrameError, LimitExceededError, MeshError, errorFromWire } from '../../src/errors.js'
import { parseAllowList } from '../../src/security/allow.js'
import { peekRequestId, scanMsgpack } from '../../src/security/msgpack-scan.js'
import { generatePsk, loadPsk, mdnsServiceTag, parsePsk, writePskFile } from '../../src/security/psk.js'
import { RateLimiter } from '../../src/security/rate-limit.js'
import { decodeRpcFrame, refusedRequestId } from '../../src/security/wire.js'

/** n nested one-element arrays around nil: 0x91 … 0x91 0xc0. */
function nested (n: number): Uint8Array {
  const bytes = new Uint8Array(n + 1).fill(0x91)
  bytes[n] = 0xc0
  return bytes
}

function throwsCode (fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof MeshError && err.code === code)
}

describe('frame scanning before decode', function () {
  it('accepts everything the codec produces', function () {
    const values: unknown[] = [
      [1, 7, 'add', [1, 2], { timeout: 5 }], 2n ** 5000n, -(2n ** 300n), new Float64Array([1.5, 2]), new Uint8Array(70_000),
      'x'.repeat(70_000), { a: { b: [null, true, false, undefined] } }, new Set([1, 'a']), new Date(12345), new Error('boom'),
      /re+g/gi, [0.1, -1, 255, 65_536, 2 ** 40, -(2 ** 40)], new Int32Array([1, -1]), new ArrayBuffer(3), new Map([['k', 1]]),
      Array.from({ length: 70_000 }, (_, i) => i)
    ]
    for (const v of values) assert.doesNotThrow(() => decode(encode(v)), String(v))
    assert.deepEqual(decode(encode([1, 2n ** 100n])), [1, 2n ** 100n])
  })

  it('refuses deep nesting before msgpackr recurses (no stack overflow)', function () {
    assert.doesNotThrow(() => decode(nested(MAX_FRAME_DEPTH - 1)))
    throwsCode(() => decode(nested(MAX_FRAME_DEPTH + 1)), 'LIMIT_EXCEEDED')
    throwsCode(() => decode(nested(1_000_000)), 'LIMIT_EXCEEDED')
  })

  it('refuses truncated values, trailing bytes, lying counts and invalid bytes', function () {
    throwsCode(() => decode(new Uint8Array([0x92, 0x01])), 'BAD_FRAME')
    throwsCode(() => decode(new Uint8Array([0x01, 0x02])), 'BAD_FRAME')
    throwsCode(() => decode(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0])), 'BAD_FRAME')
    throwsCode(() => decode(new Uint8Array([0xdb, 0xff, 0xff, 0xff, 0xff, 0x61])), 'BAD_FRAME')
    throwsCode(() => decode(new Uint8Array([0xc1])), 'BAD_FRAME')
    throwsCode(() => decode(new Uint8Array([])), 'BAD_FRAME')
  })

  it('refuses record definitions, structured-clone references, bundles and unknown extensions', function () {
    // d4 72: a msgpackr record definition, which it would compile with new Function
    throwsCode(() => decode(new Uint8Array([0xd4, 0x72, 0x0a, 0x91, 0xa1, 0x78, 0x05])), 'BAD_FRAME')
    throwsCode(() => decode(new Uint8Array([0xd6, 0x69, 0, 0, 0, 1, 0x90])), 'BAD_FRAME')
    throwsCode(() => decode(new Uint8Array([0xd6, 0x70, 0, 0, 0, 1])), 'BAD_FRAME')
    throwsCode(() => decode(new Uint8Array([0xd6, 0x62, 0, 0, 0, 9])), 'BAD_FRAME')
    throwsCode(() => decode(new Uint8Array([0xd4, 0x05, 0x00])), 'BAD_FRAME')
  })

  it('refuses a BigInt over the limit from its length alone', function () {
    const big = encode(2n ** BigInt(WIRE_SCAN_LIMITS.maxBigIntBits + 64))
    throwsCode(() => { scanMsgpack(big, WIRE_SCAN_LIMITS) }, 'LIMIT_EXCEEDED')
    // A declared 4 GiB BigInt with no data is refused as over the limit, without allocating.
    throwsCode(() => decode(new Uint8Array([0xc9, 0xff, 0xff, 0xff, 0xff, 0x42])), 'LIMIT_EXCEEDED')
  })

  it('renames __proto__ keys: a map off the wire cannot change a prototype', function () {
    // {"__proto__": {"polluted": 1}}
    const bytes = new Uint8Array([0x81, 0xa9, ...new TextEncoder().encode('__proto__'), 0x81, 0xa8, ...new TextEncoder().encode('polluted'), 0x01])
    const value = decode(bytes) as Record<string, unknown>
    assert.equal(Object.getPrototypeOf(value), Object.prototype)
    assert.equal((value as any).polluted, undefined)
    assert.equal(({} as any).polluted, undefined)
    assert.deepEqual(Object.keys(value), ['__proto_'])
  })

  it('holds requests to the argument limits and names the refused call', function () {
    const limits = { maxArgBytes: 1000, maxBigIntBits: DEFAULT_MAX_BIGINT_BITS }
    const small = encode([1, 300, 'add', [1, 2], undefined])
    assert.deepEqual(decodeRpcFrame(small, limits), [1, 300, 'add', [1, 2], undefined])
    const big = encode([1, 70_000, 'add', ['x'.repeat(2000), 1], undefined])
    assert.throws(() => decodeRpcFrame(big, limits), LimitExceededError)
    try { decodeRpcFrame(big, limits) } catch (err) { assert.equal(refusedRequestId(err, big), 70_000) }
    const hugeInt = encode([1, 5, 'add', [2n ** BigInt(DEFAULT_MAX_BIGINT_BITS + 8), 1], undefined])
    throwsCode(() => decodeRpcFrame(hugeInt, { maxArgBytes: 2 ** 30, maxBigIntBits: DEFAULT_MAX_BIGINT_BITS }), 'LIMIT_EXCEEDED')
    // A result (not a request) is held only to the wire limits.
    assert.doesNotThrow(() => decodeRpcFrame(encode([2, 5, 'x'.repeat(2000)]), limits))
    for (const id of [0, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      assert.equal(peekRequestId(encode([1, id, 'add', [], undefined])), id)
    }
    assert.equal(peekRequestId(encode([2, 1, 0])), undefined)
  })

  it('new error codes cross the wire as their classes', function () {
    assert.equal(errorFromWire({ code: 'FORBIDDEN', message: 'no' }).name, 'ForbiddenError')
    const limited = errorFromWire({ code: 'RATE_LIMITED', message: 'slow down' })
    assert.equal(limited.name, 'RateLimitedError')
    assert.equal(limited.retryable, true)
    assert.ok(new BadFrameError('x') instanceof MeshError)
  })
})

describe('rate limiter', function () {
  it('allows the burst, then the refill rate, per peer', function () {
    let now = 0
    const limiter = new RateLimiter(10, 3, () => now)
    assert.deepEqual([1, 2, 3, 4].map(() => limiter.take('a')), [true, true, true, false])
    assert.equal(limiter.take('b'), true)
    now += 100 // 1 token back
    assert.deepEqual([limiter.take('a'), limiter.take('a')], [true, false])
    now += 10_000
    assert.deepEqual([1, 2, 3, 4].map(() => limiter.take('a')), [true, true, true, false])
  })
})

describe('pre-shared keys and allow-lists', function () {
  it('keygen writes a pnet key, mode 0600, and never overwrites one', async function () {
    const dir = await mkdtemp(join(tmpdir(), 'mesh-psk-'))
    const file = join(dir, 'mesh.key')
    await writePskFile(file)
    const bytes = await readFile(file)
    assert.match(bytes.toString(), /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/)
    assert.equal((await stat(file)).mode & 0o777, 0o600)
    await assert.rejects(writePskFile(file), (err: any) => err.code === 'BAD_CONFIG')
    assert.deepEqual(await loadPsk(file), parsePsk(bytes))
  })

  it('tolerates editor line endings, refuses anything else, and derives one mDNS tag per key', function () {
    const key = generatePsk()
    const crlf = new TextEncoder().encode(new TextDecoder().decode(key).replace(/\n/g, '\r\n') + '\r\n')
    assert.deepEqual(parsePsk(crlf), key)
    throwsCode(() => parsePsk(new TextEncoder().encode('not a key')), 'BAD_CONFIG')
    throwsCode(() => parsePsk(key.subarray(0, 90)), 'BAD_CONFIG')
    assert.equal(mdnsServiceTag(key), mdnsServiceTag(parsePsk(crlf)))
    assert.notEqual(mdnsServiceTag(key), mdnsServiceTag(generatePsk()))
    assert.match(mdnsServiceTag(key), /^_mesh-[0-9a-f]{16}\._udp\.local$/)
  })

  it('parses peer ids from words and files, and refuses typos', async function () {
    const ids = await Promise.all([1, 2].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
    assert.deepEqual([...parseAllowList([`${ids[0]},${ids[1]}`])], ids)
    assert.deepEqual([...parseAllowList([`# team\n${ids[0]}  # alice\n\n${ids[1]}\n`])], ids)
    throwsCode(() => parseAllowList(['12D3KooWnotapeer']), 'BAD_CONFIG')
  })
})
