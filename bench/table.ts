/** One line of the results table. `cost` is how many times the floor's cost mesh pays. */
export interface Row {
  what: string
  mesh: string
  floor: string
  cost: string
  target: string
  met: string
}

export function row (what: string, mesh: number, floor: number, unit: string, target?: { limit: number, atMost: boolean }, higherIsBetter = false): Row {
  const digits = (v: number): string => v >= 1000 ? Math.round(v).toLocaleString('en-US') : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)
  const cost = higherIsBetter ? floor / mesh : mesh / floor
  let met = ''
  if (target !== undefined) met = (target.atMost ? mesh <= target.limit : mesh >= target.limit) ? 'yes' : 'NO'
  return {
    what,
    mesh: `${digits(mesh)} ${unit}`,
    floor: `${digits(floor)} ${unit}`,
    cost: `${cost.toFixed(1)}×`,
    target: target === undefined ? '' : `${target.atMost ? '≤' : '≥'} ${digits(target.limit)} ${unit}`,
    met
  }
}

const HEADER = ['measurement', 'mesh', 'floor (raw TCP)', '× floor cost', 'target', 'met']

function cells (r: Row): string[] { return [r.what, r.mesh, r.floor, r.cost, r.target, r.met] }

export function textTable (rows: Row[]): string {
  const all = [HEADER, ...rows.map(cells)]
  const widths = HEADER.map((_, i) => Math.max(...all.map(r => r[i].length)))
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()
  return [line(HEADER), line(widths.map(w => '-'.repeat(w))), ...rows.map(r => line(cells(r)))].join('\n')
}

export function markdownTable (rows: Row[]): string {
  const line = (r: string[]): string => `| ${r.join(' | ')} |`
  return [line(HEADER), line(HEADER.map(() => '---')), ...rows.map(r => line(cells(r)))].join('\n')
}
