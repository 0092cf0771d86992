import { EVENT_ARGS_CHARS } from '../constants.js'
import { bitLength } from '../tasks/split-builtins.js'

/** Integers up to this many bits are shown in full (≤ 25 digits); toString costs microseconds there. */
const EXACT_BIGINT_BITS = 80

/** A value shown short for events and the dashboard: `4, 6`, `20000n`, `Float64Array(1000000)`, `{rows: 3, …}`. */
export function shortArgs (args: readonly unknown[], max = EVENT_ARGS_CHARS): string {
  let out = ''
  for (let i = 0; i < args.length && out.length <= max; i++) {
    out += (i === 0 ? '' : ', ') + shortValue(args[i], 2)
  }
  return out.length > max ? out.slice(0, max - 1) + '…' : out
}

function shortValue (v: unknown, depth: number): string {
  switch (typeof v) {
    case 'number': case 'boolean': return String(v)
    case 'bigint': {
      // Decimal conversion of a huge integer is heavy work (10^6! takes seconds):
      // a label must never do it on the event loop, so past 80 bits only the
      // size is shown, from the bit length (linear time).
      const bits = v === 0n ? 0 : bitLength(v < 0n ? -v : v)
      if (bits <= EXACT_BIGINT_BITS) return `${v}n`
      return `${v < 0n ? '-' : ''}…(~${Math.floor((bits - 1) * Math.log10(2)) + 1} digits)n`
    }
    case 'string': return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)
    case 'undefined': return 'undefined'
    case 'function': return 'function'
  }
  if (v === null) return 'null'
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length?: number }).length ?? v.byteLength})`
  if (depth === 0) return Array.isArray(v) ? '[…]' : '{…}'
  if (Array.isArray(v)) return `[${v.slice(0, 4).map(x => shortValue(x, depth - 1)).join(', ')}${v.length > 4 ? ', …' : ''}]`
  const entries = Object.entries(v as object)
  return `{${entries.slice(0, 3).map(([k, x]) => `${k}: ${shortValue(x, depth - 1)}`).join(', ')}${entries.length > 3 ? ', …' : ''}}`
}
