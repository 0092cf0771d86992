import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { logger } from '@libp2p/logger'
import { DASHBOARD_PUSH_MS, DEFAULT_DASHBOARD_HOST } from '../constants.js'
import { ConfigError, MeshError } from '../errors.js'
import { EVENT_ROUTES } from '../events/protocol.js'
import { JOB_STATES } from '../events/types.js'
import type { JobFilter, MeshView } from '../events/view.js'
import { watchMesh } from '../events/watch.js'
import type { WatchedNode } from '../events/watch.js'
import type { MeshService } from '../node/mesh-service.js'

/** What the dashboard needs of its node: a MeshNode, or an app's mesh service. */
export type DashboardNode = WatchedNode & Pick<MeshService, 'drain' | 'metrics'>
import { FileHistory } from './history.js'
import { APP_CSS, APP_JS, PAGE_HTML } from './page.js'

const log = logger('mesh:dashboard')

/** Jobs one page update carries (newest first, after the filter). */
const PAGE_JOBS = 200
/** An idle server-sent event stream gets a comment this often, ms, so proxies and browsers keep it open. */
const SSE_KEEPALIVE_MS = 15_000
/** Admin calls to a remote node give up after this long, ms. */
const ADMIN_TIMEOUT_MS = 5_000

export interface DashboardOptions {
  /** Address to bind; default 127.0.0.1 (loopback only). */
  host?: string
  /** Port; 0 picks a free one. */
  port: number
  /** Bearer token that enables the actions (cancel a job, drain a node); without it the dashboard is read-only. */
  token?: string
  /** Where recent jobs are kept across restarts; default FileHistory.defaultPath(host, port); false: memory only. */
  historyFile?: string | false
  /** Told about a risky setup (bound beyond loopback without a token). */
  warn?: (message: string) => void
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL, match: RegExpExecArray) => Promise<void> | void

/**
 * The dashboard: an HTTP server on a node showing the whole mesh as the node
 * sees it (src/events/view.ts). A self-contained page (no external resource;
 * a strict Content-Security-Policy; everything from the wire rendered as text),
 * its JSON API, server-sent events for live updates, /metrics in Prometheus
 * text, and two actions that need the bearer token: cancel a job, drain a node.
 */
export class Dashboard {
  private server?: Server
  private view?: MeshView
  private history?: FileHistory
  private readonly streams = new Set<ServerResponse>()
  private readonly token?: Buffer
  private readonly routes: Array<{ method: string, path: RegExp, handle: Handler, admin?: boolean }> = [
    { method: 'GET', path: /^\/$/, handle: (_req, res) => { this.send(res, 200, PAGE_HTML, 'text/html; charset=utf-8') } },
    { method: 'GET', path: /^\/app\.js$/, handle: (_req, res) => { this.send(res, 200, APP_JS, 'text/javascript; charset=utf-8') } },
    { method: 'GET', path: /^\/app\.css$/, handle: (_req, res) => { this.send(res, 200, APP_CSS, 'text/css; charset=utf-8') } },
    { method: 'GET', path: /^\/api\/nodes$/, handle: (_req, res) => { this.json(res, 200, this.view!.nodeViews()) } },
    { method: 'GET', path: /^\/api\/tasks$/, handle: (_req, res) => { this.json(res, 200, this.view!.taskViews()) } },
    { method: 'GET', path: /^\/api\/jobs$/, handle: (_req, res, url) => { this.json(res, 200, this.jobs(url)) } },
    { method: 'GET', path: /^\/api\/stream$/, handle: (req, res, url) => { this.stream(req, res, url) } },
    { method: 'GET', path: /^\/metrics$/, handle: async (_req, res) => { await this.metrics(res) } },
    { method: 'POST', path: /^\/api\/jobs\/([^/]+)\/cancel$/, admin: true, handle: async (_req, res, _url, m) => { await this.cancel(res, decodeURIComponent(m[1])) } },
    { method: 'POST', path: /^\/api\/nodes\/([^/]+)\/drain$/, admin: true, handle: async (_req, res, _url, m) => { await this.drain(res, decodeURIComponent(m[1])) } }
  ]

