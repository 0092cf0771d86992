/**
 * `../shared/netns-run npm run bench:scale`: the figures of issue 15, at 50
 * nodes (SCALE_NODES to change it; `node dist/bench/scale.js loopback 10` runs
 * one convergence only). Prints the table (nodes, all ready after,
 * client sees providers after, joins seen by node 1, RSS per node) for 50
 * nodes on 127.0.0.1 and 50 in their own namespaces on a bridge, the
 * callable-after distribution, CPU per node, churn (kill a fifth, start as
 * many) and two subnets joined by one bootstrap.
 */
import { loadavg } from 'node:os'
import { inPrivateNetwork } from '../test/helpers.js'
import { canBuildTopology, quantiles } from '../test/scale/harness.js'
import { churn, converge, describeConverge, subnets, type ConvergeResult, type Layout } from '../test/scale/scenarios.js'

if (!inPrivateNetwork()) {
  process.stderr.write('bench:scale starts many mDNS nodes: run it inside ../shared/netns-run (../shared/netns-run npm run bench:scale)\n')
  process.exit(2)
}

const s = (ms: number): string => Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : 'never'
const load = (): string => loadavg().map(l => l.toFixed(2)).join(' ')
const args = process.argv.slice(2)

if (args.length > 0) {
  console.log(describeConverge(await converge(args[0] as Layout, Number(args[1] ?? 10), Number(args[2] ?? 60_000))))
  process.exit(0)
}

const N = Number(process.env.SCALE_NODES ?? 50)
const bridge = canBuildTopology()
console.log(`bench:scale — ${N} nodes of \`mesh node --serve add\`, a library client (test/scale/probe.ts); load average at start ${load()}`)

const rows: ConvergeResult[] = []
for (const layout of ['loopback', 'bridge'] as Layout[]) {
  if (layout === 'bridge' && !bridge) { console.log('(bridge layout skipped: cannot make network namespaces here)'); continue }
  const r = await converge(layout, N, 60_000)
  rows.push(r)
  console.log(describeConverge(r), `(load ${load()})`)
}

console.log('\n| layout | nodes | all ready after | client sees providers | joins seen by node 1 | RSS per node (median / max) | callable after last ready (p50 / p90 / max) | CPU per node to converge |')
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |')
for (const r of rows) {
  const q = quantiles(r.callableAfterMs.filter(Number.isFinite))
  console.log(`| ${r.layout === 'loopback' ? '127.0.0.1, one namespace' : 'own namespace each, one bridge'} | ${r.nodes} | ${s(r.allReadyMs)} | ${r.seen}/${r.nodes} after ${s(r.seenAfterMs)} | ${r.joinsNode1} | ${(r.rssMedian / 2 ** 20).toFixed(0)} / ${(r.rssMax / 2 ** 20).toFixed(0)} MB | ${q.n}/${r.nodes}: ${s(q.p50)} / ${s(q.p90)} / ${s(q.max)} | ${r.cpuConverge.toFixed(2)} s |`)
}

const k = Math.ceil(N / 5)
const c = await churn('loopback', N, k, 90_000)
const f = quantiles(c.forgottenAfterMs.filter(Number.isFinite))
const nc = quantiles(c.newCallableAfterMs.filter(Number.isFinite))
console.log(`\nchurn (${N} on 127.0.0.1, SIGKILL ${k} at random, start ${k}): ${c.ok} calls ok, ${c.failed} failed ${JSON.stringify(c.codes)}; ` +
  `dead forgotten by the client after p50 ${s(f.p50)} max ${s(f.max)} (${f.n}/${k}); new nodes callable after their ready: p50 ${s(nc.p50)} max ${s(nc.max)} (${nc.n}/${k}) (load ${load()})`)

if (bridge) {
  const half = Math.floor(N / 2)
  const r = await subnets(half, N - half, 90_000)
  const q = quantiles(r.callableAfterMs.filter(Number.isFinite))
  console.log(`two subnets (${half} + ${N - half}, no multicast between them, joined by one --bootstrap): callable from a client of subnet 1 after the join: ` +
    `${q.n}/${N}, p50 ${s(q.p50)} p90 ${s(q.p90)} max ${s(q.max)}; \`mesh ls --no-mdns --bootstrap <one node>\` lists ${r.lsProviders}/${N} (load ${load()})`)
}
process.exit(0)
