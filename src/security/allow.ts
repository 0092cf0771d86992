import { readFile } from 'node:fs/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import { ConfigError } from '../errors.js'

/**
 * Parse peer ids given as `--allow a,b` words or the lines of an allow file
 * (`#` starts a comment; commas and whitespace separate ids). Each must be a
 * valid peer id, so a typo is refused at start, not silently never matched.
 */
export function parseAllowList (items: Iterable<string>, source = '--allow'): Set<string> {
  const allowed = new Set<string>()
  for (const item of items) {
    for (const word of item.replace(/#.*$/gm, '').split(/[\s,]+/)) {
      if (word === '') continue
      try {
        allowed.add(peerIdFromString(word).toString())
      } catch {
        throw new ConfigError(`${source}: "${word}" is not a peer id`)
      }
    }
  }
  return allowed
}

/** Read an allow file: one peer id per line (or comma-separated), `#` comments. */
export async function loadAllowFile (file: string): Promise<Set<string>> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err: any) {
    throw new ConfigError(`cannot read the allow file ${file}: ${err.message}`)
  }
  return parseAllowList([text], `allow file ${file}`)
}
