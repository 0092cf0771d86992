import { ConfigError } from '../errors.js'

/**
 * Which methods of an object a peer may call. Only functions are exposed;
 * never `constructor`, `__proto__`, `prototype`, `then` (it would make the
 * proxy look like a promise), anything Object.prototype has (toString,
 * hasOwnProperty, __defineGetter__…), names starting with `_` or `#`
 * (private by convention; true #private fields are not reflected at all),
 * or symbols. Getters are never called to find out.
 */
const OBJECT_PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype))
const NEVER = new Set(['constructor', '__proto__', 'prototype', 'then', ''])

/** A name no allow-list can expose. */
export function isForbiddenName (name: string): boolean {
  return NEVER.has(name) || OBJECT_PROTOTYPE_NAMES.has(name)
}

/** A name exposed by default, if it holds a function. */
function isPublicName (name: string): boolean {
  const c = name.charCodeAt(0)
  return c !== 95 /* _ */ && c !== 35 /* # */ && !isForbiddenName(name)
}

/** The own and inherited methods of `obj` exposed by default (up to, not including, Object.prototype). */
export function exposedMethods (obj: object): Set<string> {
  const names = new Set<string>()
  const seen = new Set<string>()
  for (let o: object | null = obj; o !== null && o !== Object.prototype && o !== Function.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertyNames(o)) {
      // The nearest definition wins: a getter shadowing a base method hides it.
      if (seen.has(key)) continue
      seen.add(key)
      if (!isPublicName(key)) continue
      const d = Object.getOwnPropertyDescriptor(o, key)
      if (d !== undefined && typeof d.value === 'function') names.add(key)
    }
  }
  return names
}

/** Check an explicit allow-list: strings, none of them a name that is never exposed. */
export function checkMethodList (what: string, list: unknown): Set<string> {
  if (!Array.isArray(list) || !list.every(m => typeof m === 'string')) throw new ConfigError(`${what} must be an array of method names`)
  for (const m of list) {
    if (isForbiddenName(m)) throw new ConfigError(`${what}: "${m}" can never be exposed`)
  }
  return new Set(list)
}

/** `class X {}` and not a plain function or arrow. */
export function isClass (fn: unknown): fn is new () => object {
  return typeof fn === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(fn))
}
