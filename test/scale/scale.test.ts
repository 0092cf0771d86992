import assert from 'node:assert/strict'
import { inPrivateNetwork } from '../helpers.js'
import { canBuildTopology, quantiles } from './harness.js'
import { churn, converge, describeConverge, subnets } from './scenarios.js'

/**
 * Issue 15 at CI size (SCALE_NODES, default 20): convergence on 127.0.0.1 and
 * on a bridge of network namespaces, churn, and two subnets joined by one
 * bootstrap. No timing thresholds: the figures are printed; `npm run
 * bench:scale` runs 50 and prints the table. The namespace tests need
 * ../shared/netns-run (root or a user namespace); elsewhere they skip.
 */
const N = Number(process.env.SCALE_NODES ?? 20)
const s = (ms: number): string => Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'never'

describe(`scale: ${N} nodes (issue 15)`, function () {
  this.timeout(180_000)

  before(function () {
    if (!inPrivateNetwork()) {
      console.log('    (skipped: run inside ../shared/netns-run; these tests start many mDNS nodes)')
      this.skip()
    }
  })

  it(`converges on 127.0.0.1: the client can call all ${N} nodes`, async function () {
    const r = await converge('loopback', N, 90_000)
    console.log(`      ${describeConverge(r)}`)
    assert.equal(r.callableAfterMs.filter(Number.isFinite).length, N)
    assert.equal(r.seen, N)
  })

  it(`converges on a bridge, each node in its own network namespace: the client can call all ${N}`, async function () {
    if (!canBuildTopology()) { console.log('      (skipped: cannot make child network namespaces here)'); this.skip() }
    const r = await converge('bridge', N, 90_000)
    console.log(`      ${describeConverge(r)}`)
    assert.equal(r.callableAfterMs.filter(Number.isFinite).length, N)
  })

  it(`churn: SIGKILL ${Math.ceil(N / 5)} of ${N} and start as many: no call lost, the dead forgotten`, async function () {
    const k = Math.ceil(N / 5)
    const r = await churn('loopback', N, k, 90_000)
    const f = quantiles(r.forgottenAfterMs.filter(Number.isFinite))
    console.log(`      ${r.ok} calls ok, ${r.failed} failed ${JSON.stringify(r.codes)}; dead forgotten after p50 ${s(f.p50)} max ${s(f.max)}; new callable after max ${s(Math.max(...r.newCallableAfterMs))}`)
    assert.equal(r.failed, 0, JSON.stringify(r.codes))
    assert.ok(r.ok > 0)
    assert.equal(f.n, k, 'every killed node forgotten')
    assert.equal(r.newCallableAfterMs.filter(Number.isFinite).length, k)
  })

  it(`two subnets of ${N / 2}, no multicast between them, joined by one --bootstrap: all callable, mesh ls lists all`, async function () {
    if (!canBuildTopology()) { console.log('      (skipped: cannot make child network namespaces here)'); this.skip() }
    const r = await subnets(N / 2, N / 2, 90_000)
    const q = quantiles(r.callableAfterMs.filter(Number.isFinite))
    console.log(`      callable ${q.n}/${N} after the join: p50 ${s(q.p50)} p90 ${s(q.p90)} max ${s(q.max)}; client holds ${r.seen} records; mesh ls lists ${r.lsProviders}`)
    assert.equal(q.n, N)
    assert.equal(r.lsProviders, N)
  })
})
