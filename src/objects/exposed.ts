import { ConfigError, TaskFailedError, UnknownObjectError } from '../errors.js'
import type { ObjectInfo } from '../registry/record.js'
import { checkMethodList, exposedMethods, isClass } from './exposure.js'
import type { ExposeOptions, InstanceMode, ObjectDescription } from './types.js'

export const OBJECT_NAME = /^[A-Za-z_][\w-]*$/
const MODES: InstanceMode[] = ['single', 'session', 'percall']

interface Exposed {
  name: string
  mode: InstanceMode
  metadata: string[]
  oneway: Set<string>
  allow?: Set<string>
  instance?: object
  methods?: Set<string>
  factory?: () => object
  sessions: Map<string, { instance: object, methods: ReadonlySet<string> }>
}

/** The instance a call runs on, and the methods it may call there. */
export interface Target {
  name: string
  instance: object
  methods: ReadonlySet<string>
  oneway: ReadonlySet<string>
}

function make (name: string, factory: () => object): object {
  const instance = factory()
  if (instance === null || typeof instance !== 'object') throw new TaskFailedError(`the factory of "${name}" returned ${instance === null ? 'null' : typeof instance}, not an object`)
  return instance
}

/**
 * The objects this node exposes, by name, with their instance mode: one
 * instance (`single`), one per calling peer (`session`) or one per call
 * (`percall`). Checks every expose option eagerly, naming the bad one.
 */
export class ExposedTable {
  private readonly exposed = new Map<string, Exposed>()

  add (name: string, target: unknown, options: ExposeOptions = {}): void {
    if (typeof name !== 'string' || !OBJECT_NAME.test(name)) throw new ConfigError(`object name "${String(name)}" must be letters, digits, _ or -, starting with a letter or _`)
    if (this.exposed.has(name)) throw new ConfigError(`an object named "${name}" is already exposed here`)
    const isFactory = typeof target === 'function'
    if (!isFactory && (target === null || typeof target !== 'object')) throw new ConfigError(`expose("${name}"): give an object, a class or a factory function`)
    const mode = options.instanceMode ?? (isFactory ? 'session' : 'single')
    if (!MODES.includes(mode)) throw new ConfigError(`instanceMode must be one of ${MODES.join(', ')}, got "${String(mode)}"`)
    const metadata = options.metadata ?? []
    if (!Array.isArray(metadata) || !metadata.every(t => typeof t === 'string')) throw new ConfigError('metadata must be an array of strings')
    const allow = options.methods !== undefined ? checkMethodList('methods', options.methods) : undefined
    const oneway = options.oneway !== undefined ? checkMethodList('oneway', options.oneway) : new Set<string>()
    const entry: Exposed = { name, mode, metadata: [...metadata], oneway, allow, sessions: new Map() }
    if (mode === 'single') {
      entry.instance = isFactory ? make(name, target as () => object) : target as object
      entry.methods = allow ?? exposedMethods(entry.instance)
    } else {
      if (!isFactory) throw new ConfigError(`instanceMode "${mode}" needs a factory function or a class, not an object`)
      const Class = target
      entry.factory = isClass(Class) ? () => new Class() : target as () => object
    }
    for (const m of oneway) {
      if (entry.methods !== undefined && !entry.methods.has(m)) throw new ConfigError(`oneway method "${m}" is not an exposed method of "${name}"`)
    }
    this.exposed.set(name, entry)
  }

  remove (name: string): boolean {
    const entry = this.exposed.get(name)
    if (entry === undefined) return false
    entry.sessions.clear()
    this.exposed.delete(name)
    return true
  }

  has (name: string): boolean { return this.exposed.has(name) }

  get size (): number { return this.exposed.size }

  /** What the registry advertises. */
  offer (): ObjectInfo[] {
    return [...this.exposed.values()].map(e => ({ name: e.name, metadata: e.metadata }))
  }

  /** The instance a call from `from` runs on: made for its session or for the call if the mode says so. */
  target (name: string, from: string): Target {
    const e = this.exposed.get(name)
    if (e === undefined) {
      throw new UnknownObjectError(`this node exposes no object "${name}"; it exposes ${[...this.exposed.keys()].join(', ') || 'nothing'}`)
    }
    if (e.mode === 'single') return { name: e.name, instance: e.instance as object, methods: e.methods as Set<string>, oneway: e.oneway }
    if (e.mode === 'session') {
      let session = e.sessions.get(from)
      if (session === undefined) {
        const made = make(e.name, e.factory as () => object)
        session = { instance: made, methods: e.allow ?? exposedMethods(made) }
        e.sessions.set(from, session)
      }
      return { name: e.name, instance: session.instance, methods: session.methods, oneway: e.oneway }
    }
    const instance = make(e.name, e.factory as () => object)
    return { name: e.name, instance, methods: e.allow ?? exposedMethods(instance), oneway: e.oneway }
  }

  describe (name: string): ObjectDescription {
    const e = this.exposed.get(name)
    if (e === undefined) throw new UnknownObjectError(`this node exposes no object "${String(name)}"`)
    return { name: e.name, instanceMode: e.mode, metadata: e.metadata, oneway: [...e.oneway] }
  }

  oneway (name: string): string[] { return [...(this.exposed.get(name)?.oneway ?? [])] }

  /** Sessions held, for stats. */
  get sessions (): number {
    let n = 0
    for (const e of this.exposed.values()) n += e.sessions.size
    return n
  }

  /** Drop the sessions of `peer` (it left), or every session. */
  dropSessions (peer?: string): void {
    for (const e of this.exposed.values()) {
      if (peer === undefined) e.sessions.clear()
      else e.sessions.delete(peer)
    }
  }

  entries (): Array<{ name: string, metadata: string[] }> {
    return [...this.exposed.values()].map(e => ({ name: e.name, metadata: [...e.metadata] }))
  }
}
