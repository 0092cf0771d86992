import { NotReadyError } from '../../errors.js'
import { parseJobId } from '../../results/id.js'
import type { DetachedJob, JobSnapshot } from '../../results/index.js'
import type { StoredState } from '../../store/journal.js'
import { parseArg } from '../args.js'
import { settle, withClientNode, type ClientOptions } from '../client.js'
import { renderResult, shortId, table, toJson } from '../format.js'

export interface JobsCommandOptions extends ClientOptions {
  json: boolean
}

const STATES = new Set(['PENDING', 'STARTED', 'PROGRESS', 'SUCCESS', 'FAILURE', 'RETRY', 'CANCELLED', 'EXPIRED'])

/** `mesh submit <task> [args...]`: hand the task to the mesh, print its id at once, exit. */
export async function submitCommand (task: string, words: string[], options: JobsCommandOptions & { jobTimeout?: number, retries?: number, countdown?: number, eta?: number }): Promise<void> {
  const args = words.map(parseArg)
  await withClientNode(options, async (node) => {
    const job = await node.submit(task, args, { detach: true, timeout: options.jobTimeout, retries: options.retries, countdown: options.countdown, eta: options.eta })
    process.stdout.write((options.json ? toJson({ ok: true, id: job.id, task, holder: job.holder }) : job.id) + '\n')
  })
}

/** `mesh status <id>`: PENDING | STARTED | PROGRESS 40% | SUCCESS | FAILURE | RETRY | CANCELLED | EXPIRED. */
export async function statusCommand (id: string, options: JobsCommandOptions): Promise<void> {
  parseJobId(id)
  await withJob(id, options, async (job) => {
    process.stdout.write((options.json ? toJson(snapshotOf(job)) : describe(job.status, job.progress)) + '\n')
  })
}

/** `mesh result <id> [--wait]`: the result, printed exactly as `mesh call` prints it. */
export async function resultCommand (id: string, options: JobsCommandOptions & { wait?: boolean }): Promise<void> {
  parseJobId(id)
  const started = performance.now()
  await withJob(id, options, async (job) => {
    if (options.wait !== true && !job.done) throw new NotReadyError(`job ${id} is ${describe(job.status, job.progress)}: not finished (--wait waits for it)`)
    const result = await job.result({ timeout: options.timeout })
    const ms = Math.round((performance.now() - started) * 1000) / 1000
    process.stdout.write((options.json ? toJson({ ok: true, id, task: job.task, result, ms }) : renderResult(result)) + '\n')
  })
}

/** `mesh cancel <id>`: stop the job wherever it runs; prints its state after. */
export async function cancelCommand (id: string, options: JobsCommandOptions): Promise<void> {
  parseJobId(id)
  await withJob(id, options, async (job) => {
    const status = await job.cancel()
    process.stdout.write((options.json ? toJson({ ok: true, id, status }) : status) + '\n')
  })
}

/** `mesh jobs [--state S] [--task T]`: recent jobs mesh-wide, newest first. */
export async function jobsCommand (options: JobsCommandOptions & { state?: string, task?: string, limit?: number }): Promise<void> {
  const state = options.state?.toUpperCase()
  if (state !== undefined && !STATES.has(state)) {
    const { BadArgumentError } = await import('../../errors.js')
    throw new BadArgumentError(`--state must be one of ${[...STATES].join(', ')}, got "${options.state}"`)
  }
  await withClientNode(options, async (node) => {
    await settle(node, options.timeout)
    const jobs = await node.jobs({ state: state as StoredState | undefined, task: options.task, limit: options.limit })
    if (options.json) {
      process.stdout.write(toJson(jobs) + '\n')
      return
    }
    if (jobs.length === 0) {
      process.stderr.write('no jobs found\n')
      return
    }
    const time = (ms?: number): string => ms === undefined ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19)
    process.stdout.write(table(['ID', 'TASK', 'STATE', 'SUBMITTED', 'FINISHED', 'HOLDER'],
      jobs.map(j => [j.id, j.task, describe(j.state, j.progress), time(j.created), time(j.finished), shortId(j.holder)])) + '\n')
  })
}

async function withJob (id: string, options: JobsCommandOptions, use: (job: DetachedJob) => Promise<void>): Promise<void> {
  await withClientNode(options, async (node) => {
    await settle(node, options.timeout)
    await use(await node.job(id))
  })
}

function snapshotOf (job: DetachedJob): Partial<JobSnapshot> & { status: string } {
  return { id: job.id, task: job.task, status: job.status, progress: job.progress, created: job.created, finished: job.finished, holder: job.holder }
}

/** A status as `mesh status` prints it: PROGRESS with a percentage when the progress says how far. */
function describe (status: string, progress: unknown): string {
  if (status !== 'PROGRESS') return status
  const p = progress as { done?: unknown, total?: unknown }
  if (typeof p?.done === 'number' && typeof p.total === 'number' && p.total > 0) return `PROGRESS ${Math.round(100 * p.done / p.total)}%`
  if (typeof progress === 'number' && progress >= 0 && progress <= 1) return `PROGRESS ${Math.round(100 * progress)}%`
  return 'PROGRESS'
}
