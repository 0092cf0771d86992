import type BetterSqlite3 from 'better-sqlite3'
import { WORKFLOW_STORE_SCHEMA_VERSION } from '../constants.js'
import { ConfigError, StoreFullError } from '../errors.js'

/** A schedule record as a node keeps it: the signed envelope exactly as it was received (src/workflows/schedules.ts). */
export interface StoredSchedule { name: string, version: number, envelope: Uint8Array }

/**
 * A chord join this node holds (src/workflows/chords.ts). `joining`: its
 * header's members run as detached jobs, `members` their ids as each is
 * accepted; `firing`: the body was (or is being) submitted, `bodyJob` its id
 * once accepted; `done` / `failed`: `outcome` is the encoded result or wire error.
 */
export interface ChordRow {
  id: string
  workflow: Uint8Array
  /** Epoch ms the whole chord must finish by. */
  deadline: number
  members: Array<string | null>
  state: 'joining' | 'firing' | 'done' | 'failed'
  bodyJob: string | null
  outcome: Uint8Array | null
  finished: number | null
}

/** `fired`: this node knows the tick was fired (by itself or another node); `ran`: this node ran it. */
export type TickKind = 'fired' | 'ran'

/**
 * The workflow tables (schedules, the tick ids fired and run, the start
 * times of delayed detached jobs, chord joins) in the node's
 * own journal database (src/store/journal.ts), so they share its file, its
 * WAL mode and its owner check: a data dir belongs to one identity. The
 * tables have their own schema version, in their own meta table; they are
 * created if missing, and a version this code does not read is BAD_CONFIG.
 * The tables are WITHOUT ROWID (keyed by their text key alone: one b-tree,
 * one page each while small). Every write is one autocommit statement, durable when it returns (WAL,
 * synchronous=NORMAL: only a power cut loses the last ones).
 */
export class WorkflowStore {
  private readonly s: ReturnType<typeof prepare>

  private constructor (private readonly db: BetterSqlite3.Database) {
    this.s = prepare(db)
  }

  /** The workflow tables of a node's journal, if it has one (a node that serves nothing has none). */
  static of (journal: { database: BetterSqlite3.Database } | undefined): WorkflowStore | undefined {
    return journal !== undefined ? WorkflowStore.open(journal.database) : undefined
  }

  /** The workflow tables in `db`, created if missing. */
  static open (db: BetterSqlite3.Database): WorkflowStore {
    try {
      db.exec('CREATE TABLE IF NOT EXISTS wf_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID')
      const row = db.prepare("SELECT value FROM wf_meta WHERE key = 'schema'").get() as { value: string } | undefined
      if (row !== undefined && Number(row.value) !== WORKFLOW_STORE_SCHEMA_VERSION) {
        throw new Error(`its workflow schema version is ${row.value}, this mesh reads ${WORKFLOW_STORE_SCHEMA_VERSION}`)
      }
      db.transaction(() => {
        db.exec(`
          CREATE TABLE IF NOT EXISTS wf_schedules (name TEXT PRIMARY KEY, version INTEGER NOT NULL, envelope BLOB NOT NULL) WITHOUT ROWID;
          CREATE TABLE IF NOT EXISTS wf_ticks (tick TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (tick, kind)) WITHOUT ROWID;
          CREATE INDEX IF NOT EXISTS wf_ticks_at ON wf_ticks (at);
          CREATE TABLE IF NOT EXISTS wf_delays (id TEXT PRIMARY KEY, eta INTEGER NOT NULL) WITHOUT ROWID;
          CREATE TABLE IF NOT EXISTS wf_chords (id TEXT PRIMARY KEY, workflow BLOB NOT NULL, deadline INTEGER NOT NULL, members TEXT NOT NULL,
            state TEXT NOT NULL, body_job TEXT, outcome BLOB, finished INTEGER) WITHOUT ROWID;
        `)
        if (row === undefined) db.prepare("INSERT INTO wf_meta (key, value) VALUES ('schema', ?)").run(String(WORKFLOW_STORE_SCHEMA_VERSION))
      })()
      return new WorkflowStore(db)
    } catch (err: any) {
      throw new ConfigError(`cannot use the workflow tables of ${db.name}: ${err.message}`)
    }
  }

  /** Whether what is written here outlives the process (a data dir, not `:memory:`). */
  get durable (): boolean { return !this.db.memory }

  /** Keep `envelope` as the schedule `name` unless a version at least as new is kept. True if it was written. */
  putSchedule (name: string, version: number, envelope: Uint8Array): boolean {
    return this.write(() => this.s.putSchedule.run({ name, version, envelope }).changes > 0) ?? false
  }

  schedules (): StoredSchedule[] {
    if (!this.db.open) return []
    return (this.s.schedules.all() as Array<{ name: string, version: number, envelope: Buffer }>).map(r => ({ name: r.name, version: r.version, envelope: new Uint8Array(r.envelope) }))
  }

