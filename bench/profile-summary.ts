import { readFileSync } from 'node:fs'

/** Summarise a .cpuprofile: self time by function and by package. `node dist/bench/profile-summary.js FILE [N]` */
interface Node { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }
const profile = JSON.parse(readFileSync(process.argv[2], 'utf8')) as { nodes: Node[], samples: number[], timeDeltas: number[] }
const top = Number(process.argv[3] ?? 40)
const byId = new Map(profile.nodes.map(n => [n.id, n]))
const self = new Map<number, number>()
profile.samples.forEach((id, i) => { self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)) })
const total = [...self.values()].reduce((a, b) => a + b, 0)
const fn = new Map<string, number>()
const pkg = new Map<string, number>()
for (const [id, t] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame
  const short = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')
  const key = `${functionName || '(anon)'} ${short}:${lineNumber + 1}`
  fn.set(key, (fn.get(key) ?? 0) + t)
  const p = url === '' ? functionName : url.startsWith('node:') ? 'node:' + url.slice(5).split('/')[0] : short.startsWith('dist/') ? short : short.split('/').slice(0, short.startsWith('@') ? 2 : 1).join('/')
  pkg.set(p, (pkg.get(p) ?? 0) + t)
}
const show = (m: Map<string, number>, n: number): void => {
  for (const [k, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) process.stdout.write(`${(100 * t / total).toFixed(1).padStart(5)}%  ${k}\n`)
}
process.stdout.write(`total ${(total / 1000).toFixed(0)} ms\n-- by package/file --\n`)
show(pkg, 25)
process.stdout.write('-- by function --\n')
show(fn, top)
