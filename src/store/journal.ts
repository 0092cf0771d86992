import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import { JOURNAL_APPLICATION_ID, JOURNAL_FILE, JOURNAL_SCHEMA_VERSION } from '../constants.js'
import { BadArgumentError, ConfigError, StoreFullError } from '../errors.js'

/** The states a journaled job can be in (a Job's statuses, plus EXPIRED once its result is gone). */
export type StoredState = 'PENDING' | 'STARTED' | 'PROGRESS' | 'SUCCESS' | 'FAILURE' | 'RETRY' | 'CANCELLED' | 'EXPIRED'

export const FINAL_STATES: ReadonlySet<StoredState> = new Set(['SUCCESS', 'FAILURE', 'CANCELLED', 'EXPIRED'])

/** One job as the journal keeps it. Payloads are codec-encoded bytes (BigInt- and typed-array-faithful). */
export interface JobRow {
  id: string
  task: string
  args: Uint8Array | null
  state: StoredState
  /** `provider`: this node accepted it and runs it; `replica`: this node keeps a copy and takes over if the provider dies. */
  role: 'provider' | 'replica'
  /** The other holder (the replica of a provider's row, the provider of a replica's row), if any. */
  peer: string | null
  submitter: string
  idempotent: boolean
  /** The job's own time limit, in ms. */
  timeout: number
  created: number
  finished: number | null
  /** The encoded result of a SUCCESS, or the encoded wire error of a FAILURE / CANCELLED / EXPIRED. */
  outcome: Uint8Array | null
  /** The encoded last progress a running job reported (journaled at most every PROGRESS_JOURNAL_MS); dropped when it settles. */
  progress?: Uint8Array | null
}

/** A running job's non-final state (and last progress, if it reported one) to journal. */
export interface StateUpdate {
  id: string
  state: StoredState
  progress?: Uint8Array
}

export interface ListFilter {
  state?: StoredState
  task?: string
  limit: number
}

interface SqlRow extends Omit<JobRow, 'idempotent' | 'args' | 'outcome' | 'progress'> {
  idempotent: number
  args: Buffer | null
  outcome: Buffer | null
  progress: Buffer | null
}

const COLUMNS = 'id, task, args, state, role, peer, submitter, idempotent, timeout, created, finished, outcome, progress'

function fromSql (row: SqlRow | undefined): JobRow | undefined {
  if (row === undefined) return undefined
  return { ...row, idempotent: row.idempotent === 1 }
}

/** Characters of a peer id's end that the index of kept results holds (58^12 values: a peer's page holds only its rows in practice; the query checks the whole id). */
const KEPT_PEER_TAIL = 12

/** The bytes a finished row counts towards --result-store-max: its payload plus a row's overhead. */
function sizeOf (id: string, outcome: Uint8Array | null): number {
  return (outcome?.byteLength ?? 0) + id.length + 64
}

/**
 * The embedded journal of detached jobs: SQLite (better-sqlite3) in WAL mode
 * with synchronous=NORMAL — each commit survives the process being killed
 * (the WAL is in the OS's hands once written), and only a power cut could
 * lose the last commits. One file per node identity; the owner's peer id is
 * written in it, so a data dir of another identity is refused, not mixed in.
 */
export class Journal {
  private readonly db: BetterSqlite3.Database
  private readonly statements: ReturnType<Journal['prepare']>
  /** Bytes of payload held by finished jobs: what --result-store-max bounds. */
  private finishedBytes = 0

  private constructor (db: BetterSqlite3.Database, readonly location: string) {
    this.db = db
    this.statements = this.prepare()
    this.finishedBytes = (this.statements.finishedBytes.get() as { n: number | null }).n ?? 0
  }

