import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { DASHBOARD_HISTORY_JOBS } from '../constants.js'
import type { JobRecord } from '../events/types.js'
import type { JobHistory } from '../events/view.js'
import { checkJob } from '../events/validate.js'

/** How often finished jobs are appended to the file, ms: one write per batch, not per job. */
const FLUSH_MS = 500

/**
 * The dashboard's recent jobs, kept across restarts of its node in a bounded
 * file of JSON lines (one finished job a line). Appends are batched; when
 * the file holds twice DASHBOARD_HISTORY_JOBS lines it is rewritten (to a
 * temporary file, then renamed) with the newest DASHBOARD_HISTORY_JOBS.
 */
export class FileHistory implements JobHistory {
  private pending: string[] = []
  private lines = 0
  private timer?: NodeJS.Timeout
  private writing: Promise<void> = Promise.resolve()

  constructor (readonly path: string, private readonly max = DASHBOARD_HISTORY_JOBS) {}

  /** The default place: per dashboard address, under the user's state directory. */
  static defaultPath (host: string, port: number): string {
    const state = process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state')
    return join(state, 'mesh', `dashboard-${host.replace(/[^\w.-]/g, '_')}-${port}.jsonl`)
  }

  load (): JobRecord[] {
    let text: string
    try {
      text = readFileSync(this.path, 'utf8')
    } catch {
      return []
    }
    const jobs: JobRecord[] = []
    for (const line of text.split('\n')) {
      if (line === '') continue
      this.lines++
      try {
        const raw = JSON.parse(line)
        // The file is ours, but it is checked like anything else read back: a torn last line is skipped.
        const job = checkJob(raw, typeof raw?.peer === 'string' ? raw.peer : '')
        if (job !== undefined && job.state !== 'running') jobs.push(job)
      } catch { /* a torn line */ }
    }
    return jobs.slice(-this.max)
  }

  append (job: JobRecord): void {
    this.pending.push(JSON.stringify(job))
    this.timer ??= setTimeout(() => { void this.flush() }, FLUSH_MS)
  }

  async flush (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    const batch = this.pending
    this.pending = []
    this.writing = this.writing.then(async () => {
      if (batch.length === 0) return
      await mkdir(dirname(this.path), { recursive: true })
      await appendFile(this.path, batch.join('\n') + '\n')
      this.lines += batch.length
      if (this.lines >= 2 * this.max) await this.compact()
    }).catch(() => { /* a full or read-only disk loses history, never the node */ })
    await this.writing
  }

  private async compact (): Promise<void> {
    const keep = (await readFile(this.path, 'utf8')).split('\n').filter(l => l !== '').slice(-this.max)
    const tmp = `${this.path}.tmp`
    await writeFile(tmp, keep.join('\n') + '\n')
    await rename(tmp, this.path)
    this.lines = keep.length
  }
}