  constructor (private readonly node: DashboardNode, private readonly options: DashboardOptions) {
    if (options.token !== undefined) {
      if (options.token.length < 8) throw new ConfigError('the dashboard token must be at least 8 characters')
      this.token = digest(options.token)
    }
  }

  /** Start serving; resolves with the URL. */
  async start (): Promise<string> {
    const host = this.options.host ?? DEFAULT_DASHBOARD_HOST
    if (this.options.historyFile !== false) this.history = new FileHistory(this.options.historyFile ?? FileHistory.defaultPath(host, this.options.port))
    this.view = watchMesh(this.node, this.history)
    this.view.on('change', this.onChange)
    const server = createServer((req, res) => { void this.serve(req, res) })
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => { reject(new ConfigError(`cannot serve the dashboard on ${host}:${this.options.port}: ${err.message}`)) })
      server.listen(this.options.port, host, () => { resolve() })
    })
    if (!isLoopback(host) && this.token === undefined) {
      this.options.warn?.(`the dashboard on ${host} is reachable beyond this machine and read-only without --dashboard-token; anyone who reaches it sees the mesh's jobs and arguments`)
    }
    const { port } = server.address() as AddressInfo
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/`
    log('dashboard at %s', url)
    return url
  }

  async stop (): Promise<void> {
    this.view?.off('change', this.onChange)
    this.view?.stop()
    for (const res of this.streams) res.end()
    const server = this.server
    if (server !== undefined) {
      const closed = new Promise<void>((resolve) => { server.close(() => { resolve() }) })
      server.closeAllConnections()
      await closed
    }
    await this.history?.flush()
  }

  private async serve (req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      // DNS rebinding: a loopback dashboard answers only requests addressed to loopback names.
      const host = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '')
      if (isLoopback(this.options.host ?? DEFAULT_DASHBOARD_HOST) && !isLoopback(host) && host !== 'localhost') {
        this.json(res, 421, { error: { code: 'MISDIRECTED', message: 'this dashboard answers to 127.0.0.1 and localhost only' } })
        return
      }
      const url = new URL(req.url ?? '/', 'http://dashboard')
      for (const route of this.routes) {
        const match = route.path.exec(url.pathname)
        if (match === null) continue
        if (req.method !== route.method && !(route.method === 'GET' && req.method === 'HEAD')) continue
        if (route.admin === true && !this.authorized(req)) {
          res.setHeader('WWW-Authenticate', 'Bearer realm="mesh"')
          this.json(res, 401, { error: { code: 'UNAUTHORIZED', message: this.token === undefined ? 'this dashboard is read-only (start the node with --dashboard-token)' : 'a valid bearer token is required' } })
          return
        }
        await route.handle(req, res, url, match)
        return
      }
      this.json(res, 404, { error: { code: 'NOT_FOUND', message: `no ${req.method ?? 'GET'} ${url.pathname} here; see docs/dashboard.md` } })
    } catch (err: any) {
      if (!res.headersSent) this.json(res, 500, { error: { code: err instanceof MeshError ? err.code : 'ERROR', message: String(err?.message ?? err) } })
      else res.end()
    }
  }

  private authorized (req: IncomingMessage): boolean {
    if (this.token === undefined) return false
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')
    return m !== null && timingSafeEqual(digest(m[1]), this.token)
  }

  private filter (url: URL): JobFilter {
    const state = url.searchParams.get('state') ?? undefined
    if (state !== undefined && state !== '' && !JOB_STATES.includes(state as any)) throw new MeshError('BAD_ARGUMENT', `state must be one of ${JOB_STATES.join(', ')}`)
    return { state, task: url.searchParams.get('task') ?? undefined, node: url.searchParams.get('node') ?? undefined }
  }

  private jobs (url: URL): unknown {
    return this.view!.jobViews(this.filter(url)).slice(0, Number(url.searchParams.get('limit') ?? PAGE_JOBS) || PAGE_JOBS)
  }

  private state (filter: JobFilter): unknown {
    const view = this.view!
    return { self: this.node.peerId, actions: this.token !== undefined, metrics: this.node.metrics !== undefined, time: Date.now(), nodes: view.nodeViews(), tasks: view.taskViews(), jobs: view.jobViews(filter).slice(0, PAGE_JOBS) }
  }

  /** Server-sent events: the whole page state now, then again (at most every DASHBOARD_PUSH_MS) whenever it changes. */
  private stream (req: IncomingMessage, res: ServerResponse, url: URL): void {
    const filter = this.filter(url)
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-content-type-options': 'nosniff' })
    let timer: NodeJS.Timeout | undefined
    const push = (): void => { timer = undefined; res.write(`data: ${JSON.stringify(this.state(filter))}\n\n`) }
    const schedule = (): void => { timer ??= setTimeout(push, DASHBOARD_PUSH_MS) }
    const keepalive = setInterval(() => { res.write(': keepalive\n\n') }, SSE_KEEPALIVE_MS)
    this.streams.add(res)
    this.pushers.add(schedule)
    push()
    req.on('close', () => {
      clearTimeout(timer)
      clearInterval(keepalive)
      this.streams.delete(res)
      this.pushers.delete(schedule)
    })
  }

  private readonly pushers = new Set<() => void>()
  private readonly onChange = (): void => { for (const schedule of this.pushers) schedule() }

  private async metrics (res: ServerResponse): Promise<void> {
    const metrics = this.node.metrics
    if (metrics === undefined) {
      this.json(res, 404, { error: { code: 'NOT_FOUND', message: 'this node was started without metrics' } })
      return
    }
    this.send(res, 200, await metrics.text(), metrics.contentType)
  }

  private async cancel (res: ServerResponse, id: string): Promise<void> {
    if (this.node.activity.cancel(id)) {
      this.json(res, 200, { ok: true, id, node: this.node.peerId })
      return
    }
    const peer = this.view!.runningOn(id)
    if (peer === undefined || peer === this.node.peerId) {
      this.json(res, 404, { error: { code: 'NOT_FOUND', message: `no job ${id} is running` } })
      return
    }
    await this.remote(res, peer, EVENT_ROUTES.cancel, [{ id }], { ok: true, id, node: peer })
  }

  private async drain (res: ServerResponse, peer: string): Promise<void> {
    if (peer === this.node.peerId) {
      void this.node.drain()
      this.json(res, 200, { ok: true, node: peer, draining: true })
      return
    }
    if (!this.view!.nodeViews().some(n => n.peerId === peer && n.up)) {
      this.json(res, 404, { error: { code: 'NOT_FOUND', message: `no node ${peer} is up` } })
      return
    }
    await this.remote(res, peer, EVENT_ROUTES.drain, [], { ok: true, node: peer, draining: true })
  }

  /** An admin call to another node: it decides (its --admin list must name this node). */
  private async remote (res: ServerResponse, peer: string, route: string, args: unknown[], ok: unknown): Promise<void> {
    try {
      await this.node.protocolCall(peer, route, args, { timeout: ADMIN_TIMEOUT_MS }).done
      this.json(res, 200, ok)
    } catch (err: any) {
      const code = err instanceof MeshError ? err.code : 'ERROR'
      this.json(res, code === 'FORBIDDEN' ? 403 : 502, { error: { code, message: String(err.message) } })
    }
  }

  private json (res: ServerResponse, status: number, body: unknown): void {
    this.send(res, status, JSON.stringify(body), 'application/json; charset=utf-8')
  }

  private send (res: ServerResponse, status: number, body: string, type: string): void {
    res.writeHead(status, {
      'content-type': type,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      // Nothing from outside, no inline script, no framing: the page is self-contained.
      'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    })
    res.end(body)
  }
}

function digest (token: string): Buffer {
  return createHash('sha256').update(token).digest()
}

function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}
