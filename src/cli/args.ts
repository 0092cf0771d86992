import { BadArgumentError } from '../errors.js'

/**
 * Turn a command-line word into a call argument: integers become numbers (or
 * bigints past 2^53, so huge inputs stay exact), decimals numbers, JSON
 * arrays and objects are parsed, true/false booleans, anything else a
 * string. The provider checks types, so `factorial abc` is refused there
 * with the task's own message.
 */
export function parseArg (word: string): unknown {
  if (/^-?\d+$/.test(word)) {
    const n = Number(word)
    return Number.isSafeInteger(n) ? n : BigInt(word)
  }
  if (/^-?(\d+\.\d*|\.\d+|\d+)(e[-+]?\d+)?$/i.test(word)) return Number(word)
  if (word.startsWith('[') || word.startsWith('{')) {
    try {
      return JSON.parse(word)
    } catch (err: any) {
      throw new BadArgumentError(`argument ${word.slice(0, 40)} looks like JSON but does not parse: ${err.message}`)
    }
  }
  if (word === 'true') return true
  if (word === 'false') return false
  return word
}

/** Parse a positive integer option, with an error that names the option. */
export function positiveInt (name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value)
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new BadArgumentError(`${name} must be a positive integer, got "${value}"`)
    return n
  }
}

/** Parse an integer option ≥ 0, with an error that names the option. */
export function nonNegativeInt (name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value)
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new BadArgumentError(`${name} must be an integer ≥ 0, got "${value}"`)
    return n
  }
}
