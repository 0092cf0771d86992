import { addExtension } from 'msgpackr'
import { MAX_REF_DEPTH, REF_EXTENSION_TYPE } from '../constants.js'

/**
 * References on the wire. A handle or callback travels as a MessagePack
 * extension value `[id, kind, oneway?]`, so it can sit anywhere in the
 * arguments or the result and can never be confused with user data (a map
 * with a magic key could). The id names an entry in the sender's table for
 * this peer; `kind` says whether the receiver may call it as a function.
 */
export const enum RefKind { Function = 0, Object = 1 }

/** A reference being sent: the codec writes it as the extension. */
export class RefOut {
  constructor (readonly id: number, readonly kind: RefKind, readonly oneway?: string[]) {}
}

/** A reference as decoded: inert data until the object service binds it to a proxy for its peer. */
export class RefIn {
  constructor (readonly data: unknown) {}
}

addExtension({
  Class: RefOut,
  type: REF_EXTENSION_TYPE,
  write: (ref: RefOut) => ref.oneway !== undefined && ref.oneway.length > 0 ? [ref.id, ref.kind, ref.oneway] : [ref.id, ref.kind],
  read: (data: unknown) => new RefIn(data)
})

/** Check a decoded reference; undefined when it is malformed. */
export function parseRef (ref: RefIn): { id: number, kind: RefKind, oneway: string[] } | undefined {
  const d = ref.data
  if (!Array.isArray(d) || !Number.isSafeInteger(d[0]) || (d[1] !== RefKind.Function && d[1] !== RefKind.Object)) return undefined
  const oneway = Array.isArray(d[2]) ? d[2].filter((m: unknown): m is string => typeof m === 'string') : []
  return { id: d[0], kind: d[1], oneway }
}

/** `visit` returns this to say "not mine, look inside". */
export const DESCEND = Symbol('descend')

/**
 * Replace values inside arrays and plain objects, copying only what changes
 * (the caller's arguments are never mutated). Typed arrays, Maps, class
 * instances and the like are left whole; `visit` sees every non-primitive.
 */
export function mapDeep (value: unknown, visit: (v: object) => unknown, depth = 0): unknown {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return value
  const replaced = visit(value as object)
  if (replaced !== DESCEND) return replaced
  if (typeof value === 'function' || depth >= MAX_REF_DEPTH) return value
  if (Array.isArray(value)) {
    let out: unknown[] | undefined
    for (let i = 0; i < value.length; i++) {
      const x = value[i]
      const y = mapDeep(x, visit, depth + 1)
      if (y !== x) { out ??= value.slice(); out[i] = y }
    }
    return out ?? value
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return value
  let out: Record<string, unknown> | undefined
  for (const key of Object.keys(value)) {
    const x = (value as Record<string, unknown>)[key]
    const y = mapDeep(x, visit, depth + 1)
    if (y !== x) { out ??= { ...(value as Record<string, unknown>) }; out[key] = y }
  }
  return out ?? value
}

/** The arguments of a call, mapped; the array itself is returned when nothing changed. */
export function mapArgs (args: unknown[], visit: (v: object) => unknown): unknown[] {
  let out: unknown[] | undefined
  for (let i = 0; i < args.length; i++) {
    const x = args[i]
    if (x === null || (typeof x !== 'object' && typeof x !== 'function')) continue
    const y = mapDeep(x, visit, 1)
    if (y !== x) { out ??= args.slice(); out[i] = y }
  }
  return out ?? args
}
