import type { MeshView } from '../../events/view.js'
import { withClientNode, settle, type ClientOptions } from '../client.js'
import { shortId, table } from '../format.js'
import { duration, fit, palette, plain, useColor } from '../screen.js'

/** The live view redraws at most this often, ms (and once a second for the rates). */
const REDRAW_MS = 250

/** The screen of `mesh top`: nodes, tasks, jobs running then recent, cut to the terminal's size. */
export function renderTop (view: MeshView, size: { columns: number, rows: number }, color: boolean): string {
  const c = palette(color)
  const nodes = view.nodeViews().filter(n => !n.self || n.tasks.length > 0)
  const names = new Map(view.nodeViews().map(n => [n.peerId, plain(n.name) || shortId(n.peerId)]))
  const tasks = view.taskViews()
  const jobs = view.jobViews()
  const running = jobs.filter(j => j.state === 'running')
  const state = (s: string): string => (s === 'succeeded' || s === 'up' ? c.green : s === 'failed' || s === 'down' ? c.red : s === 'running' ? c.blue : c.yellow)(s)
  const lines: string[] = []
  lines.push(c.bold(`mesh top — ${nodes.filter(n => n.up).length} nodes up, ${tasks.length} tasks, ${running.length} jobs running`) + c.dim('   q quits'))
  lines.push('')
  const nodeRows = nodes.map(n => [plain(n.name), shortId(n.peerId), !n.up ? 'down' : n.draining ? 'draining' : 'up', plain(n.tasks.join(',')), `${n.busy}/${n.workers}`, String(n.queued), String(n.served), String(n.failed), String(n.steals)])
  lines.push(...colorColumn(table(['NODE', 'PEER ID', 'STATE', 'TASKS', 'BUSY', 'QUEUE', 'SERVED', 'FAILED', 'STEALS'], nodeRows), 2, state).split('\n'))
  lines.push('')
  const taskRows = tasks.map(t => [plain(t.name), String(t.providers), t.callsPerSec.toFixed(2), duration(t.p50Ms), duration(t.p99Ms), String(t.calls), String(t.failures)])
  lines.push(...table(['TASK', 'PROVIDERS', 'CALLS/S', 'P50', 'P99', 'CALLS', 'FAILURES'], taskRows).split('\n'))
  lines.push('')
  const room = Math.max(3, size.rows - lines.length - 3)
  const shown = [...running, ...jobs.filter(j => j.state !== 'running')].slice(0, room)
  const jobRows = shown.map(j => [plain(j.id), plain(j.task), j.state, names.get(j.peer) ?? shortId(j.peer), names.get(j.from) ?? shortId(j.from),
    j.total !== undefined ? `${j.done ?? 0}/${j.total}` : '', duration(j.ms), plain(j.args), j.error !== undefined ? plain(`${j.error.code}: ${j.error.message}`) : ''])
  lines.push(...colorColumn(table(['JOB', 'TASK', 'STATE', 'NODE', 'CALLER', 'CHUNKS', 'TIME', 'ARGS', 'ERROR'], jobRows), 2, state).split('\n'))
  return lines.map(l => fitVisible(l, size.columns)).join('\n')
}

/** Colour the words of column `index` of a rendered table's body (its width is unchanged). */
function colorColumn (text: string, index: number, paint: (s: string) => string): string {
  const rows = text.split('\n')
  if (rows.length < 3) return text
  const starts: number[] = []
  rows[1].replace(/-+/g, (m, offset: number) => { starts.push(offset); return m })
  const from = starts[index]
  const to = starts[index + 1] ?? Infinity
  return rows.map((r, i) => {
    if (i < 2 || from === undefined) return r
    const cell = r.slice(from, to)
    const word = cell.trimEnd()
    return r.slice(0, from) + paint(word) + cell.slice(word.length) + r.slice(to)
  }).join('\n')
}

/** Cut a line holding colour escapes to `width` visible characters. */
function fitVisible (line: string, width: number): string {
  // eslint-disable-next-line no-control-regex
  const visible = line.replace(/\u001b\[\d+m/g, '')
  if (visible.length <= width) return line
  return fit(visible, width) // cut lines lose their colour: rare, and always readable
}

/** `mesh top`: the mesh, live, full screen (q quits). Not a terminal: one snapshot, then exit. */
export async function topCommand (options: ClientOptions): Promise<void> {
  const { watchMesh } = await import('../../events/watch.js')
  await withClientNode(options, async (node) => {
    const view = watchMesh(node)
    try {
      await settle(node, options.timeout)
      await view.whenSynced(Math.min(options.timeout, 2000))
      const out = process.stdout
      if (out.isTTY !== true || process.stdin.isTTY !== true) {
        out.write(renderTop(view, { columns: out.columns ?? 160, rows: Number.POSITIVE_INFINITY }, useColor(out)) + '\n')
        return
      }
      await live(view)
    } finally {
      view.stop()
    }
  })
}

async function live (view: MeshView): Promise<void> {
  const out = process.stdout
  const stdin = process.stdin
  const color = useColor(out)
  let timer: NodeJS.Timeout | undefined
  const draw = (): void => {
    timer = undefined
    // Home, draw, clear the rest: no flicker from clearing the whole screen first.
    out.write('\u001b[H' + renderTop(view, { columns: out.columns ?? 80, rows: out.rows ?? 24 }, color).split('\n').map(l => l + '\u001b[K').join('\n') + '\u001b[J')
  }
  const schedule = (): void => { timer ??= setTimeout(draw, REDRAW_MS) }
  out.write('\u001b[?1049h\u001b[?25l\u001b[2J')
  view.on('change', schedule)
  out.on('resize', schedule)
  const tick = setInterval(schedule, 1000)
  draw()
  stdin.setRawMode(true)
  stdin.resume()
  await new Promise<void>((resolve) => {
    const quit = (): void => { resolve() }
    stdin.on('data', (data: Buffer) => {
      const key = data.toString('utf8')
      if (key === 'q' || key === 'Q' || key === '\u0003' || key === '\u001b') quit()
    })
    process.once('SIGTERM', quit)
    process.once('SIGINT', quit)
  })
  clearInterval(tick)
  clearTimeout(timer)
  view.off('change', schedule)
  out.off('resize', schedule)
  stdin.setRawMode(false)
  stdin.pause()
  out.write('\u001b[?25h\u001b[?1049l')
}
