/**
 * Terminal output of `mesh top` and `mesh events`. Names, arguments and
 * error messages come from other nodes: control characters (an ANSI escape
 * can rewrite the screen, retitle the window or worse) are shown as `?`.
 */

/** Text safe for a terminal: C0/C1 control characters and DEL replaced. */
export function plain (value: unknown): string {
  // eslint-disable-next-line no-control-regex
  return String(value ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')
}

/** Colours unless NO_COLOR is set (https://no-color.org) or the output is not a terminal. */
export function palette (enabled: boolean): Record<'bold' | 'dim' | 'green' | 'red' | 'blue' | 'yellow' | 'inverse', (s: string) => string> {
  const wrap = (open: number, close: number) => (s: string): string => enabled ? `\u001b[${open}m${s}\u001b[${close}m` : s
  return { bold: wrap(1, 22), dim: wrap(2, 22), green: wrap(32, 39), red: wrap(31, 39), blue: wrap(34, 39), yellow: wrap(33, 39), inverse: wrap(7, 27) }
}

export function useColor (stream: NodeJS.WriteStream): boolean {
  const noColor = process.env.NO_COLOR
  return stream.isTTY === true && (noColor === undefined || noColor === '')
}

/** A duration in ms, short: 620 µs, 8.84 ms, 1.29 s. */
export function duration (ms: number | undefined): string {
  if (ms === undefined) return ''
  if (ms < 1) return `${Math.round(ms * 1000)} µs`
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(2) : Math.round(ms)} ms`
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`
}

/** HH:MM:SS.mmm, local time. */
export function clock (epochMs: number): string {
  const d = new Date(epochMs)
  const p = (n: number, w = 2): string => String(n).padStart(w, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}

/** Cut to `width` visible characters. */
export function fit (line: string, width: number): string {
  return line.length > width ? line.slice(0, Math.max(0, width - 1)) + '…' : line
}