  /**
   * Open (creating if needed) the journal of `owner` under `dataDir`, or an
   * in-memory one for `:memory:`. A file that is not SQLite, is corrupt, was
   * written by another program, or belongs to another identity is BAD_CONFIG.
   */
  static async open (dataDir: string, owner: string, options: { maxPages?: number } = {}): Promise<Journal> {
    let Database: typeof BetterSqlite3
    try {
      Database = (await import('better-sqlite3')).default
    } catch (err: any) {
      throw new ConfigError(`the job journal needs better-sqlite3, which did not load: ${err.message}`)
    }
    const memory = dataDir === ':memory:'
    const location = memory ? ':memory:' : join(dataDir, JOURNAL_FILE)
    let db: BetterSqlite3.Database | undefined
    try {
      if (!memory) mkdirSync(dataDir, { recursive: true, mode: 0o700 })
      db = new Database(location)
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = NORMAL')
      if (options.maxPages !== undefined) db.pragma(`max_page_count = ${options.maxPages}`)
      const check = db.pragma('quick_check', { simple: true })
      if (check !== 'ok') throw new Error(`integrity check failed: ${String(check)}`)
      const appId = db.pragma('application_id', { simple: true }) as number
      const tables = (db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n
      if (appId === 0 && tables === 0) {
        Journal.create(db, owner)
      } else if (appId !== JOURNAL_APPLICATION_ID) {
        throw new Error('it is a SQLite database of another program (foreign application id)')
      }
      const meta = Object.fromEntries((db.prepare('SELECT key, value FROM meta').all() as Array<{ key: string, value: string }>).map(r => [r.key, r.value]))
      if (meta.owner !== owner) throw new Error(`it belongs to peer ${meta.owner}, not to this node (${owner}): give each identity its own --data-dir`)
      const schema = Number(meta.schema)
      if (schema === 1) Journal.upgradeFrom1(db)
      if (schema === 1 || schema === 2) Journal.upgradeFrom2(db)
      else if (schema !== JOURNAL_SCHEMA_VERSION) throw new Error(`its schema version is ${meta.schema}, this mesh reads ${JOURNAL_SCHEMA_VERSION}`)
      return new Journal(db, location)
    } catch (err: any) {
      db?.close()
      throw new ConfigError(`cannot use the job journal ${location}: ${err.message}`)
    }
  }

  private static create (db: BetterSqlite3.Database, owner: string): void {
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY, task TEXT NOT NULL, args BLOB, state TEXT NOT NULL, role TEXT NOT NULL,
        peer TEXT, submitter TEXT NOT NULL, idempotent INTEGER NOT NULL, timeout INTEGER NOT NULL,
        created INTEGER NOT NULL, finished INTEGER, outcome BLOB, size INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX jobs_created ON jobs (created);
      CREATE INDEX jobs_finished ON jobs (finished) WHERE finished IS NOT NULL;
    `)
    const put = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)')
    put.run('owner', owner)
    put.run('schema', '1')
    db.pragma(`application_id = ${JOURNAL_APPLICATION_ID}`)
    Journal.upgradeFrom1(db)
    Journal.upgradeFrom2(db)
  }

  /**
   * Schema 2: a running job's last progress, and an index of the unfinished
   * jobs by their other holder (a peer leaving is looked up there, not by a
   * scan of every finished result). One transaction: all or nothing.
   */
  private static upgradeFrom1 (db: BetterSqlite3.Database): void {
    db.transaction(() => {
      db.exec(`
        ALTER TABLE jobs ADD COLUMN progress BLOB;
        CREATE INDEX jobs_unfinished ON jobs (peer) WHERE finished IS NULL;
      `)
      db.prepare("UPDATE meta SET value = '2' WHERE key = 'schema'").run()
    })()
  }

  /**
   * Schema 3: an index of the kept results (finished, not expired) by their
   * other holder, so the results a departed peer also held are found a page
   * at a time (src/results/recopy.ts), not by a scan of all. It indexes the
   * peer id's last KEPT_PEER_TAIL characters, not the whole 52: ~22 bytes a
   * kept result instead of ~120 with (peer, id) (the query checks the whole
   * peer id too); within one tail its entries are in rowid order, the pages'.
   */
  private static upgradeFrom2 (db: BetterSqlite3.Database): void {
    db.transaction(() => {
      db.exec(`CREATE INDEX jobs_kept ON jobs (substr(peer, -${KEPT_PEER_TAIL})) WHERE finished IS NOT NULL AND state != 'EXPIRED'`)
      db.prepare("UPDATE meta SET value = ? WHERE key = 'schema'").run(String(JOURNAL_SCHEMA_VERSION))
    })()
  }

  private prepare () {
    const db = this.db
    return {
      insert: db.prepare(`INSERT INTO jobs (${COLUMNS}, size)
        VALUES (@id, @task, @args, @state, @role, @peer, @submitter, @idempotent, @timeout, @created, @finished, @outcome, @progress, @size)`),
      get: db.prepare(`SELECT ${COLUMNS} FROM jobs WHERE id = ?`),
      setState: db.prepare('UPDATE jobs SET state = @state, progress = coalesce(@progress, progress) WHERE id = @id AND finished IS NULL'),
      setPeer: db.prepare('UPDATE jobs SET peer = ? WHERE id = ?'),
      takeOver: db.prepare("UPDATE jobs SET role = 'provider', peer = NULL WHERE id = ?"),
      heldWith: db.prepare(`SELECT ${COLUMNS} FROM jobs WHERE finished IS NULL AND peer = ?`),
      keptWith: db.prepare(`SELECT rowid AS seq, ${COLUMNS} FROM jobs INDEXED BY jobs_kept
        WHERE substr(peer, -${KEPT_PEER_TAIL}) = substr(@peer, -${KEPT_PEER_TAIL}) AND peer = @peer AND finished IS NOT NULL AND state != 'EXPIRED' AND rowid > @after
        ORDER BY rowid LIMIT @limit`),
      settle: db.prepare('UPDATE jobs SET state = @state, finished = @finished, outcome = @outcome, args = NULL, progress = NULL, size = @size WHERE id = @id AND finished IS NULL'),
      expire: db.prepare("UPDATE jobs SET state = 'EXPIRED', outcome = NULL, size = 0 WHERE id = ?"),
      finishedBytes: db.prepare('SELECT sum(size) AS n FROM jobs WHERE finished IS NOT NULL'),
      oldestFinished: db.prepare("SELECT id, size FROM jobs WHERE finished IS NOT NULL AND state != 'EXPIRED' ORDER BY finished LIMIT 64"),
      expiredBefore: db.prepare("SELECT id, size FROM jobs WHERE finished IS NOT NULL AND finished < ? AND state != 'EXPIRED'"),
      forgetBefore: db.prepare("DELETE FROM jobs WHERE state = 'EXPIRED' AND finished < ?"),
      unfinished: db.prepare(`SELECT ${COLUMNS} FROM jobs WHERE finished IS NULL`),
      count: db.prepare('SELECT count(*) AS n FROM jobs')
    }
  }

  /**
   * Journal a job this node accepted (or keeps a copy of): one statement, no
   * look-up first. Refused with STORE_FULL when the disk is full (nothing
   * stored before is touched), BAD_ARGUMENT when the id is already held. A
   * finished row (a result copied here from its last holder) counts towards
   * the bytes bound like one that finished here.
   */
  accept (row: JobRow): void {
    const size = row.finished !== null ? sizeOf(row.id, row.outcome) : 0
    try {
      this.write(() => this.statements.insert.run(this.toSql(row, size)))
    } catch (err: any) {
      if (err?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new BadArgumentError(`job ${row.id} is already held here`)
      throw err
    }
    this.finishedBytes += size
  }

  /** Run `op` (several writes) as one transaction: one commit. */
  batch (op: () => void): void {
    this.write(() => { this.db.transaction(op)() })
  }

  get (id: string): JobRow | undefined {
    return fromSql(this.statements.get.get(id) as SqlRow | undefined)
  }

  /** Record the non-final states (STARTED, PROGRESS, RETRY) and last progress of running jobs, in one transaction. */
  setStates (updates: Iterable<StateUpdate>): void {
    this.write(() => {
      this.db.transaction(() => {
        for (const u of updates) this.statements.setState.run({ id: u.id, state: u.state, progress: u.progress ?? null })
      })()
    })
  }

  /** This node's replica copy becomes the job's only holder (its provider is gone). */
  takeOver (id: string): void {
    this.write(() => this.statements.takeOver.run(id))
  }

  /** The job's other holder is now `peer` (a new replica, after the last one or the provider died). */
  setPeer (id: string, peer: string | null): void {
    this.write(() => this.statements.setPeer.run(peer, id))
  }

  /** The unfinished jobs whose other holder is `peer` (from an index of the unfinished only). */
  heldWith (peer: string): JobRow[] {
    return (this.statements.heldWith.all(peer) as SqlRow[]).map(r => fromSql(r) as JobRow)
  }

  /**
   * Up to `limit` kept results (finished, not expired) whose other holder is
   * `peer`, in journal order after position `after` (0: from the start): one
   * page of an index look-up. Each row's `seq` is where the next page starts.
   */
  keptWith (peer: string, after: number, limit: number): Array<JobRow & { seq: number }> {
    return (this.statements.keptWith.all({ peer, after, limit }) as Array<SqlRow & { seq: number }>).map(r => ({ ...r, idempotent: r.idempotent === 1 }))
  }

  /** Record a job's final state and outcome; the arguments are dropped (no longer needed). */
  settle (id: string, state: StoredState, outcome: Uint8Array | null, finished: number): boolean {
    const size = sizeOf(id, outcome)
    const changed = this.write(() => this.statements.settle.run({ id, state, outcome, finished, size })).changes > 0
    if (changed) this.finishedBytes += size
    return changed
  }

  /** Jobs accepted and not finished: re-run (or failed) at start. */
  unfinished (): JobRow[] {
    return (this.statements.unfinished.all() as SqlRow[]).map(r => fromSql(r) as JobRow)
  }

  /** Newest first. */
  list (filter: ListFilter): JobRow[] {
    const where: string[] = []
    const params: unknown[] = []
    if (filter.state !== undefined) { where.push('state = ?'); params.push(filter.state) }
    if (filter.task !== undefined) { where.push('task = ?'); params.push(filter.task) }
    params.push(filter.limit)
    const sql = `SELECT id, task, NULL AS args, state, role, peer, submitter, idempotent, timeout, created, finished, NULL AS outcome, NULL AS progress FROM jobs
      ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created DESC LIMIT ?`
    return (this.db.prepare(sql).all(...params) as SqlRow[]).map(r => fromSql(r) as JobRow)
  }

  /**
   * Results finished before `now - ttl` become EXPIRED (their payload is
   * dropped, the row stays so asking says EXPIRED, not UNKNOWN_JOB); rows
   * that finished more than `forgetAfter` ago are forgotten. Returns the ids just expired.
   */
  sweep (now: number, ttl: number, forgetAfter: number): string[] {
    const old = this.statements.expiredBefore.all(now - ttl) as Array<{ id: string, size: number }>
    this.db.transaction(() => {
      for (const r of old) this.statements.expire.run(r.id)
      this.statements.forgetBefore.run(now - Math.max(forgetAfter, ttl))
    })()
    for (const r of old) this.finishedBytes -= r.size
    return old.map(r => r.id)
  }

  /** Oldest finished results out until the payload held is ≤ `maxBytes`. Returns the ids evicted. */
  bound (maxBytes: number): string[] {
    const evicted: string[] = []
    while (this.finishedBytes > maxBytes) {
      const batch = this.statements.oldestFinished.all() as Array<{ id: string, size: number }>
      if (batch.length === 0) break
      this.db.transaction(() => {
        for (const r of batch) {
          if (this.finishedBytes <= maxBytes) break
          this.statements.expire.run(r.id)
          this.finishedBytes -= r.size
          evicted.push(r.id)
        }
      })()
    }
    return evicted
  }

  get bytes (): number { return this.finishedBytes }

  /** The open database handle, shared with the node's other tables in this file (src/store/workflow-store.ts). */
  get database (): BetterSqlite3.Database { return this.db }

  get size (): number { return (this.statements.count.get() as { n: number }).n }

  close (): void {
    if (this.db.open) this.db.close()
  }

  private toSql (row: JobRow, size: number): Record<string, unknown> {
    return { ...row, idempotent: row.idempotent ? 1 : 0, progress: row.progress ?? null, size }
  }

  private write<T> (op: () => T): T {
    try {
      return op()
    } catch (err: any) {
      if (err?.code === 'SQLITE_FULL' || err?.code === 'SQLITE_IOERR' || err?.code === 'SQLITE_IOERR_WRITE') {
        throw new StoreFullError(`the job journal ${this.location} cannot grow (${err.code}): job refused, nothing stored was lost`)
      }
      throw err
    }
  }
}
