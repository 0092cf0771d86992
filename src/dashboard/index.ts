import { ConfigError } from '../errors.js'
import { Dashboard, type DashboardNode } from './server.js'
import { DEFAULT_DASHBOARD_HOST } from '../constants.js'

export { Dashboard, type DashboardOptions } from './server.js'
export { FileHistory } from './history.js'

/** Environment variable with the dashboard's bearer token (keeps it out of `ps`). */
export const DASHBOARD_TOKEN_ENV = 'MESH_DASHBOARD_TOKEN'

/** `7777`, `127.0.0.1:7777`, `[::1]:7777`, `0.0.0.0:7777` → host and port. */
export function parseDashboardAddress (value: string): { host: string, port: number } {
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(value.trim())
  const port = m === null ? NaN : Number(m[2])
  if (m === null || !(port >= 0 && port <= 65535)) throw new ConfigError(`--dashboard takes [host:]port, e.g. 127.0.0.1:7777, got "${value}"`)
  return { host: m[1]?.replace(/^\[|\]$/g, '') ?? DEFAULT_DASHBOARD_HOST, port }
}

/** The dashboard of `mesh node --dashboard`: started on the node, stopped with it. */
export async function startDashboard (node: DashboardNode, options: { address: string, token?: string, history?: string, warn: (message: string) => void }): Promise<{ url: string, dashboard: Dashboard }> {
  const { host, port } = parseDashboardAddress(options.address)
  const dashboard = new Dashboard(node, { host, port, token: options.token ?? process.env[DASHBOARD_TOKEN_ENV], historyFile: options.history, warn: options.warn })
  return { url: await dashboard.start(), dashboard }
}
