/**
 * A strict reader of the Prometheus text exposition format (0.0.4): every
 * line is a comment (# HELP / # TYPE) or `name{labels} value`; anything else
 * throws (values as Go's ParseFloat reads them: NaN and Inf in any case). Returns samples keyed by name and labels sorted by name.
 */
export function parsePrometheus (text: string): Map<string, number> {
  const samples = new Map<string, number>()
  const types = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
  for (const line of text.split('\n')) {
    if (line === '') continue
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line)
      if (m === null) throw new Error(`bad comment line: ${line}`)
      if (m[1] === 'TYPE' && !types.has(m[3])) throw new Error(`bad type: ${line}`)
      continue
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|[Nn][Aa][Nn]|[+-]?[Ii][Nn][Ff])( -?\d+)?$/.exec(line)
    if (m === null) throw new Error(`bad sample line: ${line}`)
    const labels: string[] = []
    if (m[3] !== undefined && m[3] !== '') {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy
      let l: RegExpExecArray | null
      let consumed = 0
      while ((l = re.exec(m[3])) !== null) { labels.push(`${l[1]}="${l[2]}"`); consumed = re.lastIndex }
      if (consumed !== m[3].length) throw new Error(`bad labels: ${line}`)
    }
    labels.sort()
    samples.set(labels.length > 0 ? `${m[1]}{${labels.join(',')}}` : m[1], Number(m[4]))
  }
  return samples
}
