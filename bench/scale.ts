/**
 * `npm run bench:scale`: the figures of issue 15 (docs in test/scale/scenarios.ts).
 */
import { converge, describeConverge, type Layout } from '../test/scale/scenarios.js'

const args = process.argv.slice(2)
const layout = (args[0] ?? 'loopback') as Layout
const nodes = Number(args[1] ?? 10)
console.log(describeConverge(await converge(layout, nodes, Number(args[2] ?? 60_000))))
