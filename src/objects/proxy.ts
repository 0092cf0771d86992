import { HandleReleasedError } from '../errors.js'
import { isForbiddenName } from './exposure.js'
import { release } from './types.js'

/** How a proxy reaches its object: a method name ('' to call a function) and arguments. */
export type Invoke = (method: string, args: unknown[]) => Promise<unknown>

export interface ProxyState {
  released: boolean
  /** What the proxy points at, for messages. */
  label: string
  /** Methods whose calls do not wait for the remote side. */
  oneway: ReadonlySet<string>
}

/** Every proxy this process made, so one passed on as an argument travels as a reference. */
const proxies = new WeakMap<object, ProxyState>()

export function proxyState (value: object): ProxyState | undefined {
  return proxies.get(value)
}

const noop = (): void => {}

/**
 * A proxy whose every string property is a method returning a promise. A
 * function proxy (a callback) can also be called directly. `then` is
 * undefined so awaiting the proxy itself does not call out.
 */
export function makeProxy (callable: boolean, state: ProxyState, invoke: Invoke, onRelease: () => Promise<void>): object {
  const methods = new Map<string, (...args: unknown[]) => Promise<unknown>>()
  const call = (method: string, args: unknown[]): Promise<unknown> => {
    if (state.released) return Promise.reject(new HandleReleasedError(`${state.label} was released`))
    if (state.oneway.has(method)) {
      // The caller does not wait: the outcome, even an error, stays remote.
      invoke(method, args).catch(noop)
      return Promise.resolve(undefined)
    }
    return invoke(method, args)
  }
  const releaseFn = async (): Promise<void> => {
    if (state.released) return
    state.released = true
    await onRelease()
  }
  const target = callable ? function () {} : {}
  const proxy = new Proxy(target, {
    get (_target, prop) {
      if (prop === release) return releaseFn
      if (typeof prop !== 'string') return undefined
      if (isForbiddenName(prop)) {
        if (prop === 'toString') return () => `[mesh ${state.label}]`
        return undefined
      }
      let method = methods.get(prop)
      if (method === undefined) {
        method = (...args: unknown[]) => call(prop, args)
        methods.set(prop, method)
      }
      return method
    },
    apply (_target, _this, args) {
      return call('', args)
    },
    set () { return false },
    defineProperty () { return false },
    deleteProperty () { return false }
  })
  proxies.set(proxy, state)
  return proxy
}

/** Release a proxy (`await releaseProxy(p)` is `await p[release]()`). */
export async function releaseProxy (proxy: unknown): Promise<void> {
  const fn = (proxy as { [release]?: () => Promise<void> } | null)?.[release]
  if (typeof fn === 'function') await fn()
}
