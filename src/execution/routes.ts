import { UnknownTaskError } from '../errors.js'
import type { IncomingCall } from '../rpc/channel.js'

/**
 * What a call name names. The one place that decides it:
 * - `internal`: a protocol call of mesh's own services (`@mesh/steal`,
 *   `@mesh/obj/ref`); it starts with `@`, which no task or object name may.
 * - `method`: `<object>.<method>` of an exposed object (`greeter.hello`).
 * - `task`: anything else; task names are letters, digits, _ and - only.
 */
export type RouteKind = 'task' | 'method' | 'internal'

export function routeKind (name: string): RouteKind {
  if (name.charCodeAt(0) === 64 /* @ */) return 'internal'
  return name.indexOf('.') > 0 ? 'method' : 'task'
}

/** `greeter` of `greeter.hello`. */
export function objectOfMethod (name: string): string {
  return name.slice(0, name.indexOf('.'))
}

/** An internal name's namespace, the part before its last `/`: `@mesh/obj` of `@mesh/obj/ref`, `@mesh` of `@mesh/steal`. */
function namespaceOf (name: string): string {
  return name.slice(0, name.lastIndexOf('/'))
}

/** Serves one call that arrived from peer `from` (or from this node itself). */
export type RouteHandler = (call: IncomingCall, from: string) => unknown

/**
 * The provider side's handler table, as kad-dht maps a message type to its
 * handler: the task handler (execution), the method handler (remote objects),
 * and each internal namespace's handler (stealing, objects). A call whose
 * route has no handler here is answered UNKNOWN_TASK.
 */
export class RoutingTable {
  private readonly handlers: Partial<Record<Exclude<RouteKind, 'internal'>, RouteHandler>> = {}
  private readonly internal = new Map<string, RouteHandler>()

  /** Serve every task call, or every object method call, with `handler`. */
  handle (kind: 'task' | 'method', handler: RouteHandler): void {
    this.handlers[kind] = handler
  }

  /** Serve the internal calls of `namespace` (e.g. `@mesh/obj`) with `handler`. */
  handleInternal (namespace: string, handler: RouteHandler): void {
    this.internal.set(namespace, handler)
  }

  unhandleInternal (namespace: string): void {
    this.internal.delete(namespace)
  }

  route (call: IncomingCall, from: string): unknown {
    const kind = routeKind(call.task)
    const handler = kind === 'internal' ? this.internal.get(namespaceOf(call.task)) : this.handlers[kind]
    if (handler === undefined) throw new UnknownTaskError(`this node does not serve "${call.task}"`)
    return handler(call, from)
  }
}
