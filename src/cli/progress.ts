import type { JobProgress } from '../stealing/index.js'
import { shortId, table } from './format.js'

/** Show the bar only for jobs that last longer than this: quick calls print nothing extra. */
const SHOW_AFTER_MS = 300
const WIDTH = 28

function isJobProgress (p: unknown): p is JobProgress {
  const x = p as JobProgress
  return x != null && typeof x === 'object' && typeof x.done === 'number' && typeof x.total === 'number' && Array.isArray(x.peers)
}

/**
 * A progress bar of a split job on stderr. Drawn only when stderr is a
 * terminal (a pipe or a log file gets no carriage-return noise) and only
 * once the job has run for a moment; stdout is never touched.
 */
export class ProgressBar {
  private readonly started = performance.now()
  private drawn = false
  last?: JobProgress

  constructor (private readonly stream: NodeJS.WriteStream = process.stderr, private readonly enabled = stream.isTTY === true) {}

  update (p: unknown): void {
    if (!isJobProgress(p)) return
    this.last = p
    if (!this.enabled || performance.now() - this.started < SHOW_AFTER_MS) return
    const filled = p.total === 0 ? WIDTH : Math.round(WIDTH * p.done / p.total)
    const peers = p.peers.filter(s => s.chunks > 0 || s.steals > 0).length
    const line = `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${p.done}/${p.total} chunks · ${peers} peer${peers === 1 ? '' : 's'} · ${(p.elapsedMs / 1000).toFixed(1)} s`
    this.stream.write(`\r${line}\x1b[K`)
    this.drawn = true
  }

  /** Erase the bar, before the result or an error is printed. */
  clear (): void {
    if (this.drawn) this.stream.write('\r\x1b[K')
    this.drawn = false
  }
}

/** Per-peer statistics of a job as a JSON-friendly object. */
export function statsOf (p: JobProgress | undefined, totalMs: number): Record<string, unknown> {
  if (p === undefined) return { split: false, ms: Math.round(totalMs) }
  return {
    split: true,
    ms: Math.round(totalMs),
    jobMs: p.elapsedMs,
    chunks: p.total,
    steals: p.peers.reduce((n, s) => n + s.steals, 0),
    peers: p.peers.map(s => ({ peer: s.peer, name: s.name, chunks: s.chunks, steals: s.steals, computeMs: s.ms, returned: s.returned, reclaimed: s.reclaimed ?? 0, direct: s.direct ?? 0 }))
  }
}

/** The --stats text printed on stderr after the result. */
export function renderStats (p: JobProgress | undefined, totalMs: number): string {
  if (p === undefined) return `stats: not split (ran whole on one node); ${Math.round(totalMs)} ms end to end`
  const rows = p.peers.map(s => [s.name === 'self' ? 'owner' : s.name, shortId(s.peer), String(s.chunks), String(s.steals), String(s.returned), String(s.reclaimed ?? 0), String(s.direct ?? 0), String(Math.round(s.ms))])
  const steals = p.peers.reduce((n, s) => n + s.steals, 0)
  return [
    `stats: ${p.total} chunks on ${p.peers.filter(s => s.chunks > 0).length} peer(s), ${steals} steal(s); job ${p.elapsedMs} ms, ${Math.round(totalMs)} ms end to end`,
    table(['peer', 'id', 'chunks', 'steals', 'returned', 'reclaimed', 'to caller', 'compute ms'], rows)
  ].join('\n')
}
