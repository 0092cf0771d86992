import { PSK_FILE_ENV } from '../constants.js'

/** The key file from --psk, else from the MESH_PSK_FILE environment variable. */
export function pskFile (option: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (option !== undefined) return option
  const fromEnv = env[PSK_FILE_ENV]
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined
}

/** Peer ids from every --allow word and the --allow-file; undefined when neither was given. */
export async function allowList (allow: string[] | undefined, allowFile: string | undefined): Promise<string[] | undefined> {
  if (allow === undefined && allowFile === undefined) return undefined
  const { parseAllowList, loadAllowFile } = await import('../security/allow.js')
  const ids = [...parseAllowList(allow ?? [])]
  if (allowFile !== undefined) ids.push(...await loadAllowFile(allowFile))
  return ids
}
