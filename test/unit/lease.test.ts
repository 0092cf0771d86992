import assert from 'node:assert/strict'
import { LeaseKeeper, type LeaseHooks } from '../../src/rpc/lease.js'

/** Hooks whose counters a test drives; `ticks` counts the keeper's timer ticks (through `heard`). */
function hooks (init: Partial<{ serving: number, waiting: number, growHeard: boolean }>): LeaseHooks & { beats: number, lapses: number[], ticks: number } {
  const h = {
    beats: 0,
    lapses: [] as number[],
    ticks: 0,
    heardCount: 0,
    serving: () => init.serving ?? 0,
    waiting: () => init.waiting ?? 0,
    heard: () => { h.ticks++; if (init.growHeard === true) h.heardCount++; return h.heardCount },
    beat: () => { h.beats++ },
    lapse: (ms: number) => { h.lapses.push(ms) }
  }
  return h
}

async function until (what: string, ok: () => boolean): Promise<void> {
  const end = Date.now() + 10_000
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

describe('rpc lease keeper', function () {
  it('sends a heartbeat each renewal while it serves calls', async function () {
    const h = hooks({ serving: 1 })
    const keeper = new LeaseKeeper({ renewMs: 5, timeoutMs: 1000 }, h)
    try {
      await until('three heartbeats', () => h.beats >= 3)
      assert.deepEqual(h.lapses, [])
    } finally { keeper.stop() }
  })

  it('sends no heartbeat when it serves nothing', async function () {
    const h = hooks({ serving: 0 })
    const keeper = new LeaseKeeper({ renewMs: 5, timeoutMs: 1000 }, h)
    try {
      await until('five ticks', () => h.ticks >= 5)
      assert.equal(h.beats, 0)
    } finally { keeper.stop() }
  })

  it('lapses once when calls wait and the peer stays silent for the lease, then stops', async function () {
    const h = hooks({ waiting: 1 })
    // Renewals far apart enough that a busy machine's late timer is not taken for a stalled loop.
    const keeper = new LeaseKeeper({ renewMs: 100, timeoutMs: 250 }, h)
    try {
      await until('the lease to lapse', () => h.lapses.length > 0)
      assert.equal(h.lapses.length, 1)
      assert.ok(h.lapses[0] >= 250, `silent ${h.lapses[0]} ms`)
      const ticks = h.ticks
      await new Promise(resolve => setTimeout(resolve, 300))
      assert.equal(h.ticks, ticks, 'no tick after the lapse')
      assert.equal(h.lapses.length, 1)
    } finally { keeper.stop() }
  })

  it('never lapses while bytes keep arriving', async function () {
    const h = hooks({ waiting: 1, growHeard: true })
    const keeper = new LeaseKeeper({ renewMs: 2, timeoutMs: 4 }, h)
    try {
      await until('twenty ticks', () => h.ticks >= 20)
      assert.deepEqual(h.lapses, [])
    } finally { keeper.stop() }
  })

  it('never lapses while nothing waits on the peer', async function () {
    const h = hooks({ waiting: 0 })
    const keeper = new LeaseKeeper({ renewMs: 2, timeoutMs: 4 }, h)
    try {
      await until('twenty ticks', () => h.ticks >= 20)
      assert.deepEqual(h.lapses, [])
    } finally { keeper.stop() }
  })
})
