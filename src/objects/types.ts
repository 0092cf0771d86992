/**
 * Public types of remote objects: what `expose` takes and what `lookup`
 * gives back.
 */

/**
 * How instances of an exposed object are made.
 * - `single`: one shared instance serves every caller.
 * - `session`: one instance per calling peer, made on its first call and
 *   dropped when that peer disconnects.
 * - `percall`: a new instance for every call.
 */
export type InstanceMode = 'single' | 'session' | 'percall'

export interface ExposeOptions {
  /** Default `single` for an object, `session` for a factory or class. */
  instanceMode?: InstanceMode
  /** Tags the registry advertises, for `lookupByMetadata`. */
  metadata?: string[]
  /** Methods whose callers do not wait: no result, errors stay on the provider. */
  oneway?: string[]
  /**
   * Exactly the methods callable remotely. Without it: the object's own and
   * prototype methods, except `constructor`, names starting with `_`,
   * Object.prototype members and anything that is not a function.
   */
  methods?: string[]
}

/** Marks a value returned by `handle()`: the caller receives a `Remote<T>`. */
export declare const handleBrand: unique symbol
export type Handle<T> = T & { readonly [handleBrand]: T }

/** `await proxy[release]()` frees a handle or callback on the peer that holds it. */
export const release: unique symbol = Symbol.for('mesh.release')

type Unwrap<R> =
  R extends Handle<infer U> ? Remote<U>
    : R extends Array<infer E> ? Array<Unwrap<E>>
      : R

type MethodKeys<T> = {
  [K in keyof T]: K extends string
    ? K extends `_${string}` | 'constructor' ? never : T[K] extends (...args: any[]) => any ? K : never
    : never
}[keyof T]

/**
 * The typed proxy `lookup<T>()` returns: every method of T, returning a
 * promise of its (awaited) result; handles come back as `Remote<U>`.
 */
export type Remote<T> = {
  [K in MethodKeys<T>]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Unwrap<Awaited<R>>> : never
} & {
  readonly [release]: () => Promise<void>
}

/** A function received as a callback: calling it runs it on the peer that passed it. */
export type RemoteFunction<F extends (...args: any[]) => any> =
  ((...args: Parameters<F>) => Promise<Unwrap<Awaited<ReturnType<F>>>>) & { readonly [release]: () => Promise<void> }

/** An object a node exposes, as `findObjects` lists it. */
export interface ObjectEntry {
  name: string
  metadata: string[]
  /** The peer exposing it (this node's own id for a local object). */
  peerId: string
}

export interface LookupOptions {
  /** How long to wait for a provider to appear, in ms. */
  timeout?: number
  /** Bind to this provider instead of the least loaded one. */
  peerId?: string
  /** Timeout of each method call made through the proxy, in ms. */
  callTimeout?: number
}

/** What `describe` tells a caller about an exposed object. */
export interface ObjectDescription {
  name: string
  instanceMode: InstanceMode
  metadata: string[]
  oneway: string[]
}

export interface ObjectStats {
  /** Objects this node exposes. */
  exposed: number
  /** Session instances alive here. */
  sessions: number
  /** Handles and callbacks peers hold into this node. */
  exported: number
  /** Peers with at least one of them. */
  exportPeers: number
}
