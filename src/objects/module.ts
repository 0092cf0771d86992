import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../errors.js'
import type { ExposeOptions } from './types.js'

/**
 * One object a module exposes: exactly one of `object` (an instance),
 * `factory` (a function returning a new instance) or `class` (a class with a
 * no-argument constructor), plus the expose options.
 */
export interface ExposeSpec extends ExposeOptions {
  object?: object
  factory?: () => object
  class?: new () => object
}

/** What the module exports as default: a map of object names to specs, or a function of the node returning it. */
export type ExposeMap = Record<string, ExposeSpec>
export type ExposeModuleExport<Node = unknown> = ExposeMap | ((node: Node) => ExposeMap | Promise<ExposeMap>)

interface Exposer { expose: (name: string, target: object | (() => object), options: ExposeOptions) => void }

/**
 * Load modules of objects (`mesh node --expose ./greeter.js,./chain.js`) and
 * expose what they export. Returns the names exposed.
 */
export async function exposeModules<N extends Exposer> (node: N, spec: string | string[]): Promise<string[]> {
  const paths = (Array.isArray(spec) ? spec : [spec]).flatMap(s => s.split(',')).map(s => s.trim()).filter(s => s !== '')
  const names: string[] = []
  for (const path of paths) {
    let mod: Record<string, unknown>
    try {
      mod = await import(pathToFileURL(resolve(path)).href)
    } catch (err: any) {
      throw new ConfigError(`cannot load object module ${path}: ${err.message}`)
    }
    let exported = mod.default ?? mod.objects
    if (typeof exported === 'function') exported = await (exported as (node: N) => unknown)(node)
    if (exported == null || typeof exported !== 'object') {
      throw new ConfigError(`object module ${path} must export default { name: { object | factory | class, instanceMode?, metadata?, oneway?, methods? } } or a function (node) => that`)
    }
    for (const [name, raw] of Object.entries(exported as Record<string, unknown>)) {
      const s = raw as ExposeSpec
      const given = [s?.object, s?.factory, s?.class].filter(v => v !== undefined)
      if (given.length !== 1) throw new ConfigError(`object module ${path}: "${name}" needs exactly one of object, factory or class`)
      const { object, factory, class: Class, ...options } = s
      node.expose(name, object ?? factory ?? (Class !== undefined ? () => new Class() : undefined) as object, options)
      names.push(name)
    }
  }
  return names
}
