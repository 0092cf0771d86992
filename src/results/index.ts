import { logger } from '@libp2p/logger'
import { DEFAULT_DETACHED_TIMEOUT_MS, DEFAULT_RESULT_STORE_MAX_BYTES, DEFAULT_RESULT_TTL_MS } from '../constants.js'
import { ConfigError, NotRunningError } from '../errors.js'
import type { IncomingCall } from '../rpc/channel.js'
import { Journal, type StoredState } from '../store/journal.js'
import { defaultDataDir } from '../store/data-dir.js'
import { JobClient, type DetachedJob, type JobClientComponents } from './client.js'
import { DetachedJobs, type DetachOptions, type DetachedJobsComponents, type JobSnapshot } from './service.js'

export { JobClient, DetachedJob } from './client.js'
export type { DetachedStatus, DetachedJobEvents } from './client.js'
export { DetachedJobs, JOB_NAMESPACE } from './service.js'
export type { JobSnapshot, DetachOptions } from './service.js'

export interface ResultOptions {
  /** Where the job journal lives: a folder, or `:memory:` for none. Default: a per-identity folder under the user's state dir (docs/results.md). */
  dataDir?: string
  /** Keep results of detached jobs this long after they finish, in ms (default 24 h). */
  resultTtl?: number
  /** Most bytes of finished results kept; the oldest go first (default 256 MiB). */
  resultStoreMax?: number
  /** Simulate a full disk: the journal may not grow past this many SQLite pages (testing). */
  journalMaxPages?: number
}

/** What the results service needs from its node. */
export type ResultsComponents = Omit<DetachedJobsComponents, 'journal' | 'logger' | 'ttl' | 'maxBytes' | 'defaultTimeout'> & Omit<JobClientComponents, 'local'> & {
  /** Whether this node holds jobs (asked at start): only a node that serves tasks does (a CLI client never). */
  holds: () => boolean
  /** False for an identity made afresh at each start: then nothing is kept on disk by default. */
  persistentIdentity: boolean
}

/** Check the options eagerly, before anything starts. */
export function checkResultOptions (options: ResultOptions): void {
  for (const key of ['resultTtl', 'resultStoreMax', 'journalMaxPages'] as const) {
    const value = options[key]
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) throw new ConfigError(`${key} must be a positive integer, got ${String(value)}`)
  }
}

/**
 * Detached jobs of one node: the holder side (journal, replica, TTL, size
 * bound) when it serves tasks, and the client side every node has. start()
 * opens the journal — BAD_CONFIG for a corrupt or foreign one — before the
 * node takes calls; afterStart() re-runs what was accepted and not finished.
 */
export class ResultsService {
  private holder?: DetachedJobs
  private client?: JobClient
  /** The node's journal while started (its database also holds the workflow tables: src/store/workflow-store.ts). */
  journal?: Journal

  constructor (private readonly components: ResultsComponents, private readonly options: ResultOptions = {}) {
    checkResultOptions(options)
  }

  async start (): Promise<void> {
    const c = this.components
    let journal: Journal | undefined
    if (c.holds()) journal = await Journal.open(this.options.dataDir ?? defaultDataDir(c.peerId, c.persistentIdentity), c.peerId, { maxPages: this.options.journalMaxPages })
    this.journal = journal
    this.holder = journal !== undefined
      ? new DetachedJobs({
        ...c,
        journal,
        logger: logger('mesh:results'),
        ttl: this.options.resultTtl ?? DEFAULT_RESULT_TTL_MS,
        maxBytes: this.options.resultStoreMax ?? DEFAULT_RESULT_STORE_MAX_BYTES,
        defaultTimeout: DEFAULT_DETACHED_TIMEOUT_MS
      })
      : undefined
    this.client = new JobClient({ ...c, local: this.holder })
  }

  afterStart (): void { this.holder?.resume() }

  /** Stop; resolves once the outcomes still on their way to the replicas are sent (at most a call's timeout). */
  async stop (): Promise<void> {
    const holder = this.holder
    this.holder = undefined
    await holder?.stop()
  }

  /** Serve an internal `@mesh/jobs/…` call. */
  handle (call: IncomingCall, from: string): unknown {
    if (this.holder === undefined) throw new NotRunningError('this node holds no detached jobs')
    return this.holder.handle(call, from)
  }

  /** A peer left: take over the jobs it provided that this node keeps a copy of. */
  peerLeft (peer: string): void { this.holder?.peerLeft(peer) }

  async submit<T = unknown> (task: string, args: unknown[], options: DetachOptions): Promise<DetachedJob<T>> {
    return await this.started().submit<T>(task, args, options)
  }

  async job<T = unknown> (id: string): Promise<DetachedJob<T>> { return await this.started().job<T>(id) }

  async jobs (filter: { state?: StoredState, task?: string, limit?: number } = {}): Promise<JobSnapshot[]> { return await this.started().jobs(filter) }

  private started (): JobClient {
    if (this.client === undefined) throw new NotRunningError('the node is not started')
    return this.client
  }
}
