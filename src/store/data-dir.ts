import { homedir } from 'node:os'
import { join } from 'node:path'

/**
 * Where a node keeps its job journal when no --data-dir is given: a folder
 * per identity under the user's state dir ($XDG_STATE_HOME, else
 * ~/.local/state), so two nodes of one user never share one. A node whose
 * identity is made afresh at each start (no key file) keeps nothing on disk:
 * nobody could ask it again for a job by its new peer id, and each run
 * would leave a folder behind.
 */
export function defaultDataDir (peerId: string, persistentIdentity: boolean, env: NodeJS.ProcessEnv = process.env): string {
  if (!persistentIdentity) return ':memory:'
  const state = env.XDG_STATE_HOME !== undefined && env.XDG_STATE_HOME !== '' ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state')
  return join(state, 'mesh', peerId)
}