  /** Note a tick id (`name@ISO time`) as fired or run here. */
  addTick (tick: string, kind: TickKind, name: string, at: number): void {
    this.write(() => this.s.addTick.run(tick, kind, name, at))
  }

  /** The tick ids of `kind` kept. */
  ticks (kind: TickKind): string[] {
    if (!this.db.open) return []
    return (this.s.ticks.all(kind) as Array<{ tick: string }>).map(r => r.tick)
  }

  /**
   * Forget tick ids scheduled before `before`, except each schedule's newest
   * of each kind: the one a catch-up after a long downtime would otherwise
   * fire again (a daily or yearly schedule's previous tick is that old).
   */
  pruneTicks (before: number): number {
    return this.write(() => this.s.pruneTicks.run(before).changes) ?? 0
  }

  /** Job `id` (a detached job) may not start before `eta`. */
  putDelay (id: string, eta: number): void {
    this.write(() => this.s.putDelay.run(id, eta))
  }

  delay (id: string): number | undefined {
    if (!this.db.open) return undefined
    return (this.s.delay.get(id) as { eta: number } | undefined)?.eta
  }

  dropDelay (id: string): void {
    this.write(() => this.s.dropDelay.run(id))
  }

  pruneDelays (before: number): void {
    this.write(() => this.s.pruneDelays.run(before))
  }

  /** Write the whole row of a chord (a few hundred bytes: one statement, no partial updates to get wrong). */
  saveChord (row: ChordRow): void {
    this.write(() => this.s.saveChord.run({ ...row, members: JSON.stringify(row.members) }))
  }

  chord (id: string): ChordRow | undefined {
    if (!this.db.open) return undefined
    return chordOf(this.s.chord.get(id) as SqlChord | undefined)
  }

  unfinishedChords (): ChordRow[] {
    if (!this.db.open) return []
    return (this.s.unfinishedChords.all() as SqlChord[]).map(r => chordOf(r) as ChordRow)
  }

  /** Forget chords that finished before `before` (their submitter had its answer, or gave up). */
  pruneChords (before: number): void {
    this.write(() => this.s.pruneChords.run(before))
  }

  /** A write, or nothing once the journal is closed (a node stopping: late callbacks write nothing). STORE_FULL when the disk is full. */
  private write<T> (op: () => T): T | undefined {
    if (!this.db.open) return undefined
    try {
      return op()
    } catch (err: any) {
      if (typeof err?.code === 'string' && (err.code === 'SQLITE_FULL' || err.code.startsWith('SQLITE_IOERR'))) {
        throw new StoreFullError(`the workflow tables of ${this.db.name} cannot grow (${err.code as string})`)
      }
      throw err
    }
  }
}

interface SqlChord { id: string, workflow: Buffer, deadline: number, members: string, state: ChordRow['state'], body_job: string | null, outcome: Buffer | null, finished: number | null }

function chordOf (r: SqlChord | undefined): ChordRow | undefined {
  if (r === undefined) return undefined
  return { id: r.id, workflow: r.workflow, deadline: r.deadline, members: JSON.parse(r.members), state: r.state, bodyJob: r.body_job, outcome: r.outcome, finished: r.finished }
}

function prepare (db: BetterSqlite3.Database) {
  return {
    putSchedule: db.prepare(`INSERT INTO wf_schedules (name, version, envelope) VALUES (@name, @version, @envelope)
      ON CONFLICT (name) DO UPDATE SET version = excluded.version, envelope = excluded.envelope WHERE excluded.version > wf_schedules.version`),
    schedules: db.prepare('SELECT name, version, envelope FROM wf_schedules'),
    addTick: db.prepare('INSERT OR IGNORE INTO wf_ticks (tick, kind, name, at) VALUES (?, ?, ?, ?)'),
    ticks: db.prepare('SELECT tick FROM wf_ticks WHERE kind = ? ORDER BY at'),
    pruneTicks: db.prepare(`DELETE FROM wf_ticks WHERE at < ? AND at < (
      SELECT max(t.at) FROM wf_ticks t WHERE t.name = wf_ticks.name AND t.kind = wf_ticks.kind)`),
    putDelay: db.prepare('INSERT OR REPLACE INTO wf_delays (id, eta) VALUES (?, ?)'),
    delay: db.prepare('SELECT eta FROM wf_delays WHERE id = ?'),
    dropDelay: db.prepare('DELETE FROM wf_delays WHERE id = ?'),
    pruneDelays: db.prepare('DELETE FROM wf_delays WHERE eta < ?'),
    saveChord: db.prepare(`INSERT OR REPLACE INTO wf_chords (id, workflow, deadline, members, state, body_job, outcome, finished)
      VALUES (@id, @workflow, @deadline, @members, @state, @bodyJob, @outcome, @finished)`),
    chord: db.prepare('SELECT * FROM wf_chords WHERE id = ?'),
    unfinishedChords: db.prepare("SELECT * FROM wf_chords WHERE state IN ('joining', 'firing')"),
    pruneChords: db.prepare('DELETE FROM wf_chords WHERE finished IS NOT NULL AND finished < ?')
  }
}
