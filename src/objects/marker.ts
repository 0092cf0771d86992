import type { Handle } from './types.js'

/** Objects that travel as references (handles, callbacks) instead of by value. */
const marked = new WeakMap<object, MarkOptions>()

export interface MarkOptions {
  /** Methods of the object whose callers do not wait. */
  oneway?: string[]
  /** Exactly the methods callable through the reference. */
  methods?: string[]
}

/**
 * Return `obj` from a remote method as a handle: the caller gets a proxy to
 * this very object (its exposed methods), not a copy. Like Comlink's
 * `proxy()`. Released by the caller with `proxy[release]()`, by its garbage
 * collector, or when its peer disconnects.
 */
export function handle<T extends object> (obj: T, options: MarkOptions = {}): Handle<T> {
  marked.set(obj, options)
  return obj as Handle<T>
}

/**
 * Pass `obj` as an argument by reference: the remote method gets a proxy
 * whose methods run here, on the caller. A plain function argument needs no
 * marking: every function travels as a callback.
 */
export function callback<T extends object> (obj: T, options: MarkOptions = {}): T {
  marked.set(obj, options)
  return obj
}

export function markOf (obj: object): MarkOptions | undefined {
  return marked.get(obj)
}
