import { BadArgumentError } from '../errors.js'

/**
 * When a periodic schedule fires, as pure functions of time, so every node
 * computes the same ticks with no coordination. All times are UTC.
 *  - `every` (e.g. `24h`, `90s`, `500ms`) with an optional `at` (`04:00`): ticks at
 *    `at` + k·every, anchored at the epoch's day when `at` is given, else at the epoch.
 *  - `cron`: five fields, minute hour day-of-month month day-of-week, each `*`,
 *    a number, a range `a-b`, a list `a,b` or a step `*\/n` / `a-b/n`.
 */
export interface ScheduleSpec {
  every?: string
  at?: string
  cron?: string
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `'24h'` → ms; anything else → BAD_ARGUMENT. */
export function parseInterval (text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text)
  const ms = m !== null ? Number(m[1]) * UNIT_MS[m[2]] : NaN
  if (!(ms >= 1) || !Number.isFinite(ms)) throw new BadArgumentError(`interval ${JSON.stringify(text)} does not parse: use e.g. 500ms, 30s, 5m, 24h, 7d`)
  return Math.round(ms)
}

function parseAt (text: string): number {
  const m = /^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$/.exec(text)
  if (m === null || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59) throw new BadArgumentError(`--at ${JSON.stringify(text)} does not parse: use HH:MM (UTC)`)
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3] ?? 0)) * 1000
}

const CRON_FIELDS: Array<[string, number, number]> = [['minute', 0, 59], ['hour', 0, 23], ['day of month', 1, 31], ['month', 1, 12], ['day of week', 0, 6]]

function parseCron (text: string): Array<Set<number>> {
  const fields = text.trim().split(/\s+/)
  if (fields.length !== 5) throw new BadArgumentError(`cron expression ${JSON.stringify(text)} must have 5 fields (minute hour day month weekday), got ${fields.length}`)
  return fields.map((field, i) => {
    const [name, lo, hi] = CRON_FIELDS[i]
    const values = new Set<number>()
    for (const part of field.split(',')) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part)
      if (m === null) throw new BadArgumentError(`cron ${name} field ${JSON.stringify(field)} does not parse`)
      const from = m[1] === '*' ? lo : Number(m[2])
      const to = m[1] === '*' ? hi : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? hi : from
      const step = m[4] !== undefined ? Number(m[4]) : 1
      if (from < lo || to > hi || from > to || step < 1) throw new BadArgumentError(`cron ${name} field ${JSON.stringify(field)} is out of range ${lo}-${hi}`)
      for (let v = from; v <= to; v += step) values.add(i === 4 && v === 7 ? 0 : v)
    }
    return values
  })
}

/** A parsed spec: the tick at or before `t`, and the first tick after `t`. */
export interface Ticks {
  /** The period (for every) or 60 s (the resolution of cron). */
  period: number
  previous: (t: number) => number
  next: (t: number) => number
}

export function parseSchedule (spec: ScheduleSpec): Ticks {
  if ((spec.every === undefined) === (spec.cron === undefined)) throw new BadArgumentError('a schedule needs exactly one of --every or --cron')
  if (spec.cron !== undefined) {
    if (spec.at !== undefined) throw new BadArgumentError('--at goes with --every, not with --cron')
    const [minutes, hours, days, months, weekdays] = parseCron(spec.cron)
    const matches = (t: number): boolean => {
      const d = new Date(t)
      return minutes.has(d.getUTCMinutes()) && hours.has(d.getUTCHours()) && days.has(d.getUTCDate()) && months.has(d.getUTCMonth() + 1) && weekdays.has(d.getUTCDay())
    }
    // Minute by minute, bounded: a valid expression matches within ~4 years (Feb 29).
    const scan = (t: number, dir: 1 | -1): number => {
      for (let i = 0; i < 60 * 24 * 366 * 5; i++, t += dir * 60_000) if (matches(t)) return t
      throw new BadArgumentError(`cron expression ${JSON.stringify(spec.cron)} never fires`)
    }
    const minute = (t: number): number => Math.floor(t / 60_000) * 60_000
    return { period: 60_000, previous: (t) => scan(minute(t), -1), next: (t) => scan(minute(t) + 60_000, 1) }
  }
  const every = parseInterval(spec.every as string)
  const anchor = spec.at !== undefined ? parseAt(spec.at) : 0
  const previous = (t: number): number => anchor + Math.floor((t - anchor) / every) * every
  return { period: every, previous, next: (t) => previous(t) + every }
}
