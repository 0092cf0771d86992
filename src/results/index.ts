import { logger } from '@libp2p/logger'
import { DEFAULT_DETACHED_TIMEOUT_MS, DEFAULT_RESULT_STORE_MAX_BYTES, DEFAULT_RESULT_TTL_MS } from '../constants.js'
import { ConfigError } from '../errors.js'
import { Journal } from '../store/journal.js'
import { defaultDataDir } from '../store/data-dir.js'
import { JobClient, type JobClientComponents } from './client.js'
import { DetachedJobs, type DetachedJobsComponents } from './service.js'

export { JobClient, DetachedJob } from './client.js'
export type { DetachedStatus, DetachedJobEvents } from './client.js'
export { DetachedJobs } from './service.js'
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

type Parts = Omit<DetachedJobsComponents, 'journal' | 'logger' | 'ttl' | 'maxBytes' | 'defaultTimeout'> & Omit<JobClientComponents, 'local'>

/** Validate the options and open the journal (BAD_CONFIG for a corrupt or foreign one): before the node starts listening. */
export async function openJournal (options: ResultOptions, peerId: string, persistentIdentity: boolean): Promise<Journal> {
  for (const key of ['resultTtl', 'resultStoreMax'] as const) {
    const value = options[key]
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) throw new ConfigError(`${key} must be a positive integer, got ${String(value)}`)
  }
  return await Journal.open(options.dataDir ?? defaultDataDir(peerId, persistentIdentity), peerId, { maxPages: options.journalMaxPages })
}

/** The holder service (when the node serves tasks) and the client every node has. */
export function createDetachedJobs (parts: Parts, journal: Journal | undefined, options: ResultOptions): { holder?: DetachedJobs, client: JobClient } {
  const holder = journal !== undefined
    ? new DetachedJobs({
      ...parts,
      journal,
      logger: logger('mesh:results'),
      ttl: options.resultTtl ?? DEFAULT_RESULT_TTL_MS,
      maxBytes: options.resultStoreMax ?? DEFAULT_RESULT_STORE_MAX_BYTES,
      defaultTimeout: DEFAULT_DETACHED_TIMEOUT_MS
    })
    : undefined
  return { holder, client: new JobClient({ ...parts, local: holder }) }
}
